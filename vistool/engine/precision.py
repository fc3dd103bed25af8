"""Half-precision inference (``--half``): autocast fp16 on CUDA (and MPS), bf16 on CPU.

Autocast runs the convolutions and matrix products in 16 bits and keeps the
rest (reductions, softmax, losses) in fp32; the tensors a session returns are
cast back to fp32 by :func:`to_float32`, so everything after the model (mask
encoding, scores, tracking summaries) is unchanged.

Example::

    with torch.inference_mode(), autocast(model_device(model), half=True):
        outputs = session.step(clip)
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, ContextManager

import torch

from vistool.errors import InputError

HALF_DTYPES = {"cuda": torch.float16, "mps": torch.float16, "cpu": torch.bfloat16}


def model_device(model: Any) -> torch.device:
    """The device of a model's first parameter (CPU for a model without parameters)."""
    parameters = getattr(model, "parameters", None)
    first = next(iter(parameters()), None) if callable(parameters) else None
    return first.device if first is not None else torch.device("cpu")


def autocast(device: torch.device | str, half: bool) -> ContextManager:
    """Autocast to the device's 16-bit type when ``half``, else a no-op.

    Raises:
        InputError: ``half`` on a device type without a 16-bit autocast here.
    """
    if not half:
        return contextlib.nullcontext()
    kind = torch.device(device).type
    if kind not in HALF_DTYPES:
        raise InputError(f"--half: no half-precision autocast for device type {kind!r}; "
                         f"use one of {', '.join(HALF_DTYPES)} or drop --half")
    return torch.autocast(kind, dtype=HALF_DTYPES[kind])


def to_float32(instances: Any) -> Any:
    """A dataclass of tensors (e.g. ``FrameInstances``) with its 16-bit float tensors cast to fp32."""
    changes = {f.name: getattr(instances, f.name).float() for f in dataclasses.fields(instances)
               if isinstance(getattr(instances, f.name), torch.Tensor)
               and getattr(instances, f.name).dtype in (torch.float16, torch.bfloat16)}
    return dataclasses.replace(instances, **changes) if changes else instances
