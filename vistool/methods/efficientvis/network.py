"""One EfficientVIS iteration: FTSA, temporal dynamic convolution (TDC) and the heads.

Shapes: B clips, N tracklet queries, T frames, C channels, R = roi_size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.models.box_ops import apply_deltas
from vistool.models.heads.roi_mask import MaskHead
from vistool.models.layers import MultiLevelRoIAlign


@dataclass
class StageOutput:
    """Predictions of one iteration.

    Attributes:
        logits: (B, N, T, K + 1) per-frame class logits; index K is background (absent).
        boxes: (B, N, T, 4) refined xyxy boxes (the next iteration's proposals).
        mask_logits: (B, N, T, 2R, 2R) mask logits inside ``mask_boxes``.
        mask_boxes: (B, N, T, 4) the RoIs the masks were predicted in (this iteration's proposals).
        queries: (B, N, T, C) updated tracklet queries.
    """

    logits: Tensor
    boxes: Tensor
    mask_logits: Tensor
    mask_boxes: Tensor
    queries: Tensor


class FactorisedAttention(nn.Module):
    """FTSA (Eqs. 1-2): temporal MSA within each query over its T embeddings, then spatial MSA
    across the N queries of each frame; post-norm residuals as in Sparse R-CNN."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.temporal = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.spatial = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_t, self.norm_s = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, q: Tensor) -> Tensor:
        """(B, N, T, C) -> (B, N, T, C)."""
        b, n, t, c = q.shape
        x = q.reshape(b * n, t, c)
        x = self.norm_t(x + self.drop(self.temporal(x, x, x, need_weights=False)[0]))
        x = x.reshape(b, n, t, c).transpose(1, 2).reshape(b * t, n, c)
        x = self.norm_s(x + self.drop(self.spatial(x, x, x, need_weights=False)[0]))
        return x.reshape(b, t, n, c).transpose(1, 2)


class TemporalDynamicConv(nn.Module):
    """TDC (Eq. 3): filters generated from q_i^t, shared over t' in [t - w, t + w], applied to the
    RoI features of frame t' (pooled with box b_i^t'), fused per pixel by softmax over t' of the
    cosine similarity to the frame-t response.

    The filter is Sparse R-CNN's dynamic instance interaction: two 1x1 layers
    C -> D -> C with LayerNorm + ReLU, their weights predicted from the query.
    """

    def __init__(self, dim: int, dynamic_dim: int, window: int):
        super().__init__()
        self.dim, self.ddim, self.window = dim, dynamic_dim, window
        self.params = nn.Linear(dim, 2 * dim * dynamic_dim)
        self.norm1, self.norm2 = nn.LayerNorm(dynamic_dim), nn.LayerNorm(dim)

    def _filter(self, feats: Tensor, w1: Tensor, w2: Tensor) -> Tensor:
        """(X, RR, C) features, (X, C, D), (X, D, C) filters -> (X, RR, C)."""
        h = F.relu(self.norm1(torch.bmm(feats, w1)))
        return F.relu(self.norm2(torch.bmm(h, w2)))

    def forward(self, q: Tensor, roi: Tensor) -> Tensor:
        """Tracklet features.

        Args:
            q: (B, N, T, C) queries.
            roi: (B, N, T, RR, C) RoI features of each query's box in each frame.

        Returns:
            (B, N, T, RR, C).
        """
        b, n, t, rr, c = roi.shape
        x = b * n * t
        params = self.params(q).reshape(x, 2, c * self.ddim)
        w1 = params[:, 0].reshape(x, c, self.ddim)
        w2 = params[:, 1].reshape(x, self.ddim, c)
        centre = self._filter(roi.reshape(x, rr, c), w1, w2).reshape(b, n, t, rr, c)
        outs, sims = [centre], [torch.ones(b, n, t, rr, device=q.device, dtype=centre.dtype)]
        for d in [d for k in range(1, self.window + 1) for d in (-k, k)]:
            shifted = torch.roll(roi, shifts=-d, dims=2)  # shifted[:, :, t] = roi[:, :, t + d]
            out = self._filter(shifted.reshape(x, rr, c), w1, w2).reshape(b, n, t, rr, c)
            idx = torch.arange(t, device=q.device) + d
            valid = ((idx >= 0) & (idx < t)).view(1, 1, t, 1)
            sim = F.cosine_similarity(out, centre, dim=-1, eps=1e-6)
            outs.append(out)
            sims.append(sim.masked_fill(~valid, float("-inf")))
        weights = torch.softmax(torch.stack(sims, 0), dim=0).unsqueeze(-1)  # (S, B, N, T, RR, 1)
        return (weights * torch.stack(outs, 0)).sum(0)


def _fc_tower(dim: int, layers: int) -> list[nn.Module]:
    """``layers`` x (Linear, LayerNorm, ReLU), as Sparse R-CNN's class and box heads."""
    return [m for _ in range(layers) for m in (nn.Linear(dim, dim), nn.LayerNorm(dim), nn.ReLU(inplace=True))]


class EfficientVisStage(nn.Module):
    """One query-video interaction: FTSA -> TDC -> query update -> class/box/mask heads."""

    def __init__(self, dim: int, num_classes: int, cfg, pooler: MultiLevelRoIAlign):
        super().__init__()
        self.pooler = pooler
        self.attn = FactorisedAttention(dim, cfg.num_heads, cfg.dropout)
        self.tdc = TemporalDynamicConv(dim, cfg.dynamic_dim, cfg.temporal_window)
        self.fc_pool = cfg.fc_pool
        self.obj = nn.Sequential(nn.Linear(dim * cfg.fc_pool ** 2, dim), nn.LayerNorm(dim), nn.ReLU(inplace=True))
        self.norm_obj, self.norm_ffn = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, cfg.ffn_dim), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
                                 nn.Linear(cfg.ffn_dim, dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.cls = nn.Sequential(*_fc_tower(dim, cfg.cls_layers), nn.Linear(dim, num_classes + 1))
        self.reg = nn.Sequential(*_fc_tower(dim, cfg.reg_layers), nn.Linear(dim, 4))
        nn.init.zeros_(self.reg[-1].weight)  # proposals start unchanged
        nn.init.zeros_(self.reg[-1].bias)
        self.mask = MaskHead(dim, cfg.mask_dim, cfg.mask_convs)

    def pool(self, feats: dict[str, Tensor], boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
        """RoI features of every (query, frame) box.

        Args:
            feats: FPN levels, each (B * T, C, h, w) with frames in (b, t) order.
            boxes: (B, N, T, 4) xyxy pixels.
            image_size: padded (H, W) of the network input.

        Returns:
            (B, N, T, C, R, R).
        """
        b, n, t, _ = boxes.shape
        per_image = list(boxes.permute(0, 2, 1, 3).reshape(b * t, n, 4).unbind(0))
        roi = self.pooler(feats, per_image, image_size)  # (B*T*N, C, R, R)
        r = roi.shape[-1]
        return roi.reshape(b, t, n, -1, r, r).transpose(1, 2)

    def forward(self, q: Tensor, boxes: Tensor, feats: dict[str, Tensor], image_size: tuple[int, int]
                ) -> StageOutput:
        """q (B, N, T, C) and proposals (B, N, T, 4) -> this iteration's StageOutput."""
        b, n, t, c = q.shape
        q = self.attn(q)
        roi = self.pool(feats, boxes, image_size)
        r = roi.shape[-1]
        tracklet = self.tdc(q, roi.flatten(4).transpose(-1, -2))  # (B, N, T, RR, C)
        maps = tracklet.transpose(-1, -2).reshape(b * n * t, c, r, r)
        pooled = F.adaptive_avg_pool2d(maps, self.fc_pool).flatten(1)
        q = self.norm_obj(q + self.drop(self.obj(pooled).reshape(b, n, t, c)))
        q = self.norm_ffn(q + self.drop(self.ffn(q)))
        logits = self.cls(q)
        new_boxes = apply_deltas(self.reg(q), boxes)
        mask_logits = self.mask(maps)
        return StageOutput(logits, new_boxes, mask_logits.reshape(b, n, t, *mask_logits.shape[-2:]), boxes, q)
