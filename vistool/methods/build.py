"""Building a model from a method name and config, and a ready model from a checkpoint.

The checkpoint schema and the strict loader are :mod:`vistool.weights`; this
module turns a checkpoint's method and config into a model through
``METHODS`` and returns the model's provenance beside it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from vistool.config import apply_overrides, from_dict, parse_overrides, to_dict
from vistool.errors import CheckpointError, MethodError
from vistool.methods import get_spec, load_module
from vistool.methods.base import VisModel
from vistool.models.backbone import BackboneConfig
from vistool.weights import default_weights, load_state, read_checkpoint, sha256_file


@dataclass(frozen=True)
class Provenance:
    """Where a loaded model's weights and config came from (for the ``.meta.json`` of results).

    Attributes:
        path: the checkpoint file; sha256: its hex digest;
        config: the config the model was built with (settings applied);
        settings: the ``KEY=VALUE`` changes given.
    """

    path: str | None
    sha256: str | None
    config: dict[str, Any] | None
    settings: list[str] = field(default_factory=list)


def set_backbone_weights(cfg: Any, value: str) -> Any:
    """A copy of a config dataclass whose nested BackboneConfigs have ``weights: value``.

    With ``"none"``, building a model that a checkpoint will overwrite never downloads.
    """
    if isinstance(cfg, BackboneConfig):
        return dataclasses.replace(cfg, weights=value)
    if not dataclasses.is_dataclass(cfg):
        return cfg
    changes = {f.name: set_backbone_weights(getattr(cfg, f.name), value) for f in dataclasses.fields(cfg)
               if dataclasses.is_dataclass(getattr(cfg, f.name))}
    return dataclasses.replace(cfg, **changes)


def build_model(method: str, config: dict | Any, categories: list[str], pretrained: bool = True,
                backbone_weights: str | None = None) -> VisModel:
    """Construct method ``method``'s Model from a Config (or its dict form) and category names.

    Args:
        pretrained: False skips backbone initialisation (a checkpoint follows).
        backbone_weights: ``imagenet``, ``none`` or a PATH overriding the config's backbone weights.
    """
    module = load_module(method)
    cfg = config if dataclasses.is_dataclass(config) else from_dict(module.Config, dict(config),
                                                                     where=f"{method} config")
    if backbone_weights is not None:
        cfg = set_backbone_weights(cfg, backbone_weights)
    if not pretrained:
        cfg = set_backbone_weights(cfg, "none")
    return module.Model(cfg, list(categories))


def full_config(data: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored config completed with the current defaults (every key ``--set`` can change)."""
    return to_dict(build_model(data["method"], data["config"], data["categories"], pretrained=False).config)


def config_with_settings(data: dict[str, Any], settings: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """A checkpoint's config with ``KEY=VALUE`` settings applied (the dotted keys of the method's Config).

    The stored config is completed with the current defaults first, so a setting added to
    vistool after the checkpoint was written can still be set. No settings: the stored config.
    """
    if not settings:
        return data["config"]
    return apply_overrides(full_config(data), parse_overrides(settings, example="tracker.match_threshold=0.3"))


def load_checkpoint_model(path: str | os.PathLike, method: str | None = None, device: str | torch.device = "cpu",
                          settings: list[str] | tuple[str, ...] = ()) -> tuple[VisModel, dict[str, Any]]:
    """Model rebuilt from a checkpoint file, in eval mode on ``device``, with the checkpoint data.

    ``settings`` (``KEY=VALUE``) change the stored config first, e.g. ``tracker.match_threshold=0.3``;
    one that changes the network's shape fails the strict load with the keys it affects.
    """
    data = read_checkpoint(path)
    if method is not None and data["method"] != method:
        raise CheckpointError(f"{path}: checkpoint is for method '{data['method']}', not '{method}'")
    config = config_with_settings(data, settings)
    model = build_model(data["method"], config, data["categories"], pretrained=False)
    where = f"{path} with --set {' '.join(settings)}" if settings else str(path)
    load_state(model, data["state_dict"], where=where)
    return model.to(device).eval(), {**data, "config": config}


def load_model(method: str | None, weights: str | None, device: str | torch.device = "cpu",
               settings: list[str] | tuple[str, ...] = ()) -> tuple[VisModel, Provenance]:
    """A ready VisModel in eval mode and its provenance.

    Args:
        method: method name; may be None when ``weights`` names a checkpoint (its method is used).
        weights: a checkpoint path, or None for the method's bundled default.
        device: torch device.
        settings: ``KEY=VALUE`` changes of the checkpoint's config (see :func:`load_checkpoint_model`).
    """
    if method is not None:
        get_spec(method)  # an unknown or not-yet-available method fails here, in one line
    if weights is None:
        if method is None:
            raise MethodError("give --method or --weights: neither names a model")
        weights = str(default_weights(method))
    model, data = load_checkpoint_model(weights, method, device, settings)
    return model, Provenance(str(weights), sha256_file(weights), data["config"], list(settings))
