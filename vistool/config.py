"""YAML configuration files as frozen dataclasses.

A config file maps onto a (possibly nested) dataclass. Unknown keys are an
error that names the key, the file and the closest known key.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vistool.errors import ConfigError

T = TypeVar("T")


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unwrap_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _convert(value: Any, tp: Any, where: str) -> Any:
    tp = _unwrap_optional(tp)
    if value is None:
        return None
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return from_dict(tp, value, where)
    origin = typing.get_origin(tp)
    if origin in (tuple, list):
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_convert(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if tp is float:
        return _to_float(value, where)
    if tp in (int, str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def _to_float(value: Any, where: str) -> float:
    """A number; also a string such as ``1e-4``, which YAML 1.1 does not read as a float."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a number, got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping, checking keys and types.

    Raises:
        ConfigError: on an unknown key (with the closest known key as a hint)
            or a value of the wrong type.
    """
    types_ = _field_types(cls)
    for key in data:
        if key not in types_:
            close = difflib.get_close_matches(str(key), list(types_), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(types_)}"
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")
    kwargs = {k: _convert(v, types_[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def to_dict(obj: Any) -> dict[str, Any]:
    """A config dataclass as plain YAML-able data (tuples become lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(obj))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with one-line errors for missing or malformed files."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def parse_overrides(items: Iterable[str], example: str = "train.lr=1e-4") -> dict[str, Any]:
    """``["a.b=VALUE", ...]`` -> ``{"a.b": VALUE}``, each VALUE read as YAML (``0.1``, ``[1500]``, ``true``);
    ``example`` is shown in the error for an item without ``=``."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. {example}")
        try:
            overrides[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item}: the value is not valid YAML") from None
    return overrides


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a config mapping with dotted keys set.

    A number selects a list item (``train.stages.1.lr_drops``). Missing mappings
    and keys are created: building the dataclass afterwards rejects unknown keys
    with a hint, so a typo still fails.
    """
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node: Any = data
        for key in parents:
            node = _child(node, key, dotted)
        if isinstance(node, list):
            node[_list_index(node, leaf, dotted)] = value
        elif isinstance(node, dict):
            node[leaf] = value
        else:
            raise ConfigError(f"--set {dotted}: '{leaf}' is inside {node!r}, which is not a mapping or list")
    return data


def _child(node: Any, key: str, dotted: str) -> Any:
    """The item ``key`` of a list or mapping; a missing mapping is created."""
    if isinstance(node, list):
        return node[_list_index(node, key, dotted)]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {dotted}: '{key}' is inside {node!r}, which is not a mapping or list")
    if node.get(key) is None:
        node[key] = {}
    return node[key]


def _list_index(node: list, key: str, dotted: str) -> int:
    if not key.lstrip("-").isdigit() or not -len(node) <= int(key) < len(node):
        raise ConfigError(f"--set {dotted}: '{key}' is not an index of a list of {len(node)} items")
    return int(key)
