"""Schema checks for YouTube-VIS / OVIS JSON files.

Every check raises :class:`vistool.errors.FormatError` naming the file and the
JSON path of the first problem found, e.g. ``$.annotations[3].segmentations[7]``.
File names (``$.videos[i].file_names``, the video of a per-video result file)
follow one rule, :func:`file_name_problem`: relative paths of plain components,
so that a JSON file never chooses where vistool reads or writes.
:mod:`vistool.io.ytvis` builds its dataclasses with these helpers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, NoReturn

from vistool.errors import FormatError, InputError
from vistool.io import rle as rle_io

try:  # a fast parser; the standard library gives the same objects and the error messages
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is an install requirement
    _orjson = None

# Characters of a COCO compressed RLE string ('0' .. 'o').
_COMPRESSED_COUNTS = re.compile(r"[0-o]*")

OCCLUSION_LABELS = ("no_occlusion", "slight_occlusion", "severe_occlusion")

FILE_NAME_HINT = "file names must be relative '<video>/<frame>.jpg' paths inside the dataset's image folder"


def file_name_problem(name: str) -> str | None:
    """Why ``name`` is not a relative path of plain components, or None when it is one.

    The one rule for every file name that a JSON file gives (``file_names`` of
    dataset and per-video result files, video names): no absolute path, no
    drive letter (``C:``), no ``..`` or ``.`` component, no empty component
    (``a//b``, a trailing ``/``), no backslash (``..\\x`` is a parent folder on
    Windows) and no NUL byte. Only cheap string tests: it runs once per frame
    name of files with hundreds of thousands of frames.
    """
    if not name:
        return "is empty"
    if "\0" in name:
        return "contains a NUL byte"
    if "\\" in name:
        return "contains a backslash (separate folders with '/')"
    if name[0] == "/":
        return "is an absolute path"
    if name[1:2] == ":" and name[0].isalpha():
        return "starts with a drive letter"
    wrapped = f"/{name}/"
    if "/../" in wrapped:
        return "has a '..' component"
    if "//" in wrapped:
        return "has an empty component"
    if "/./" in wrapped:
        return "has a '.' component"
    return None


def quoted_name(name: str, limit: int = 80) -> str:
    """``name`` quoted for a one-line message (control characters escaped, long names cut)."""
    return repr(name[:limit]) + ("..." if len(name) > limit else "")


def read_json(path: str | Path, what: str, fast: bool = True) -> Any:
    """Parse a JSON file; a missing, empty, truncated or non-UTF-8 file is a one-line error.

    Args:
        path: the file.
        what: what the file should be, for messages (e.g. "ground-truth dataset").
        fast: parse with orjson when installed. Anything it rejects (invalid JSON,
            ``NaN``, numbers beyond 64 bits, lone surrogates) is parsed by the
            standard library instead, which decides and words any error. orjson
            reads an integer beyond 64 bits as a float: a checker made with
            ``fast_json=True`` raises :class:`InexactInteger` for it, and the
            caller parses again with ``fast=False``.
    """
    path = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (expected the {what} JSON)") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected the {what} JSON file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if fast and _orjson is not None:
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:  # also NaN, huge integers, lone surrogates: the standard parser decides
            pass
    return _parse_json_text(raw, path, what)


def _parse_json_text(raw: bytes, path: str, what: str) -> Any:
    """The standard library's parse of ``raw``, with one-line errors (see :func:`read_json`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(path, "$", "not UTF-8 text; expected a JSON file") from None
    if not text.strip():
        raise FormatError(path, "$", f"file is empty, expected the {what} JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if _looks_truncated(text) else ""
        raise FormatError(path, "$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}") from None


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _looks_truncated(text: str) -> bool:
    """True when brackets or a string are left open at the end of ``text``."""
    bare = _JSON_STRING.sub("", text)
    return '"' in bare or bare.count("{") + bare.count("[") > bare.count("}") + bare.count("]")


class InexactInteger(Exception):
    """An integer field holds a float of 2**63 or more: the fast parser may have rounded it (parse again)."""


class CountsDeferred(Exception):
    """A deferred RLE counts check failed: validate again strictly to find and word the first error."""


class Checker:
    """Typed accessors that raise :class:`FormatError` for one file.

    Args:
        source: the file, for messages.
        defer_counts: check the characters of the compressed RLE strings of
            :meth:`segmentations` once for the whole file (:meth:`verify_deferred`)
            instead of once per mask. A file that fails any check should then be
            checked again without deferring, so the first problem in file order
            is the one reported.
        fast_json: the data came from orjson; see :class:`InexactInteger`.
    """

    def __init__(self, source: str, defer_counts: bool = False, fast_json: bool = False):
        self.source = source
        self.fast_json = fast_json
        self._deferred: list[str] | None = [] if defer_counts else None

    def fail(self, where: str, problem: str) -> NoReturn:
        """Raise the error for ``where``."""
        raise FormatError(self.source, where, problem)

    def obj(self, value: Any, where: str) -> dict:
        """``value`` as a JSON object."""
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, got {_kind(value)}")
        return value

    def array(self, value: Any, where: str) -> list:
        """``value`` as a JSON array."""
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {_kind(value)}")
        return value

    def key(self, obj: dict, key: str, where: str) -> Any:
        """``obj[key]``; a missing key is an error at ``where``."""
        if key not in obj:
            self.fail(where, f"missing key '{key}'")
        return obj[key]

    def integer(self, value: Any, where: str, minimum: int | None = None) -> int:
        """``value`` as an int (bools and non-integral floats are errors)."""
        if isinstance(value, float) and value.is_integer():
            if self.fast_json and abs(value) >= 2 ** 63:
                raise InexactInteger(where)
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected an integer, got {_kind(value)}")
        if minimum is not None and value < minimum:
            self.fail(where, f"must be >= {minimum}, got {value}")
        return value

    def number(self, value: Any, where: str) -> float:
        """``value`` as a finite float."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            self.fail(where, f"expected a finite number, got {value}")
        return float(value)

    def text(self, value: Any, where: str) -> str:
        """``value`` as a string."""
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {_kind(value)}")
        return value

    def file_name(self, value: Any, where: str) -> str:
        """``value`` as a safe relative file name (see :func:`file_name_problem`)."""
        if type(value) is not str:
            self.text(value, where)
        problem = file_name_problem(value)
        if problem is not None:
            self.fail(where, f"unsafe file name {quoted_name(value)}: {problem}; {FILE_NAME_HINT}")
        return value

    def per_frame(self, obj: dict, key: str, where: str, length: int) -> list:
        """``obj[key]`` as a list with one entry per frame of the video."""
        values = self.array(self.key(obj, key, where), f"{where}.{key}")
        if len(values) != length:
            self.fail(f"{where}.{key}", f"has {len(values)} entries, the video has {length} frames")
        return values

    def segmentations(self, values: list, where: str, height: int, width: int, polygons: bool) -> list[dict | None]:
        """Every frame of a per-frame list through :meth:`segmentation` (``where`` names the list).

        Compressed RLEs of the right size (``{"size", "counts"}`` only) take a
        fast path; with ``defer_counts`` their strings are checked later, for
        the whole file at once.
        """
        size = [height, width]
        deferred = self._deferred
        if deferred is not None and _all_compressed(values, size):
            deferred.extend([value["counts"] for value in values if value is not None])
            return values  # the parsed dicts as they are: exactly {"size", "counts"}
        out: list[dict | None] = []
        for f, value in enumerate(values):
            if value is None:
                out.append(None)
                continue
            if deferred is not None and type(value) is dict and len(value) == 2:
                counts = value.get("counts")
                if type(counts) is str and value.get("size") == size:
                    deferred.append(counts)
                    out.append({"size": [height, width], "counts": counts})
                    continue
            out.append(self.segmentation(value, f"{where}[{f}]", height, width, polygons))
        return out

    def verify_deferred(self) -> None:
        """Check every deferred RLE string at once.

        Raises:
            CountsDeferred: some string is not a COCO compressed RLE string.
        """
        if self._deferred and not _COMPRESSED_COUNTS.fullmatch("".join(self._deferred)):
            raise CountsDeferred(self.source)
        self._deferred = [] if self._deferred is not None else None

    def segmentation(self, value: Any, where: str, height: int, width: int, polygons: bool) -> dict | None:
        """One frame's mask as compressed RLE (str counts), or None where absent.

        Accepts compressed RLE, uncompressed RLE (list counts) and, when
        ``polygons`` is true, polygon lists. Falsy entries (``null``, ``[]``)
        are absent frames, as the official evaluator treats them.
        """
        if value is None or (polygons and isinstance(value, list) and not value):
            return None
        if type(value) is dict:  # fast path: compressed RLE of the right size
            counts = value.get("counts")
            if type(counts) is str and value.get("size") == [height, width] and _COMPRESSED_COUNTS.fullmatch(counts):
                return {"size": [height, width], "counts": counts}
        if isinstance(value, list):
            if not polygons:
                self.fail(where, "expected compressed RLE or null, got a polygon list")
            return self._polygons(value, where, height, width)
        obj = self.obj(value, where)
        size = self.array(self.key(obj, "size", where), f"{where}.size")
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
            self.fail(f"{where}.size", f"expected [height, width], got {size}")
        if [size[0], size[1]] != [height, width]:
            self.fail(f"{where}.size", f"RLE size {size} does not match the video size [{height}, {width}] "
                                       "(height, width)")
        counts = self.key(obj, "counts", where)
        if isinstance(counts, str):
            if not _COMPRESSED_COUNTS.fullmatch(counts):
                self.fail(f"{where}.counts", "not a COCO compressed RLE string")
            return {"size": [height, width], "counts": counts}
        if isinstance(counts, list):
            if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
                self.fail(f"{where}.counts", "uncompressed RLE counts must be non-negative integers")
            if sum(counts) != height * width:
                self.fail(f"{where}.counts", f"uncompressed RLE counts sum to {sum(counts)}, "
                                             f"expected height*width = {height * width}")
            return rle_io.normalize({"size": [height, width], "counts": counts})
        self.fail(f"{where}.counts", f"expected a string or a list, got {_kind(counts)}")

    def _polygons(self, value: list, where: str, height: int, width: int) -> dict:
        for j, poly in enumerate(value):
            here = f"{where}[{j}]"
            if not isinstance(poly, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in poly):
                self.fail(here, "expected a polygon [x1, y1, x2, y2, ...] of numbers")
            if len(poly) < 6 or len(poly) % 2:
                self.fail(here, f"a polygon needs an even number (>= 6) of coordinates, got {len(poly)}")
        return rle_io.from_polygons(value, height, width)

    def area(self, value: Any, where: str) -> float | None:
        """One frame's area: a number or null."""
        if value is None:
            return None
        if (type(value) is float or type(value) is int) and math.isfinite(value):
            return float(value)
        return self.number(value, where)

    def areas(self, values: list, where: str) -> list[float | None]:
        """A per-frame list of areas (``where`` names the list); floats or None."""
        if all(type(v) is float or v is None for v in values) and all(map(_finite_or_none, values)):
            return values  # the common case: already floats
        return [self.area(a, f"{where}[{f}]") for f, a in enumerate(values)]

    def bboxes(self, values: list, where: str) -> list[list[float] | None]:
        """A per-frame list of ``[x, y, w, h]`` boxes or nulls (``where`` names the list)."""
        if _all_float_boxes(values):
            return values  # the common case: four finite floats or null per frame
        return [self.bbox(b, f"{where}[{f}]") for f, b in enumerate(values)]

    def bbox(self, value: Any, where: str) -> list[float] | None:
        """One frame's ``[x, y, w, h]`` box or null."""
        if value is None:
            return None
        if type(value) is list and len(value) == 4 and all(type(v) is float or type(v) is int for v in value):
            box = [float(v) for v in value]
            if all(map(math.isfinite, box)):
                return box
        box = self.array(value, where)
        if len(box) != 4:
            self.fail(where, f"expected [x, y, w, h], got {len(box)} values")
        return [self.number(v, f"{where}[{k}]") for k, v in enumerate(box)]

    def occlusion(self, value: Any, where: str) -> str | None:
        """One frame's OVIS occlusion label or null."""
        if value is None or value in OCCLUSION_LABELS:
            return value
        self.fail(where, f"unknown occlusion label {value!r}; expected one of {', '.join(OCCLUSION_LABELS)} "
                         "or null")

    def unique(self, seen: dict[int, str], value: int, where: str, what: str) -> None:
        """Record ``value`` at ``where``; a value seen before is an error."""
        if value in seen:
            self.fail(where, f"duplicate {what} {value} (first at {seen[value]})")
        seen[value] = where


def _finite_or_none(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def _all_float_boxes(values: list) -> bool:
    """True when every entry is null or a list of four finite floats (``v - v == 0`` is False for inf and nan)."""
    for box in values:
        if box is None:
            continue
        if type(box) is not list or len(box) != 4:
            return False
        x, y, w, h = box
        if not (type(x) is float and type(y) is float and type(w) is float and type(h) is float
                and x - x == 0 and y - y == 0 and w - w == 0 and h - h == 0):
            return False
    return True


def _all_compressed(values: list, size: list[int]) -> bool:
    """True when every entry is null or exactly ``{"size": size, "counts": <str>}`` (the common case)."""
    for value in values:
        if value is not None and not (type(value) is dict and len(value) == 2 and type(value.get("counts")) is str
                                      and value.get("size") == size):
            return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)
