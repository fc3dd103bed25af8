"""A regular (non-editable) install must carry every module of ``vistool/`` and the bundled weights.

An editable install imports from the source tree, so a package folder without
``__init__.py`` goes unnoticed there while ``pip install .`` leaves it out. This
test builds the wheel a regular install would install and compares its files
with the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _source_modules() -> set[str]:
    """Every file of the package in the source tree (``vistool/...``), caches left out."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "vistool").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")}


def _can_build_here() -> bool:
    """Whether this environment builds wheels itself (setuptools with bdist_wheel: >= 70.1, or the wheel
    package); a fresh venv of Python 3.11 has neither, and pip then fetches them (build isolation)."""
    import importlib.util

    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    """Names of the files in a wheel built from a copy of the checkout (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "vistool", src / "vistool", ignore=ignore)
    shutil.copytree(ROOT / "weights", src / "weights", ignore=ignore)
    offline = ["--no-build-isolation", "--no-index"] if _can_build_here() else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "-q", "-w", str(work / "dist"),
                    str(src)], check=True, capture_output=True, timeout=600)
    (wheel,) = (work / "dist").glob("vistool-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_package_folder_is_a_package():
    missing = [d.relative_to(ROOT).as_posix() for d in [ROOT / "vistool", *(ROOT / "vistool").rglob("*")]
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").is_file()]
    assert missing == [], f"package folders without __init__.py (a regular install leaves them out): {missing}"


def test_wheel_holds_every_module_of_the_source_tree(wheel_files):
    missing = sorted(_source_modules() - wheel_files)
    assert missing == [], f"files of vistool/ missing from the wheel: {missing}"


def test_wheel_installs_the_bundled_weights_where_the_package_looks(wheel_files):
    shared = {name.split("/data/", 1)[1] for name in wheel_files if ".data/data/" in name}
    expected = {f"share/vistool/weights/{p.name}" for p in (ROOT / "weights").iterdir() if p.is_file()}
    assert expected and expected <= shared, f"bundled weights missing from the wheel: {sorted(expected - shared)}"
