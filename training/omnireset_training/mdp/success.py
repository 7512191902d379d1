"""Success rate over the last finished episodes, per reset type (logged by both backends)."""
from __future__ import annotations

from collections import deque

import numpy as np

from omnireset_training.reset_source import RESET_TYPES


class SuccessTracker:
    def __init__(self, window: int = 100):
        self.history = {t: deque(maxlen=window) for t in RESET_TYPES}

    def add(self, type_ids: np.ndarray, success: np.ndarray) -> None:
        for i, ok in zip(type_ids, success):
            self.history[RESET_TYPES[i]].append(bool(ok))

    def rates(self) -> dict[str, float]:
        return {t: float(np.mean(h)) for t, h in self.history.items() if h}

    def all_types(self) -> list[bool]:
        return [ok for h in self.history.values() for ok in h]
