"""The tracker-stage loss of RGNNVIS (Section 3.5, Eq. 8).

A clip of L frames runs through the tracker exactly as at inference (with the
training initialisation threshold; :meth:`Model.run_clip`), and this module
takes that run's outputs. In every frame detections and tracks get
identities (:mod:`~vistool.methods.rgnnvis.identity`) and

- ``L_match``: BCE of every (track in memory, detection) pair, target 1 when
  both hold the same annotated identity;
- ``L_init``: BCE of every detection, target 1 when it claims an annotated
  object that no track in memory holds yet;
- ``L_score``: cross-entropy of every track's class + background scores
  against its identity's category (background when it has none), frame ``l``
  weighted by ``0.8 ** (L - l)`` normalised to sum 1;
- ``L_seg``: Lovász-softmax over {background, tracks} per pixel, against the
  annotated masks mapped to the tracks holding their identities.

Each term is summed over tracks / detections / pairs and divided by the
batch size and clip length only (never by the number of tracks or detections).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.methods.rgnnvis.config import LossConfig
from vistool.methods.rgnnvis.identity import (BACKGROUND, batch_detection_identities, init_targets, match_targets,
                                              new_track_identities)
from vistool.methods.rgnnvis.outputs import ClipRun
from vistool.methods.rgnnvis.tracker import RecurrentTracker
from vistool.models.lovasz import lovasz_softmax
from vistool.models.targets import downsample_masks, frame_targets
from vistool.structures import ClipBatch, ClipSample


def frame_weights(length: int, decay: float) -> Tensor:
    """(L,) weights ``decay ** (L - l)`` for l = 1..L, normalised to sum 1 (later frames weigh more)."""
    w = decay ** torch.arange(length - 1, -1, -1, dtype=torch.float32)
    return w / w.sum()


def track_labels(identity: Tensor, samples: list[ClipSample], background: int) -> Tensor:
    """(B, M) category of each track's identity, ``background`` when it has none."""
    out = torch.full_like(identity, background)
    for b, s in enumerate(samples):
        held = identity[b] >= 0
        out[b, held] = s.labels.to(identity.device)[identity[b, held]]
    return out


def segmentation_target(identity: Tensor, samples: list[ClipSample], t: int, size: tuple[int, int], stride: int
                        ) -> Tensor:
    """(B, Hm, Wm) int64 per-pixel target: 0 background, slot + 1 of the track holding the object there."""
    b = identity.shape[0]
    target = torch.zeros((b,) + tuple(size), dtype=torch.int64, device=identity.device)
    for i, s in enumerate(samples):
        slots = (identity[i] >= 0).nonzero().flatten().tolist()
        if not slots:
            continue
        present = s.present[:, t]
        small = downsample_masks(s.masks[:, t], size, stride) > 0.5  # (K, Hm, Wm)
        for slot in slots:
            k = int(identity[i, slot])
            if bool(present[k]):
                target[i][small[k]] = slot + 1
    return target


def tracker_loss(run: ClipRun, batch: ClipBatch, lcfg: LossConfig, num_classes: int) -> dict[str, Tensor]:
    """Weighted terms of Eq. 8 for a batch of clips (B, L frames) from the model's run over them.

    Args:
        run: per frame the detections and the tracker's output (:meth:`Model.run_clip`).
        batch: the clips and their annotations.
        lcfg: loss weights and the detection IoU of identity assignment.
        num_classes: C; the background class of the score head is C.
    """
    bsz, length = batch.images.shape[:2]
    like = run.outs[0].match_logits
    weights = frame_weights(length, lcfg.frame_decay).to(like.device)
    total = {"score": like.new_zeros(()), "seg": like.new_zeros(()), "match": like.new_zeros(()),
             "init": like.new_zeros(())}
    identity = None
    for t, (dets, out) in enumerate(zip(run.dets, run.outs)):
        alive_before = out.alive_before
        ident_before = (torch.full_like(alive_before, BACKGROUND, dtype=torch.int64) if identity is None
                        else identity)
        gts = [frame_targets(s, t) for s in batch.samples]
        det_id = batch_detection_identities(dets.boxes, dets.valid, [g.boxes for g in gts],
                                            [g.present for g in gts], lcfg.detection_iou)
        m_t = match_targets(ident_before, det_id)
        total["match"] = total["match"] + (F.binary_cross_entropy_with_logits(
            out.match_logits, m_t, reduction="none") * out.pair_valid).sum()
        i_t = init_targets(det_id, ident_before, alive_before)
        total["init"] = total["init"] + (F.binary_cross_entropy_with_logits(
            out.init_logits, i_t, reduction="none") * out.det_valid).sum()
        identity = new_track_identities(ident_before, alive_before, out.slot_of, det_id)
        labels = track_labels(identity, batch.samples, num_classes)
        ce = F.cross_entropy(out.class_logits[out.alive], labels[out.alive], reduction="sum")
        total["score"] = total["score"] + weights[t] * ce
        seg_target = segmentation_target(identity, batch.samples, t, tuple(out.seg_logits.shape[-2:]),
                                         dets.mask_stride)
        probs = RecurrentTracker.segmentation_probs(out.seg_logits)
        total["seg"] = total["seg"] + lovasz_softmax(probs, seg_target, per_image=True) * bsz
    norm = float(bsz * length)
    return {"score": lcfg.score * total["score"] / bsz, "seg": lcfg.seg * total["seg"] / norm,
            "match": lcfg.match * total["match"] / norm, "init": lcfg.init * total["init"] / norm}
