"""Checkpoints: schema, save, the one strict loader, and the manifest of bundled weights.

Building a model from a checkpoint's method and config is
:mod:`vistool.methods.build`; nothing here imports a method or a model part.

A checkpoint is a ``torch.save`` file of plain data::

    {"format": "vistool-checkpoint", "format_version": 2,
     "method": str, "config": {...},           # the method's Config as YAML-able data
     "categories": [str, ...], "vistool_version": str,
     "training": {...},                         # summary: data, command, steps, losses, metrics
     "state_dict": {name: Tensor},              # fp32, or fp16 when saved with half=True
     "train_state": {...}}                      # optional: optimizer, scheduler, step, RNG (resume)

:func:`load_state_file` is the only ``torch.load`` in vistool; it always uses
``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vistool import __version__
from vistool.config import to_dict
from vistool.errors import CheckpointError, FormatError, MethodError
from vistool.io.atomic import atomic_path

log = logging.getLogger(__name__)

FORMAT = "vistool-checkpoint"
FORMAT_VERSION = 2
# version 2: every method holds the shared backbone + FPN (models.backbone.BackboneWithFPN) as ``backbone``;
# a version-1 RGNNVIS++ checkpoint held its backbone bare and its FPN in the detector: renamed on reading
RENAMED_IN_2: dict[str, tuple[tuple[str, str], ...]] = {
    "rgnnvis": (("backbone.body.", "backbone.backbone.body."), ("detector.fpn.", "backbone.fpn.")),
}
MANIFEST_NAME = "manifest.json"


def weights_dir() -> Path:
    """Folder of bundled weights.

    ``$VISTOOL_WEIGHTS_DIR`` if set; else ``weights/`` beside the package (a
    source checkout or editable install); else ``<prefix>/share/vistool/weights``
    where a regular ``pip install`` puts them (see setup.py).
    """
    env = os.environ.get("VISTOOL_WEIGHTS_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "weights"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "vistool" / "weights"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_file(path: str | os.PathLike) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling/zip errors of many kinds
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{path}: not a readable weights file ({type(exc).__name__}: {reason})") from None


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, training: dict | None = None, half: bool = False,
                    train_state: dict | None = None) -> str:
    """Write ``model`` (a VisModel) and its metadata atomically; return the file's sha256.

    Args:
        training: summary stored under ``"training"`` (data, command, steps, metrics).
        half: store floating tensors as fp16 (bundling); they load back into fp32 models.
        train_state: optimizer/scheduler/step/RNG state for ``--resume``.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "method": getattr(model, "method", ""), "config": to_dict(model.config),
        "categories": list(getattr(model, "categories", [])), "vistool_version": __version__,
        "training": dict(training or {}), "state_dict": state,
    }
    if train_state is not None:
        payload["train_state"] = train_state
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return sha256_file(path)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate a checkpoint file (see the module docstring for its keys)."""
    return check_checkpoint(load_state_file(path), path)


def check_checkpoint(data: Any, path: str | os.PathLike) -> dict[str, Any]:
    """``data`` (a loaded file) if it is a vistool checkpoint this version reads; a one-line error otherwise."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a vistool checkpoint (no 'format: {FORMAT}'); "
                              "train one with 'vistool train' or pass a file it wrote")
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {data['format_version']} is newer than this vistool "
                              f"({FORMAT_VERSION}); upgrade vistool")
    for key in ("method", "config", "categories", "state_dict"):
        if key not in data:
            raise CheckpointError(f"{path}: checkpoint lacks '{key}'")
    return upgrade(data)


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint of an older format version with its tensor names as this version has them."""
    if data.get("format_version", 1) >= 2:
        return data
    renames = RENAMED_IN_2.get(data["method"], ())

    def rename(key: str) -> str:
        return next((new + key[len(old):] for old, new in renames if key.startswith(old)), key)

    return {**data, "format_version": 2, "state_dict": {rename(k): v for k, v in data["state_dict"].items()}}


BACKBONE_BODY = "backbone.body."  # a method's Backbone module holds the torchvision network as ``body``


def backbone_state_of(data: Any, path: str | os.PathLike) -> dict[str, Tensor]:
    """The torchvision backbone state dict in a loaded weights file.

    Args:
        data: what :func:`load_state_file` returned: a torchvision state dict, a
            ``{"state_dict": ...}`` wrapper, or a vistool checkpoint of any method.
        path: the file, for error messages.

    Returns:
        The state dict itself, or a checkpoint's backbone tensors with their
        ``...backbone.body.`` prefix removed.
    """
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a state dict")
    if data.get("format") != FORMAT:
        return data.get("state_dict", data)
    state = check_checkpoint(data, path)["state_dict"]
    prefixes = {key[: key.index(BACKBONE_BODY) + len(BACKBONE_BODY)] for key in state if BACKBONE_BODY in key}
    if len(prefixes) != 1:
        found = "none" if not prefixes else ", ".join(sorted(prefixes))
        raise CheckpointError(f"{path}: cannot tell which tensors of this checkpoint are its backbone "
                              f"(backbone prefixes found: {found})")
    prefix = prefixes.pop()
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


def load_state(model: nn.Module, state_dict: dict[str, Tensor], where: str = "checkpoint") -> None:
    """Strictly load ``state_dict`` into ``model`` (fp16 tensors are cast to the model's dtypes).

    Raises:
        CheckpointError: one line listing missing and unexpected keys or mismatched shapes.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = [f"{name} ({len(keys)}): {', '.join(keys[:8])}{', ...' if len(keys) > 8 else ''}"
                 for name, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                    ("shape mismatches", shapes)) if keys]
        raise CheckpointError(f"{where}: does not fit the model: {'; '.join(parts)}")
    model.load_state_dict(state_dict, strict=True)


def load_matching_state(model: nn.Module, state_dict: dict[str, Tensor], where: str = "checkpoint") -> list[str]:
    """Load the entries of ``state_dict`` whose name and shape fit ``model``; return the model keys left as they were.

    For initialising a model whose config differs from the checkpoint's (e.g. an
    ablation that removes a block): every fitting tensor is copied, the rest keep
    their fresh initialisation.

    Raises:
        CheckpointError: not a single tensor fits.
    """
    own = model.state_dict()
    fitting = {k: v.to(own[k].dtype) for k, v in state_dict.items()
               if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if not fitting:
        raise CheckpointError(f"{where}: no parameter fits the model (different method or config?)")
    model.load_state_dict(fitting, strict=False)
    return [k for k in own if k not in fitting]


def read_manifest() -> list[dict[str, Any]]:
    """Entries of ``weights/manifest.json``: file, method, sha256, config, data, command, metrics.

    A missing manifest means no bundled weights (an empty list).
    """
    path = weights_dir() / MANIFEST_NAME
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(str(path), f"line {exc.lineno}", "invalid JSON") from None
    entries = data.get("weights") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise FormatError(str(path), "$.weights", "expected a list of weight entries")
    for i, entry in enumerate(entries):
        for key in ("file", "method", "sha256"):
            if not isinstance(entry, dict) or key not in entry:
                raise FormatError(str(path), f"$.weights[{i}]", f"missing '{key}'")
    return entries


def default_weights(method: str) -> Path:
    """Path of ``method``'s bundled default checkpoint (sha256 verified).

    Raises:
        MethodError: the method has no bundled weights yet.
        CheckpointError: the bundled file is missing or its sha256 differs from the manifest.
    """
    entries = [e for e in read_manifest() if e["method"] == method]
    if not entries:
        raise MethodError(f"method '{method}' has no bundled weights yet; train one with 'vistool train "
                          f"--method {method} ...' and pass --weights PATH")
    entry = next((e for e in entries if e.get("default")), entries[0])
    path = weights_dir() / entry["file"]
    if not path.is_file():
        raise CheckpointError(f"{path}: bundled weights listed in the manifest are missing; reinstall vistool")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise CheckpointError(f"{path}: sha256 {digest[:12]}... differs from the manifest's "
                              f"{entry['sha256'][:12]}...; the file is corrupt or was replaced")
    return path
