"""Start-up helpers for the commands that build a model: torchvision without torch._dynamo, a frozen heap.

``import torchvision`` imports ``torchvision.ops.roi_align``, which imports
``torch._dynamo.utils`` for one function, ``is_compile_supported``, called only
when torchvision's compiled ops are missing (or for deterministic GPU runs).
Importing torch._dynamo takes 1.5 s or more on a CPU machine.
:func:`import_torchvision` imports torchvision with a stand-in for that module
whose function imports the real one on its first call, then removes the
stand-in, so torch._dynamo is imported when (and only when) something uses it.

:func:`frozen_heap`: building a model creates many objects while the heap holds
the millions that importing torch made; the cyclic garbage collector scans them
all again and again. The block runs with the collector off, and what exists at
its end (modules, the model) is moved to the permanent generation, which later
collections skip.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import sys
import types
from typing import Iterator

_DYNAMO_UTILS = "torch._dynamo.utils"


def _is_compile_supported(device_type: str) -> bool:
    """torch._dynamo.utils.is_compile_supported, imported on first use."""
    real = importlib.import_module(_DYNAMO_UTILS).is_compile_supported
    return real(device_type)


def import_torchvision() -> types.ModuleType:
    """``import torchvision`` without importing torch._dynamo (see the module docstring)."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    import torch  # noqa: F401 - torchvision's parent imports first, as usual

    if "torch._dynamo" in sys.modules:
        return importlib.import_module("torchvision")
    stand_in = types.ModuleType(_DYNAMO_UTILS)
    stand_in.is_compile_supported = _is_compile_supported
    sys.modules[_DYNAMO_UTILS] = stand_in
    try:
        return importlib.import_module("torchvision")
    finally:
        if sys.modules.get(_DYNAMO_UTILS) is stand_in:
            del sys.modules[_DYNAMO_UTILS]


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Run the block with the cyclic GC off; then freeze every object alive (see the module docstring)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
