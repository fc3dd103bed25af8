"""The tracker-stage loss of RGNNVIS (Section 3.5, Eq. 8).

A clip of L frames runs through the tracker exactly as at inference (with the
training initialisation threshold). In every frame detections and tracks get
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

from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.methods.rgnnvis.detector import frame_targets
from vistool.methods.rgnnvis.identity import (batch_detection_identities, init_targets, match_targets,
                                              new_track_identities)
from vistool.models.heads.yolact_loss import downsample_masks
from vistool.models.lovasz import lovasz_softmax
from vistool.structures import ClipBatch, ClipSample

if TYPE_CHECKING:
    from vistool.methods.rgnnvis.model import Model


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


def tracker_loss(model: "Model", batch: ClipBatch) -> dict[str, Tensor]:
    """Weighted terms of Eq. 8 for a batch of clips (B, L frames)."""
    cfg, lcfg = model.config, model.config.loss
    bsz, length = batch.images.shape[:2]
    images = model.transform.prepare_batch(batch.images.flatten(0, 1))
    perc = model.perceive(images, tuple(batch.images.shape[-2:]), dropout=model.training)
    frames = torch.arange(bsz * length, device=images.device).reshape(bsz, length)
    dim = perc.x.shape[-1]
    x = perc.x.reshape(bsz, length, -1, dim)
    scene = perc.scene.reshape(bsz, length, dim)
    tracker = model.tracker
    state = tracker.initial_state(bsz, scene[:, 0])
    weights = frame_weights(length, lcfg.frame_decay).to(images.device)
    num_classes = tracker.num_classes
    total = {"score": images.new_zeros(()), "seg": images.new_zeros(()), "match": images.new_zeros(()),
             "init": images.new_zeros(())}
    for t in range(length):
        dets = perc.dets.take(frames[:, t])
        ident_before, alive_before = state.identity, state.alive
        state, out = tracker.step(state, dets, x[:, t], scene[:, t], perc.input_size, cfg.tracker.train_init_threshold)
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
        state = replace(state, identity=identity)
        labels = track_labels(identity, batch.samples, num_classes)
        ce = F.cross_entropy(out.class_logits[out.alive], labels[out.alive], reduction="sum")
        total["score"] = total["score"] + weights[t] * ce
        seg_target = segmentation_target(identity, batch.samples, t, tuple(out.seg_logits.shape[-2:]),
                                         dets.mask_stride)
        probs = tracker.segmentation_probs(out.seg_logits)
        total["seg"] = total["seg"] + lovasz_softmax(probs, seg_target, per_image=True) * bsz
    norm = float(bsz * length)
    return {"score": lcfg.score * total["score"] / bsz, "seg": lcfg.seg * total["seg"] / norm,
            "match": lcfg.match * total["match"] / norm, "init": lcfg.init * total["init"] / norm}


def best_overlap_targets(fg: Tensor, gt_masks: Tensor, min_iou: float = 0.5) -> tuple[Tensor, Tensor]:
    """The annotated mask each instance overlaps best.

    Args:
        fg: (S, H, W) bool instance masks; gt_masks: (K, H, W) bool annotated masks of one frame.

    Returns:
        (S, H, W) bool targets and (S,) bool: the best mask IoU reaches ``min_iou``.
    """
    if len(gt_masks) == 0 or len(fg) == 0:
        return torch.zeros_like(fg), torch.zeros(len(fg), dtype=torch.bool, device=fg.device)
    a, g = fg.flatten(1).float(), gt_masks.flatten(1).float()
    inter = a @ g.T  # (S, K)
    union = a.sum(1, keepdim=True) + g.sum(1)[None] - inter
    iou, best = (inter / union.clamp(min=1)).max(1)
    return gt_masks[best], iou >= min_iou


def refiner_loss(model: "Model", batch: ClipBatch, jitter: float = 0.1) -> dict[str, Tensor]:
    """Mask refiner loss: each clip runs through the frozen tracker as at inference (frames resized by the
    inference transform, the inference initialisation threshold); every track holding a detection that
    overlaps an annotated mask by IoU >= 0.5 at the frame's resolution is refined against that mask
    (:meth:`~vistool.models.mask_refine.MaskRefiner.loss`). The mean over those tracks."""
    refiner, tracker = model.refiner, model.tracker
    total, count = sum(p.sum() * 0.0 for p in refiner.parameters()), 0
    for sample in batch.samples:
        frames = sample.images.permute(0, 2, 3, 1)  # (L, H, W, 3) uint8
        rgb = model.transform.normalize(sample.images)  # (L, 3, H, W)
        with torch.no_grad():
            images, meta = model.transform.preprocess(frames)
            perc = model.perceive(images, meta.image_size)
            state = tracker.initial_state(1, perc.scene[:1])
        for t in range(len(frames)):
            with torch.no_grad():
                dets = perc.dets.take(torch.tensor([t], device=images.device))
                state, out = tracker.step(state, dets, perc.x[t:t + 1], perc.scene[t:t + 1], perc.input_size,
                                          model.config.tracker.init_threshold)
                slots = (out.det_of_track[0] >= 0).nonzero().flatten()
                logits = model.transform.full_maps_to_original(out.seg_logits[0, slots], meta)  # (S, H, W)
                gt = sample.masks[:, t][sample.present[:, t]]
                targets, matched = best_overlap_targets(logits > 0, gt)
            if matched.any():
                loss, n = refiner.loss(rgb[t], logits[matched], targets[matched], jitter)
                total, count = total + loss, count + n
    return {"refine": total / max(count, 1)}
