"""Config validation: every bad value raises ValueError naming its field; YAML -> dataclass."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def check_positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def check_range(name: str, value: float, low: float, high: float) -> None:
    if not isinstance(value, (int, float)) or not (low <= value <= high):
        raise ValueError(f"{name} must be within [{low}, {high}], got {value!r}")


def check_int(name: str, value, low: int, high: int | None = None) -> None:
    """An integer (not a bool, not a float) >= low, and <= high when given."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    if not ok:
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")


def check_finite_vector(name: str, value, length: int, positive: bool = False) -> None:
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of {length} numbers, got {value!r}") from None
    if len(items) != length or not all(math.isfinite(v) for v in items):
        raise ValueError(f"{name} must be {length} finite numbers, got {value!r}")
    if positive and any(v <= 0 for v in items):
        raise ValueError(f"{name} must be {length} positive numbers, got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any], where: str | None = None) -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys by name.

    Nested dataclass fields are built recursively; lists become tuples.
    """
    where = where or cls.__name__
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{where}: {cls!r} is not a dataclass")
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; expected some of {sorted(fields)}")
    kwargs = {}
    hints = _resolved_hints(cls)
    for key, value in data.items():
        hint = hints.get(key)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value, f"{where}.{key}")
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[key] = value
    return cls(**kwargs)


def read_yaml(path: str | Path, what: str = "config") -> dict[str, Any]:
    """The mapping in a YAML file; a missing, unreadable or non-mapping file is a ValueError
    naming the file as a ``what`` file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ValueError(f"{what} file not found: {path}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{what} file {path} is not readable YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what} file {path} must be a mapping, got {type(data).__name__}")
    return data


def load_yaml(cls: type[T], path: str | Path, section: str | None = None) -> T:
    """Load ``cls`` from a YAML file (optionally one top-level section of it)."""
    path = Path(path)
    data = read_yaml(path)
    if section is not None:
        if section not in data:
            raise ValueError(f"config file {path} has no section '{section}'")
        data = data[section]
    return from_dict(cls, data, where=f"{path.name}:{section or cls.__name__}")


def _resolved_hints(cls) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: fall back to no nesting
        return {}
