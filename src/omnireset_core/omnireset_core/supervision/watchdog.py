"""Input watchdogs: stale or missing timestamped inputs, and NaN/inf in arrays.

Both only report; the caller decides what to do (hold the arm, skip a policy step, log).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from omnireset_core.config import check_positive


@dataclass(frozen=True)
class StaleInput:
    name: str
    max_age_s: float
    age_s: float | None  # None: never received; negative: stamped in the future

    @property
    def message(self) -> str:
        if self.age_s is None:
            return f"'{self.name}' never received"
        if self.age_s < 0:
            return f"'{self.name}' stamped {-self.age_s:.3f} s in the future (limit {self.max_age_s:.3f} s)"
        return (f"'{self.name}' is stale: {self.age_s:.3f} s old, limit {self.max_age_s:.3f} s "
                f"({self.age_s - self.max_age_s:.3f} s over)")

    def __str__(self) -> str:
        return self.message


class StalenessWatchdog:
    """Per named input, the newest stamp seen and the age beyond which it counts as stale.

    Stamps and ``now_s`` must come from the same clock. A stamp more than ``max_age_s`` in the
    future is also reported (it means the clocks disagree).
    """

    def __init__(self, max_age_s: Mapping[str, float]):
        if not isinstance(max_age_s, Mapping) or not max_age_s:
            raise ValueError(f"max_age_s must be a non-empty mapping of input name -> seconds, got {max_age_s!r}")
        for name, limit_s in max_age_s.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"max_age_s: input names must be non-empty strings, got {name!r}")
            check_positive(f"max_age_s['{name}']", limit_s)
        self.max_age_s = dict(max_age_s)
        self._stamps_s: dict[str, float] = {}

    def update(self, name: str, stamp_s: float) -> bool:
        """Record a sample of ``name``. False (and nothing recorded) for a non-finite stamp or one
        older than the newest recorded; such an input then goes stale on its own."""
        if name not in self.max_age_s:
            raise ValueError(f"unknown input '{name}'; watched inputs: {sorted(self.max_age_s)}")
        if not isinstance(stamp_s, (int, float, np.floating)) or not math.isfinite(stamp_s):
            return False
        if stamp_s < self._stamps_s.get(name, -math.inf):
            return False
        self._stamps_s[name] = float(stamp_s)
        return True

    def last_stamp_s(self, name: str) -> float | None:
        return self._stamps_s.get(name)

    def check(self, now_s: float) -> list[StaleInput]:
        """Every stale or never-received input, in the order they were configured."""
        if not isinstance(now_s, (int, float, np.floating)) or not math.isfinite(now_s):
            raise ValueError(f"now_s must be a finite number, got {now_s!r}")
        problems = []
        for name, limit_s in self.max_age_s.items():
            stamp_s = self._stamps_s.get(name)
            if stamp_s is None:
                problems.append(StaleInput(name, limit_s, None))
            elif abs(now_s - stamp_s) > limit_s:
                problems.append(StaleInput(name, limit_s, now_s - stamp_s))
        return problems


def non_finite_problem(key: str, value) -> str | None:
    """Why ``value`` is not an all-finite numeric array (or scalar), naming ``key``; else None."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        return f"'{key}' is not an array: {exc}"
    if arr.dtype.kind not in "biufc":
        return f"'{key}' is not numeric (dtype {arr.dtype})"
    bad = ~np.isfinite(arr)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at index {first}" if arr.ndim else ""
    return f"'{key}' has {int(bad.sum())} non-finite of {arr.size} value(s), first {arr[bad].flat[0]}{where}"


class NonFiniteGuard:
    """Checks a mapping of arrays (an observation, an action) for NaN/inf and missing keys.

    Keeps a per-key count of the checks that found a problem with that key.
    """

    def __init__(self, required: Iterable[str] = ()):
        self.required = tuple(required)
        self.counts: dict[str, int] = {}

    def check(self, arrays: Mapping[str, object]) -> list[str]:
        problems = []
        for key in self.required:
            if key not in arrays:
                problems.append(self._count(key, f"'{key}' missing"))
        for key, value in arrays.items():
            problem = non_finite_problem(key, value)
            if problem is not None:
                problems.append(self._count(key, problem))
        return problems

    def require(self, arrays: Mapping[str, object]) -> None:
        """Raise ValueError listing every problem, if any."""
        problems = self.check(arrays)
        if problems:
            raise ValueError("; ".join(problems))

    def _count(self, key: str, problem: str) -> str:
        self.counts[key] = self.counts.get(key, 0) + 1
        return problem
