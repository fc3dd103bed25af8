"""Backbones from torchvision returning named feature maps, and an FPN on top.

Feature names follow the detection convention: ``c2``..``c5`` are backbone
stages of stride 4, 8, 16, 32; ``p2``..``p7`` are FPN levels of stride
``2**k``. Every module here exposes ``channels`` and ``strides`` dicts keyed
by those names, so heads can be built without running the network.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
import torchvision
from torch import Tensor, nn
from torchvision.models.feature_extraction import create_feature_extractor
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d

from vistool.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

# backbone name -> {feature name: torchvision module whose output it is}
STAGE_NODES: dict[str, dict[str, str]] = {
    **{f"resnet{d}": {"c2": "layer1", "c3": "layer2", "c4": "layer3", "c5": "layer4"} for d in (18, 34, 50, 101)},
    "mobilenet_v3_small": {"c2": "features.1", "c3": "features.3", "c4": "features.8", "c5": "features.12"},
    "mobilenet_v3_large": {"c2": "features.3", "c3": "features.6", "c4": "features.12", "c5": "features.16"},
    "regnet_x_400mf": {f"c{i + 1}": f"trunk_output.block{i}" for i in range(1, 5)},
}
BACKBONES: tuple[str, ...] = tuple(STAGE_NODES)
NORMS = ("frozen_bn", "bn", "gn")


@dataclass(frozen=True)
class BackboneConfig:
    """Backbone + FPN settings, embedded in each method's Config.

    Attributes:
        name: one of :data:`BACKBONES`.
        norm: ``frozen_bn`` (ImageNet statistics, fixed), ``bn`` (trainable
            BatchNorm) or ``gn`` (GroupNorm; for training from scratch with
            small batches).
        weights: ``imagenet``, ``none`` or a path to a torchvision state dict or a vistool checkpoint;
            used only when a model is built for training (a checkpoint
            overrides it).
        in_features: backbone stages fed to the FPN, e.g. ``[c3, c4, c5]``.
        fpn_channels: channels of every FPN level.
        extra_levels: ``none``, ``maxpool`` (P6 by max-pooling) or ``p6p7``
            (P6, P7 by stride-2 convs on P5, as RetinaNet/FCOS).
        freeze_at: stages frozen from the stem: 0 none, 1 the stem, k the
            stem and stages c2..c(k).
        dilate_last: the last stage keeps stride 16 with dilated convolutions (DeepLab's output
            stride 16; torchvision's ``dilated`` / ``replace_stride_with_dilation``); tensors are the same.
    """

    name: str = "resnet50"
    norm: str = "frozen_bn"
    weights: str = "none"
    in_features: tuple[str, ...] = ("c2", "c3", "c4", "c5")
    fpn_channels: int = 256
    extra_levels: str = "none"
    freeze_at: int = 0
    dilate_last: bool = False


def _group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with the largest of 32/16/8/4/2/1 groups dividing ``channels``."""
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def _norm_layer(norm: str, name: str) -> Callable[..., nn.Module]:
    if norm == "frozen_bn":
        return FrozenBatchNorm2d if name.startswith("resnet") or name.startswith("regnet") else partial(
            FrozenBatchNorm2d, eps=0.001)
    if norm == "bn":
        return nn.BatchNorm2d if not name.startswith("mobilenet") else partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
    if norm == "gn":
        return _group_norm
    raise ConfigError(f"backbone.norm: unknown norm '{norm}'; choose one of: {', '.join(NORMS)}")


def _torchvision_model(name: str, norm: str, dilate_last: bool = False) -> nn.Module:
    if name not in STAGE_NODES:
        raise ConfigError(f"backbone.name: unknown backbone '{name}'; choose one of: {', '.join(BACKBONES)}")
    extra: dict = {}
    if dilate_last and name.startswith("mobilenet"):
        extra = {"dilated": True}
    elif dilate_last and name in ("resnet50", "resnet101"):
        extra = {"replace_stride_with_dilation": [False, False, True]}
    elif dilate_last:
        raise ConfigError(f"backbone.dilate_last: not available for '{name}' (mobilenet, resnet50 and resnet101 backbones)")
    return torchvision.models.get_model(name, weights=None, norm_layer=_norm_layer(norm, name), **extra)


def load_pretrained(model: nn.Module, name: str, weights: str) -> None:
    """Load ``imagenet`` or a local state-dict file into a torchvision ``model``.

    A PATH always works offline: a torchvision state dict (``vistool pretrain``
    writes one) or a vistool checkpoint, whose backbone is taken. ``imagenet``
    downloads through torchvision's weights API (cached in ``$TORCH_HOME``).

    Raises:
        CheckpointError: download impossible (one line naming the remedy) or
            the file does not fit the backbone (missing/unexpected keys).
    """
    if weights in ("none", "", None):
        return
    if weights == "imagenet":
        enum = torchvision.models.get_model_weights(name)
        try:
            state = enum.DEFAULT.get_state_dict(progress=False)
        except Exception as exc:  # noqa: BLE001 - any download/IO failure becomes one line
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CheckpointError(
                f"--backbone-weights imagenet: cannot download {enum.DEFAULT} ({reason}); this machine may have "
                "no network: pass a local state-dict file (--backbone-weights PATH) or 'none'") from None
        where = f"ImageNet weights {enum.DEFAULT}"
    else:
        from vistool.weights import backbone_state_of, load_state_file

        state = backbone_state_of(load_state_file(weights), weights)
        where = str(weights)
    missing, unexpected = model.load_state_dict(state, strict=False)
    head = ("fc.", "classifier.")  # classification heads are not part of the backbone
    missing = [k for k in missing if not k.startswith(head)]
    unexpected = [k for k in unexpected if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: does not fit backbone '{name}': missing keys {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{'...' if len(unexpected) > 5 else ''}")
    log.info("loaded backbone weights from %s", where)


class Backbone(nn.Module):
    """A torchvision classification network cut into named stages.

    Attributes:
        channels: feature name -> channels, e.g. ``{"c3": 512, ...}``.
        strides: feature name -> stride in pixels.
    """

    def __init__(self, name: str, out_features: tuple[str, ...] = ("c3", "c4", "c5"), norm: str = "frozen_bn",
                 weights: str = "none", freeze_at: int = 0, dilate_last: bool = False):
        super().__init__()
        nodes = STAGE_NODES.get(name)
        model = _torchvision_model(name, norm, dilate_last)
        bad = [f for f in out_features if f not in nodes]
        if bad:
            raise ConfigError(f"backbone.in_features: {bad} not among {list(nodes)}")
        load_pretrained(model, name, weights)
        self.name = name
        self.body = create_feature_extractor(model, return_nodes={nodes[f]: f for f in out_features})
        self.out_features = tuple(out_features)
        self.channels, self.strides = self._probe()
        self._freeze(nodes, freeze_at)

    @torch.no_grad()
    def _probe(self) -> tuple[dict[str, int], dict[str, int]]:
        """Channels and strides measured with one small dummy forward pass."""
        was_training, threads = self.body.training, torch.get_num_threads()
        self.body.eval()
        torch.set_num_threads(1)  # a 64x64 input gains nothing from threads, which wait on a busy machine
        try:
            feats = self.body(torch.zeros(1, 3, 64, 64))
        finally:
            torch.set_num_threads(threads)
        self.body.train(was_training)
        return ({k: int(v.shape[1]) for k, v in feats.items()},
                {k: 64 // int(v.shape[-1]) for k, v in feats.items()})

    def _freeze(self, nodes: dict[str, str], freeze_at: int) -> None:
        """Stop gradients in the stem (freeze_at >= 1) and in stages c2..c(freeze_at).

        Parameters are listed in forward order for these networks, so the
        frozen part is every parameter before the first one of stage c2
        (freeze_at = 1) or up to the last one of stage c(freeze_at).
        """
        if freeze_at <= 0:
            return
        params = list(self.body.named_parameters())
        in_stage = lambda n, k: n.startswith(nodes[f"c{k}"] + ".")  # noqa: E731
        if freeze_at == 1:
            cut = next(i for i, (n, _) in enumerate(params) if in_stage(n, 2))
        else:
            last = [i for i, (n, _) in enumerate(params) if in_stage(n, min(freeze_at, 5))]
            cut = last[-1] + 1 if last else len(params)
        for _, param in params[:cut]:
            param.requires_grad_(False)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        """Features of normalised images.

        Args:
            images: (B, 3, H, W) float, normalised.

        Returns:
            feature name -> (B, C_k, H / s_k, W / s_k).
        """
        return dict(self.body(images))


class FPN(nn.Module):
    """torchvision's FeaturePyramidNetwork with named, strided outputs.

    Inputs ``c_k`` become ``p_k``; ``extra_levels`` adds ``p6`` (maxpool) or
    ``p6``/``p7`` (convs on P5).
    """

    def __init__(self, in_channels: dict[str, int], in_strides: dict[str, int], out_channels: int,
                 extra_levels: str = "none"):
        super().__init__()
        if extra_levels not in ("none", "maxpool", "p6p7"):
            raise ConfigError(f"backbone.extra_levels: unknown '{extra_levels}'; choose none, maxpool or p6p7")
        names = list(in_channels)
        extra = {"none": None, "maxpool": LastLevelMaxPool(),
                 "p6p7": LastLevelP6P7(out_channels, out_channels)}[extra_levels]
        self.fpn = FeaturePyramidNetwork([in_channels[n] for n in names], out_channels, extra_blocks=extra)
        self.in_names = names
        self.out_names = [f"p{n[1:]}" for n in names]
        last = int(names[-1][1:])
        extra_n = {"none": 0, "maxpool": 1, "p6p7": 2}[extra_levels]
        self.out_names += [f"p{last + i}" for i in range(1, extra_n + 1)]
        base = in_strides[names[0]] // 2 ** int(names[0][1:])
        self.strides = {n: base * 2 ** int(n[1:]) for n in self.out_names}
        self.channels = {n: out_channels for n in self.out_names}

    def forward(self, feats: dict[str, Tensor]) -> dict[str, Tensor]:
        """(B, C_k, H_k, W_k) per input name -> (B, out_channels, H_k, W_k) per ``p`` name."""
        out = self.fpn(OrderedDict((n, feats[n]) for n in self.in_names))
        return dict(zip(self.out_names, out.values()))


class BackboneWithFPN(nn.Module):
    """Backbone stages -> FPN levels: the one backbone + FPN of every method.

    Parameters are named ``backbone.body.*`` (the torchvision network) and
    ``fpn.fpn.*``, so a method holding it as ``self.backbone`` has the same
    names as every other method.

    Attributes:
        channels, strides: FPN level name -> channels / stride (the ``p`` outputs).
        stage_channels, stage_strides: backbone stage name -> channels / stride.
        out_channels: channels of every FPN level.
    """

    def __init__(self, cfg: BackboneConfig, weights: str | None = None, extra_features: tuple[str, ...] = ()):
        super().__init__()
        stages = tuple(cfg.in_features) + tuple(f for f in extra_features if f not in cfg.in_features)
        self.backbone = Backbone(cfg.name, stages, cfg.norm, cfg.weights if weights is None else weights,
                                 cfg.freeze_at, cfg.dilate_last)
        names = tuple(cfg.in_features)
        self.fpn = FPN({n: self.backbone.channels[n] for n in names}, {n: self.backbone.strides[n] for n in names},
                       cfg.fpn_channels, cfg.extra_levels)
        self.extra_features = tuple(extra_features)
        self.channels = self.fpn.channels
        self.strides = self.fpn.strides
        self.stage_channels = self.backbone.channels
        self.stage_strides = self.backbone.strides
        self.out_channels = cfg.fpn_channels

    def stages(self, images: Tensor) -> dict[str, Tensor]:
        """(B, 3, H, W) normalised images -> ``c`` name -> (B, C_k, H / s_k, W / s_k)."""
        return self.backbone(images)

    def pyramid(self, stages: dict[str, Tensor]) -> dict[str, Tensor]:
        """Backbone stages -> FPN levels, plus the ``extra_features`` stages passed through."""
        return {**self.fpn(stages), **{n: stages[n] for n in self.extra_features}}

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        """(B, 3, H, W) normalised images -> ``p`` name -> (B, C, H / s, W / s) and the extra stages."""
        return self.pyramid(self.stages(images))


def build_backbone(cfg: BackboneConfig, weights: str | None = None, extra_features: tuple[str, ...] = ()
                   ) -> BackboneWithFPN:
    """Backbone + FPN from config; ``weights`` (imagenet|PATH|none) overrides ``cfg.weights``.

    Args:
        extra_features: backbone stages the method reads besides the FPN levels (e.g. ``c4``, ``c5``).
    """
    return BackboneWithFPN(cfg, weights, extra_features)
