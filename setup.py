"""Installation of vistool: `pip install -e .[test]`."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
WEIGHTS = sorted(str(p.relative_to(HERE)) for p in (HERE / "weights").glob("*") if p.is_file())
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "vistool" / "__init__.py").read_text()).group(1)

setup(
    name="vistool",
    version=VERSION,
    description="Video instance segmentation: detect, segment and track every object instance in videos.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["vistool", "vistool.*"]),
    include_package_data=True,
    package_data={"vistool": ["py.typed"]},
    data_files=[("share/vistool/weights", WEIGHTS)] if WEIGHTS else [],
    install_requires=[
        "torch==2.14.1",
        "torchvision==0.29.1",
        "numpy>=1.24",
        "scipy>=1.10",
        "click>=8.1",
        "rich>=13",
        "opencv-python-headless>=4.8",
        "imageio-ffmpeg>=0.5",
        "pycocotools>=2.0.7",
        "orjson>=3.9",
        "pyyaml>=6",
    ],
    extras_require={
        # HOTA through TrackEval (vistool evaluate --metrics hota); its wheel also pulls opencv-python
        "metrics": ["trackeval==1.3.0"],
        "test": ["pytest>=7", "hypothesis>=6", "trackeval==1.3.0"],
    },
    entry_points={"console_scripts": ["vistool=vistool.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
