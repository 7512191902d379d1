"""What a deployed policy does from tick to tick, around one ``PolicyRuntime``; no ROS, no clock.

- Inactive: steps still run (input health and latency are visible), nothing is commanded.
- A refused step (stale, missing, non-finite or invalid input) commands nothing; the controller
  holds once its last target is old. Commanding resumes by itself when inputs are usable again,
  unless the refusal lasted longer than ``deactivate_after_s`` after the policy had commanded
  since its activation (the controller died or restarted): then the session deactivates and
  only an explicit activation resumes it. A slow start (refused from activation on) never
  deactivates.
- When the last accepted step is older than ``history_reset_gap_s``, the history is reset before
  the next step (the stacked steps no longer describe the motion); a shorter gap keeps it.
- While the supervisor overrides the gripper, the runtime is not stepped; when the override
  ends the history is reset (the release moved the scene to a new start state).
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from omnireset_core.config import check_range
from omnireset_core.policy.runtime import PolicyCommand, PolicyInputError, PolicyRuntime


LATENCY_WINDOW = 300  # accepted steps kept for the latency percentiles (30 s at 10 Hz)


@dataclass(frozen=True)
class SessionLimits:
    history_reset_gap_s: float = 0.3  # the controller holds the arm after 0.3 s without targets
    deactivate_after_s: float = 1.5

    def __post_init__(self):
        check_range("SessionLimits.history_reset_gap_s", self.history_reset_gap_s, 0.0, 60.0)
        check_range("SessionLimits.deactivate_after_s", self.deactivate_after_s, 0.2, 60.0)


@dataclass(frozen=True)
class Notice:
    level: str  # "info", "warn" or "error"
    text: str


@dataclass
class TickResult:
    command: PolicyCommand | None = None  # to send: an accepted step while active
    notices: list[Notice] = field(default_factory=list)  # to log
    changed: bool = False  # the refusal, recovery or activation state changed: report it now


class PolicySession:
    def __init__(self, runtime: PolicyRuntime, limits: SessionLimits = SessionLimits()):
        self.runtime, self.limits = runtime, limits
        self.active = False
        self.overridden = False
        self.refusal: PolicyInputError | None = None  # in force while steps are refused
        self.refused_steps = 0  # of the refusal in force
        self.refusals = 0  # all refused steps
        self.last_refusal = ""  # kept after recovery
        self._last_step_s = -float("inf")  # time of the last accepted step
        self._activated_s = -float("inf")
        self._needs_reset = False
        self.step_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)  # wall time of the last accepted steps
        self.frame_age_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)  # their oldest camera frame's age

    def activate(self, now_s: float) -> None:
        self.runtime.reset()
        self._needs_reset = False
        self.active = True
        self._activated_s = now_s

    def deactivate(self) -> None:
        self.active = False

    def tick(self, now_s: float, step: Callable[[float], PolicyCommand], override_active: bool) -> TickResult:
        """One policy period at ``now_s``: ``step(now_s)`` builds the observation and steps the
        runtime (a ``PolicyInputError`` refuses the step; anything else propagates: the policy
        itself failed)."""
        result = TickResult()
        if override_active:
            if not self.overridden:
                result.notices.append(Notice("info", "supervisor override: no targets, the controller holds"))
            self.overridden, self._needs_reset = True, True
            return result
        if self.overridden:
            self.overridden = False
            result.notices.append(Notice("info", "supervisor override ended: resuming from a reset history"))
        gap_s = now_s - self._last_step_s
        if self._needs_reset or (self.refusal is not None and gap_s > self.limits.history_reset_gap_s):
            self.runtime.reset()
            self._needs_reset = False
        try:
            start = time.perf_counter()
            command = step(now_s)
        except PolicyInputError as exc:
            self._refused(exc, result)
            commanded = self._last_step_s >= self._activated_s  # an outage after commanding, not a slow start
            outage_s = now_s - self._last_step_s
            if self.active and commanded and outage_s > self.limits.deactivate_after_s:
                self.active, result.changed = False, True
                result.notices.append(Notice("error", f"inputs refused for {outage_s:.1f} s (> deactivate_after_s "
                                                      f"{self.limits.deactivate_after_s} s): deactivated; activate "
                                                      "again to resume"))
            return result
        self._last_step_s = now_s
        self.step_ms.append(1e3 * (time.perf_counter() - start))
        frame_ages = [age for name, age in self.runtime.input_ages_s.items() if name.startswith("camera/")]
        if frame_ages:
            self.frame_age_ms.append(1e3 * max(frame_ages))
        if self.refusal is not None:
            kept = "reset" if gap_s > self.limits.history_reset_gap_s else "kept"
            since = f"{gap_s:.2f} s since the last step" if gap_s < float("inf") else "first step"
            result.notices.append(Notice("info", f"inputs usable again after {self.refused_steps} refused step(s), "
                                                 f"{since}: history {kept}"))
            self.refusal, self.refused_steps, result.changed = None, 0, True
        if self.active:
            result.command = command
        return result

    def _refused(self, exc: PolicyInputError, result: TickResult) -> None:
        self.refusals += 1
        self.refused_steps += 1
        self.last_refusal = str(exc)
        first = self.refusal is None or set(self.refusal.inputs) != set(exc.inputs)
        self.refusal = exc
        if first:  # report when a refusal starts or the refused inputs change
            result.notices.append(Notice("warn" if self.active else "info", f"step refused, not commanding: {exc}"))
            result.changed = True
