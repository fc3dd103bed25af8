"""The learned track manager of RGNNVIS: one frame of graph construction, GNN, association,
initialisation, recurrent update, appearance update, scoring and mask reweighting.

The same :meth:`RecurrentTracker.step` runs in training (over clips, with the
low initialisation threshold) and at inference (frame by frame), as the paper
trains "exactly as it runs at test time".

Choices where the paper is silent:
- The detection embedding is ``[x1/W, y1/H, x2/W, y2/H, class confidences (C),
  1 - max confidence]`` with (W, H) the padded input size.
- A new track's embedding is the GNN output of its detection passed through
  the LSTM gates with a zero cell; its appearance model starts at the
  detection's ``x`` with ``Sigma = sigma^2 I``.
- Inactive tracks go through the GNN and the LSTM like active ones (they can
  be resumed) but keep their box and appearance model.
- Tracks are scored (class + background softmax) and segmented with their
  embedding after the LSTM; a track is segmented only in frames where it has a
  detection (matched or initialising), elsewhere its reweighted score is -1e4.
- ``kappa``, ``nu`` and ``sigma~^2`` are predicted from the post-LSTM embedding;
  the empty track has its own predictor.
- The match logistic model starts with bias -2 (probability ~0.12), since
  most (track, detection) pairs do not match; the other heads start at zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.errors import ConfigError
from vistool.methods.rgnnvis.appearance import AppearanceUpdate, gaussian_log_likelihood, gaussian_update
from vistool.methods.rgnnvis.graph import TrackDetectionGNN, TrackLSTM
from vistool.methods.rgnnvis.track_manager import TrackState
from vistool.models.detections import Detections
from vistool.tracking.costs import batched_box_iou
from vistool.tracking.slots import allocate, associate, gather_rows, keep_best_claimant, scatter_new, where_slots

NO_PIXELS = -1e4


@dataclass(frozen=True)
class TrackerConfig:
    """Track-manager settings (paper values by default).

    Attributes:
        embed_dim: track/detection/edge embedding size after the first GNN block.
        num_blocks: gated GNN blocks (>= 1; Table 3's "1 GNN block" ablation is 1, the
            "no GNN" variant is a different network and is not offered); residual_blocks:
            interleave Eq. 2 blocks.
        layernorm: LayerNorm in the GNN blocks (RGNNVIS++).
        positional: sine positional encodings in the appearance network (RGNNVIS++).
        appearance_dim: channels of each 1x1-conv branch of the appearance network.
        max_tracks: memory slots.
        match_threshold: least match probability (association, inactivity).
        init_threshold, train_init_threshold: least initialisation probability
            at inference and in training.
        reweight_dim: track projection channels in mask reweighting.
        exclusive_detections: not in the paper (default off). A detection that several tracks
            match stays with the most probable one, and a detection that a track matched starts
            no new track; in training and at inference alike.
    """

    embed_dim: int = 128
    num_blocks: int = 2
    residual_blocks: bool = True
    layernorm: bool = True
    positional: bool = True
    appearance_dim: int = 256
    max_tracks: int = 24
    match_threshold: float = 0.31
    init_threshold: float = 0.31
    train_init_threshold: float = 0.13
    reweight_dim: int = 16
    exclusive_detections: bool = False

    def __post_init__(self) -> None:
        if self.num_blocks < 1:
            raise ConfigError(f"tracker.num_blocks: must be >= 1, got {self.num_blocks}")


@dataclass
class FrameOutput:
    """What the tracker predicted in one frame (B videos, M slots, N detections).

    Attributes:
        match_logits: (B, M, N); pair_valid: (B, M, N) tracks alive before this
            frame's initialisations x valid detections.
        init_logits: (B, N); det_valid: (B, N).
        slot_of: (B, N) slot initialised by each detection, or -1.
        alive_before, alive: (B, M) slots alive before / after initialisation.
        det_of_track: (B, M) detection each track took this frame, or -1.
        class_logits: (B, M, C + 1), background last.
        seg_logits: (B, M, Hm, Wm) reweighted mask scores (-1e4 without a detection).
    """

    match_logits: Tensor
    pair_valid: Tensor
    init_logits: Tensor
    det_valid: Tensor
    slot_of: Tensor
    alive_before: Tensor
    alive: Tensor
    det_of_track: Tensor
    class_logits: Tensor
    seg_logits: Tensor


class MaskReweighting(nn.Module):
    """Table 8: tracks -> Linear(D, 16) + ReLU, broadcast, concatenated with the
    detection's mask logits and box mask (18 channels) -> Conv(18, 16, 3) + ReLU + Conv(16, 1, 3)."""

    def __init__(self, embed_dim: int, dim: int = 16):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(embed_dim, dim), nn.ReLU(inplace=True))
        self.convs = nn.Sequential(nn.Conv2d(dim + 2, dim, 3, padding=1), nn.ReLU(inplace=True),
                                   nn.Conv2d(dim, 1, 3, padding=1))

    def forward(self, embed: Tensor, mask_logits: Tensor, box_mask: Tensor, has: Tensor) -> Tensor:
        """(B, M, D), (B, M, Hm, Wm) x2, (B, M) bool -> (B, M, Hm, Wm); -1e4 where ``has`` is False."""
        b, m = has.shape
        full = mask_logits.new_full((b, m) + tuple(mask_logits.shape[-2:]), NO_PIXELS)
        idx = has.nonzero(as_tuple=True)
        if len(idx[0]) == 0:
            return full
        proj = self.proj(embed[idx])[:, :, None, None].expand(-1, -1, *mask_logits.shape[-2:])
        inp = torch.cat([proj, mask_logits[idx][:, None], box_mask[idx][:, None]], dim=1)
        return full.index_put(idx, self.convs(inp)[:, 0])


def label_map(seg_logits: Tensor) -> Tensor:
    """Per-pixel argmax over tracks: (B, M, H, W) -> (B, H, W) int64, 0 background, slot + 1 otherwise.

    A pixel is background when no track scores above zero.
    """
    if seg_logits.shape[1] == 0:
        return torch.zeros(seg_logits.shape[:1] + seg_logits.shape[2:], dtype=torch.int64, device=seg_logits.device)
    best, arg = seg_logits.max(dim=1)
    return torch.where(best > 0, arg + 1, torch.zeros_like(arg))


def detection_embedding(dets: Detections, input_size: tuple[int, int]) -> Tensor:
    """(B, N, 4 + C + 1) = [normalised box, class confidences, 1 - max confidence], zero on padding."""
    h, w = input_size
    box = dets.boxes / dets.boxes.new_tensor([w, h, w, h])
    probs = dets.class_probs
    if probs.shape[-1]:
        background = 1.0 - probs.max(dim=-1, keepdim=True).values
    else:
        background = probs.new_ones(probs.shape[:2] + (1,))
    emb = torch.cat([box, probs, background], dim=-1)
    return emb * dets.valid[..., None].to(emb.dtype)


class RecurrentTracker(nn.Module):
    """All learned parts of the track manager except the appearance network.

    Args:
        cfg: tracker settings.
        num_classes: C object categories.
        appearance_dim: size of the appearance vectors x.
    """

    def __init__(self, cfg: TrackerConfig, num_classes: int, appearance_dim: int):
        super().__init__()
        d = cfg.embed_dim
        self.cfg, self.num_classes, self.appearance_dim = cfg, num_classes, appearance_dim
        self.gnn = TrackDetectionGNN(4 + num_classes + 1, 2, d, cfg.num_blocks, cfg.residual_blocks, cfg.layernorm)
        self.lstm = TrackLSTM(d)
        self.empty_init = nn.Parameter(torch.zeros(d))
        self.match_head = nn.Linear(d, 1)
        nn.init.constant_(self.match_head.bias, -2.0)  # prior ~0.12: most (track, detection) pairs do not match
        self.init_head = nn.Linear(d, 1)
        self.score_head = nn.Linear(d, num_classes + 1)
        self.app_update = AppearanceUpdate(d)
        self.empty_app_update = AppearanceUpdate(d)
        self.reweight = MaskReweighting(d, cfg.reweight_dim)

    def initial_state(self, batch: int, scene: Tensor) -> TrackState:
        """Empty memory whose scene model starts at the first frame's scene appearance (B, A)."""
        state = TrackState.create(batch, self.cfg.max_tracks, self.empty_init, self.appearance_dim)
        return replace(state, empty_mean=scene[:, None], empty_var=self.empty_app_update.initial_var(scene[:, None]))

    @staticmethod
    def initial_edges(state: TrackState, dets: Detections, x: Tensor) -> tuple[Tensor, Tensor]:
        """The graph's initial edges and which of them exist.

        Returns:
            edges (B, 1+M, N, 2): ``[box IoU with the track's last box, appearance log-likelihood]`` (row 0,
            the empty track: ``[0, log-likelihood under the scene model]``), zero where masked;
            mask (B, 1+M, N) bool: the empty track or an alive track x a valid detection.
        """
        iou = batched_box_iou(state.box, dets.boxes)
        ll = gaussian_log_likelihood(x, state.mean, state.var)
        ll0 = gaussian_log_likelihood(x, state.empty_mean, state.empty_var)
        edges = torch.cat([torch.stack([torch.zeros_like(ll0), ll0], -1), torch.stack([iou, ll], -1)], dim=1)
        alive = torch.cat([torch.ones_like(state.alive[:, :1]), state.alive], dim=1)
        mask = alive[:, :, None] & dets.valid[:, None, :]
        # a padding detection's zero box against an empty slot's zero box has IoU 0 / 0 = NaN: masked pairs
        # enter as zeros, since the GNN zeroes them only after its first layer (and 0 * NaN is NaN)
        return edges.masked_fill(~mask[..., None], 0.0), mask

    def _graph(self, state: TrackState, dets: Detections, x: Tensor, input_size: tuple[int, int]):
        """Initial graph and GNN outputs: edges (B, 1+M, N, D), tracks (B, 1+M, D), dets (B, N, D), mask."""
        edges, mask = self.initial_edges(state, dets, x)
        tracks = torch.cat([state.empty_embed, state.embed], dim=1)
        return self.gnn(edges, tracks, detection_embedding(dets, input_size), mask), mask

    def step(self, state: TrackState, dets: Detections, x: Tensor, scene: Tensor, input_size: tuple[int, int],
             init_threshold: float) -> tuple[TrackState, FrameOutput]:
        """Process one frame.

        Args:
            state: memory after the previous frame.
            dets: this frame's detections (B, N, ...).
            x: (B, N, A) detection appearance; scene: (B, A) scene appearance.
            input_size: padded (H, W) of the network input.
            init_threshold: least initialisation probability for a new track.
        """
        (edges, tracks, det_emb), mask = self._graph(state, dets, x, input_size)
        match_logits = self.match_head(edges[:, 1:]).squeeze(-1)
        init_logits = self.init_head(edges[:, 0]).squeeze(-1)
        pair_valid = mask[:, 1:]
        match_prob = torch.sigmoid(match_logits.detach())
        best, matched = associate(match_prob, pair_valid, self.cfg.match_threshold)
        matched = matched & state.alive
        det_valid = dets.valid
        if self.cfg.exclusive_detections:
            best, matched = keep_best_claimant(match_prob, best, matched)
            det_valid = det_valid & (scatter_new(best, det_valid.shape[1]) < 0)  # no track holds it
        embed, cell = self.lstm(tracks[:, 1:], state.cell)
        embed, cell = where_slots(state.alive, embed, state.embed), where_slots(state.alive, cell, state.cell)
        empty_embed, empty_cell = self.lstm(tracks[:, :1], state.empty_cell)
        slot_of = allocate(torch.sigmoid(init_logits.detach()), det_valid, state.alive, init_threshold)
        det_of_slot = scatter_new(slot_of, state.slots)
        is_new = det_of_slot >= 0
        new_embed, new_cell = self.lstm(gather_rows(det_emb, det_of_slot), torch.zeros_like(cell))
        embed, cell = where_slots(is_new, new_embed, embed), where_slots(is_new, new_cell, cell)
        det_of_track = torch.where(is_new, det_of_slot, best)
        has_det = is_new | matched
        mean, var = self._update_appearance(state, embed, x, best, matched, det_of_slot, is_new)
        rates0 = self.empty_app_update(empty_embed)
        empty_mean, empty_var = gaussian_update(state.empty_mean, state.empty_var, scene[:, None], rates0.kappa,
                                                rates0.nu, rates0.sample_var)
        seg = self.reweight(embed, gather_rows(dets.mask_logits, det_of_track),
                            gather_rows(dets.box_masks(), det_of_track), has_det)
        alive = state.alive | is_new
        new_state = replace(state, alive=alive, active=has_det, embed=embed, cell=cell, mean=mean, var=var,
                            box=where_slots(has_det, gather_rows(dets.boxes, det_of_track), state.box),
                            empty_embed=empty_embed, empty_cell=empty_cell, empty_mean=empty_mean,
                            empty_var=empty_var)
        out = FrameOutput(match_logits, pair_valid, init_logits, dets.valid, slot_of, state.alive, alive,
                          torch.where(has_det, det_of_track, torch.full_like(det_of_track, -1)),
                          self.score_head(embed), seg)
        return new_state, out

    def _update_appearance(self, state: TrackState, embed: Tensor, x: Tensor, best: Tensor, matched: Tensor,
                           det_of_slot: Tensor, is_new: Tensor) -> tuple[Tensor, Tensor]:
        """Eq. 4 for matched tracks, initialisation for new ones, unchanged otherwise."""
        rates = self.app_update(embed)
        mean_u, var_u = gaussian_update(state.mean, state.var, gather_rows(x, best), rates.kappa, rates.nu,
                                        rates.sample_var)
        mean, var = where_slots(matched, mean_u, state.mean), where_slots(matched, var_u, state.var)
        x_new = gather_rows(x, det_of_slot)
        return where_slots(is_new, x_new, mean), where_slots(is_new, self.app_update.initial_var(x_new), var)

    @staticmethod
    def segmentation_probs(seg_logits: Tensor) -> Tensor:
        """(B, M, H, W) reweighted scores -> (B, 1 + M, H, W) softmax with a zero background logit."""
        zeros = seg_logits.new_zeros(seg_logits.shape[:1] + (1,) + seg_logits.shape[2:])
        return F.softmax(torch.cat([zeros, seg_logits], dim=1), dim=1)
