"""The VIS methods, each implementing :mod:`vistool.methods.base`.

``METHODS`` is the one list of runnable methods: the CLI, the builder
(:mod:`vistool.methods.build`), ``vistool models`` and the contract test read
it; any other name is a one-line error listing them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from vistool.errors import MethodError

DEFAULT_METHOD = "rgnnvis"  # the bundled weights with the highest measured AP (weights/README.md)


@dataclass(frozen=True)
class MethodSpec:
    """A method's name, where its code lives and what it is.

    Attributes:
        name: CLI name (``--method``).
        module: import path of the package defining ``Config`` and ``Model``.
        title: one-line description.
        paper: the paper file in shared/papers it implements.
        online: True when it processes one frame at a time.
    """

    name: str
    module: str
    title: str
    paper: str
    online: bool


def _spec(name: str, title: str, paper: str, online: bool) -> MethodSpec:
    return MethodSpec(name, f"vistool.methods.{name}", title, paper, online)


METHODS: dict[str, MethodSpec] = {
    "efficientvis": _spec("efficientvis", "Clip-level tracklet queries and proposals, query hand-off across clips",
                          "efficientvis_003_8522a8d027d17108.txt", online=False),
    "rgnnvis": _spec("rgnnvis", "RGNNVIS++: one-stage detector + recurrent GNN track manager",
                     "rgnnvis_004_ee1358a0c4518c46.txt", online=True),
    "visstg": _spec("visstg", "VisSTG: spatial-temporal graph, CenterNet + CondInst heads, tracking by edges",
                    "visstg_000_ef795df0cff82195.txt", online=True),
    "tltm": _spec("tltm", "TLTM: ResFuser features, CenterMask detector, object-level GNN association",
                  "tltm_002_ee04389aef060719.txt", online=True),
    "instflow": _spec("instflow", "Instance flow assembly: bottom-up panoptic heads, inter-frame offsets",
                      "instflow_001_ead5de58e320e281.txt", online=True),
}

def get_spec(name: str) -> MethodSpec:
    """The spec of method ``name``.

    Raises:
        MethodError: one line naming the available methods.
    """
    if name in METHODS:
        return METHODS[name]
    available = ", ".join(METHODS)
    raise MethodError(f"unknown method '{name}'; available methods: {available}")


def load_module(name: str) -> ModuleType:
    """Import the package of method ``name`` (see :func:`get_spec` for the errors)."""
    return importlib.import_module(get_spec(name).module)
