"""Success rate over the last finished episodes, per reset type (logged by both backends)."""
from __future__ import annotations

from collections import deque

import numpy as np

from omnireset_training.reset_source import RESET_TYPES


class SuccessTracker:
    def __init__(self, window: int = 100):
        self.history: dict[str, deque[bool]] = {t: deque(maxlen=window) for t in RESET_TYPES}

    def add(self, type_ids: np.ndarray, success: np.ndarray) -> None:
        for i, ok in zip(type_ids, success):
            self.history[RESET_TYPES[i]].append(bool(ok))

    def rates(self) -> dict[str, float]:
        return {t: float(np.mean(h)) for t, h in self.history.items() if h}

    def all_types(self) -> list[bool]:
        return [ok for h in self.history.values() for ok in h]


# Near-goal starts by kind: the part already assembled, held in a closed gripper, or lying free
# with the gripper open (a regrasp). Index 0: any other reset type.
START_CLASSES = ("other", "assembled", "held", "open")


class StartClassTracker:
    """Success per kind of near-goal start and how often a held part is let go at the first step,
    over the last ``window`` episodes of each kind."""

    def __init__(self, window: int = 100):
        self.history: dict[str, deque[float]] = {c: deque(maxlen=window) for c in START_CLASSES[1:]}
        self.let_go: deque[float] = deque(maxlen=window)

    def add(self, classes, success) -> None:
        for c, ok in zip(np.asarray(classes), np.asarray(success)):
            if c > 0:
                self.history[START_CLASSES[c]].append(bool(ok))

    def add_first_step(self, opened) -> None:
        self.let_go.extend(bool(o) for o in np.asarray(opened))

    def log(self) -> dict[str, float]:
        out = {f"NearGoal/success_{c}": float(np.mean(h)) for c, h in self.history.items() if h}
        if self.let_go:
            out["NearGoal/let_go_at_step1"] = float(np.mean(self.let_go))
        return out
