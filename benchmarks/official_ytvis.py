"""Run the official YouTube-VIS evaluator from a local copy of its code (for speed comparisons).

The official evaluator is ``ytvos.py`` + ``ytvoseval.py`` of the youtubevos
fork of cocoapi (``PythonAPI/pycocotools``, commit f3f9948). vistool does not
ship it: put the two files in a folder of your own, e.g.::

    git clone https://github.com/youtubevos/cocoapi /tmp/ytvis-cocoapi
    python benchmarks/official_ytvis.py --official /tmp/ytvis-cocoapi/PythonAPI/pycocotools GT.json RESULTS.json

The code is loaded as it is, with only its Python 3 / NumPy >= 1.24 faults
mended from the outside (``unicode``, ``np.float``, a float count passed to
``np.linspace``), and with stand-ins for matplotlib when it is not installed
(only its drawing helpers use it). Its ``mask`` module is the installed
pycocotools'. Prints the official log, then one line ``STATS <12 numbers>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask

PACKAGE = "ytvis_official"


class _MendedNumpy(types.ModuleType):
    """numpy as the 2019 code expects it: ``np.float`` and ``linspace`` with a float count."""

    float = float

    def __getattr__(self, name: str):
        return getattr(np, name)

    @staticmethod
    def linspace(start, stop, num=50, **kwargs):
        """``np.linspace`` that accepts an integral float ``num``."""
        return np.linspace(start, stop, int(num), **kwargs)


def _stub_matplotlib() -> None:
    """Empty stand-ins for the matplotlib names ``ytvos.py`` imports (drawing only)."""
    try:
        import matplotlib.pyplot  # noqa: F401
        return
    except ImportError:
        pass
    for name, attrs in (("matplotlib", {}), ("matplotlib.pyplot", {}),
                        ("matplotlib.collections", {"PatchCollection": object}),
                        ("matplotlib.patches", {"Polygon": object})):
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module


def load_official(folder: str | Path) -> tuple[types.ModuleType, types.ModuleType]:
    """The official ``ytvos`` and ``ytvoseval`` modules loaded from ``folder``.

    Raises:
        FileNotFoundError: ``folder`` lacks ytvos.py or ytvoseval.py.
    """
    folder = Path(folder)
    for name in ("ytvos.py", "ytvoseval.py"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: not found (the official evaluator's code)")
    _stub_matplotlib()
    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(folder)]
    package.mask = coco_mask
    sys.modules[PACKAGE] = package
    sys.modules[f"{PACKAGE}.mask"] = coco_mask
    modules = []
    for name in ("ytvos", "ytvoseval"):
        spec = importlib.util.spec_from_file_location(f"{PACKAGE}.{name}", folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        module.unicode = str
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        module.np = _MendedNumpy("numpy")
        modules.append(module)
    return modules[0], modules[1]


def official_stats(folder: str | Path, gt_path: str, results_path: str) -> list[float]:
    """The 12 stats of the official evaluator on two files (its own log goes to stdout)."""
    ytvos, ytvoseval = load_official(folder)
    gt = ytvos.YTVOS(gt_path)
    dt = gt.loadRes(results_path)
    evaluator = ytvoseval.YTVOSeval(gt, dt, "segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return [float(v) for v in evaluator.stats]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="folder holding the official ytvos.py and ytvoseval.py")
    parser.add_argument("gt")
    parser.add_argument("results")
    args = parser.parse_args()
    stats = official_stats(args.official, args.gt, args.results)
    print("STATS " + " ".join(repr(v) for v in stats))


if __name__ == "__main__":
    main()
