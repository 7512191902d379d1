"""Absolute-deadline pacing for fixed-rate loops, with overrun counting.

Deadlines are t0 + k * period, so sleep jitter never accumulates into drift. A tick that ends
past its next deadline is an overrun; the loop then skips the missed deadlines instead of
bursting to catch up.
"""
from __future__ import annotations

import time

from omnireset_core.config import check_positive


class DeadlinePacer:
    def __init__(self, rate_hz: float, spin_s: float = 2e-4, clock=time.monotonic, sleep=time.sleep):
        check_positive("rate_hz", rate_hz)
        self.period_s = 1.0 / rate_hz
        self.spin_s = spin_s  # busy-wait this long before each deadline: sleep() wakes late
        self._clock, self._sleep = clock, sleep
        self._deadline = 0.0
        self.overruns = 0

    def start(self) -> float:
        now = self._clock()
        self._deadline = now + self.period_s
        return now

    def wait(self) -> float:
        """Block until the next deadline; returns the wake-up time."""
        now = self._clock()
        if now > self._deadline:
            self.overruns += 1
            missed = int((now - self._deadline) / self.period_s) + 1
            self._deadline += missed * self.period_s
        remaining = self._deadline - now - self.spin_s
        if remaining > 0:
            self._sleep(remaining)
        while (now := self._clock()) < self._deadline:
            pass
        self._deadline += self.period_s
        return now
