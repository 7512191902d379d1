"""Where reset states come from, and how a type is drawn for each reset.

A reset source has ``sample(reset_type, n, rng) -> dict`` with
``q_arm_rad (n, 6)``, ``gripper_closed (n,)``, ``insertive_pose_b (n, 7)`` and
``receptive_pose_b (n, 7)`` (position [m] then quaternion w, x, y, z, frame b); optionally
``finger_travel_m (n,)``. The reset generator's ``omnireset_training.datasets.ResetDataset`` is
one; ``InMemoryResets`` (with its own ``.npz`` folder format) is the stand-in for tests.

Training draws the reset TYPE first with configurable probabilities (1/4 each by default), then a
state uniformly within that type (not uniformly over the union of all states).
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

RESET_TYPES = ("reaching", "near_object", "stable_grasp", "near_goal")
STATE_KEYS = ("q_arm_rad", "gripper_closed", "insertive_pose_b", "receptive_pose_b")
OPTIONAL_KEYS = ("finger_travel_m",)


class ResetSource(Protocol):
    def sample(self, reset_type: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]: ...


class InMemoryResets:
    """Reset states held as arrays per type; ``save``/``load`` one ``<type>.npz`` per type."""

    def __init__(self, states: dict[str, dict[str, np.ndarray]]):
        for reset_type, arrays in states.items():
            if reset_type not in RESET_TYPES:
                raise ValueError(f"unknown reset type {reset_type!r}; types are {RESET_TYPES}")
            missing = [k for k in STATE_KEYS if k not in arrays]
            if missing:
                raise ValueError(f"reset type {reset_type!r} lacks {missing}")
            sizes = {len(arrays[k]) for k in arrays}
            if len(sizes) != 1 or 0 in sizes:
                raise ValueError(f"reset type {reset_type!r}: arrays must share one non-zero length, got {sizes}")
        self.states = states

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(t for t in RESET_TYPES if t in self.states)

    def __len__(self) -> int:
        return sum(len(a["q_arm_rad"]) for a in self.states.values())

    def sample(self, reset_type: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if reset_type not in self.states:
            raise ValueError(f"no {reset_type!r} resets; have {self.types}")
        arrays = self.states[reset_type]
        idx = rng.integers(0, len(arrays["q_arm_rad"]), size=n)
        return {k: v[idx] for k, v in arrays.items()}

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for reset_type, arrays in self.states.items():
            tmp = folder / f"{reset_type}.partial.npz"
            np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub types the keywords as allow_pickle
            tmp.replace(folder / f"{reset_type}.npz")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> InMemoryResets:
        folder = Path(folder)
        states = {}
        for reset_type in RESET_TYPES:
            path = folder / f"{reset_type}.npz"
            if path.exists():
                with np.load(path) as data:
                    states[reset_type] = {k: data[k] for k in data.files}
        if not states:
            raise ValueError(f"no reset files (<type>.npz) in {folder}")
        return cls(states)


def load_resets(folder: str | Path) -> ResetSource:
    """A reset generator dataset (a folder with ``manifest.json``, read by
    ``omnireset_training.datasets.ResetDataset``), else the ``InMemoryResets`` folder format."""
    folder = Path(folder)
    if (folder / "manifest.json").exists():
        from omnireset_training.datasets import ResetDataset

        return ResetDataset.load(folder)
    return InMemoryResets.load(folder)


def available_types(source: ResetSource) -> tuple[str, ...]:
    """Types the source has states of (``types``, else non-zero ``counts``, else all)."""
    types = getattr(source, "types", None)
    counts = getattr(source, "counts", None)
    if types is None and isinstance(counts, dict):
        types = [t for t, n in counts.items() if n > 0]
    return tuple(types) if types is not None else RESET_TYPES


class ResetSampler:
    """Draws reset types by probability, then states from the source, as torch-ready arrays."""

    def __init__(self, source: ResetSource, probabilities: dict[str, float], seed: int = 0):
        unknown = sorted(set(probabilities) - set(RESET_TYPES))
        if unknown:
            raise ValueError(f"unknown reset type(s) {unknown}; types are {RESET_TYPES}")
        probs = np.array([float(probabilities.get(t, 0.0)) for t in RESET_TYPES])
        if (probs < 0).any() or probs.sum() <= 0:
            raise ValueError(f"reset probabilities must be >= 0 and not all zero, got {probabilities}")
        have = set(available_types(source))
        lacking = [t for t, p in zip(RESET_TYPES, probs) if p > 0 and t not in have]
        if lacking:
            raise ValueError(f"reset probabilities name type(s) {lacking} the source does not have ({sorted(have)})")
        self.source, self.probs = source, probs / probs.sum()
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(type index into RESET_TYPES (n,), states by key). ``finger_travel_m`` is NaN for rows
        whose source gives none (the env then derives it from the geometry)."""
        type_ids = self.rng.choice(len(RESET_TYPES), size=n, p=self.probs)
        out: dict[str, np.ndarray] = {"finger_travel_m": np.full(n, np.nan)}
        for i, reset_type in enumerate(RESET_TYPES):
            rows = np.flatnonzero(type_ids == i)
            if len(rows) == 0:
                continue
            states = self.source.sample(reset_type, len(rows), self.rng)
            for key in STATE_KEYS + OPTIONAL_KEYS:
                if key not in states:
                    continue
                value = np.asarray(states[key])
                if key not in out:
                    out[key] = np.zeros((n,) + value.shape[1:], dtype=value.dtype)
                out[key][rows] = value.reshape((len(rows),) + out[key].shape[1:])
        return type_ids, out
