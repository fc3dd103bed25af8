"""The five VIS methods, each implementing :mod:`vistool.methods.base`.

``METHODS`` is the one list of methods: the CLI, the checkpoint loader and
``vistool models`` read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from vistool.errors import MethodError


@dataclass(frozen=True)
class MethodSpec:
    """A method's name, where its code lives and what it is.

    Attributes:
        name: CLI name (``--method``).
        module: import path of the module defining ``Config`` and ``Model``.
        title: one-line description.
        paper: the paper file in shared/papers it implements.
        online: True when it processes one frame at a time.
    """

    name: str
    module: str
    title: str
    paper: str
    online: bool


METHODS: dict[str, MethodSpec] = {
    "efficientvis": MethodSpec(
        "efficientvis", "vistool.methods.efficientvis",
        "Clip-level tracklet queries and proposals, query hand-off across clips",
        "efficientvis_003_8522a8d027d17108.txt", online=False),
    "rgnnvis": MethodSpec(
        "rgnnvis", "vistool.methods.rgnnvis",
        "RGNNVIS++: one-stage detector + recurrent GNN track manager",
        "rgnnvis_004_ee1358a0c4518c46.txt", online=True),
    "visstg": MethodSpec(
        "visstg", "vistool.methods.visstg",
        "Spatial-temporal graph neural network",
        "visstg_000_ef795df0cff82195.txt", online=True),
    "tltm": MethodSpec(
        "tltm", "vistool.methods.tltm",
        "Two-level temporal relation model",
        "tltm_002_ee04389aef060719.txt", online=True),
    "instflow": MethodSpec(
        "instflow", "vistool.methods.instflow",
        "Instance flow assembly",
        "instflow_001_ead5de58e320e281.txt", online=True),
}


def get_spec(name: str) -> MethodSpec:
    """The spec of method ``name``; a one-line error lists the known names."""
    if name not in METHODS:
        raise MethodError(f"unknown method '{name}'; choose one of: {', '.join(METHODS)}")
    return METHODS[name]


def load_module(name: str) -> ModuleType:
    """Import the module of method ``name``.

    Raises:
        MethodError: when the method is not implemented in this version.
    """
    spec = get_spec(name)
    try:
        return importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name == spec.module:
            raise MethodError(f"method '{name}' is not available in this version of vistool yet") from None
        raise
