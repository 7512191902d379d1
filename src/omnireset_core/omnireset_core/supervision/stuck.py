"""Stuck detection: when the arm has not moved for a while, open the gripper briefly.

Rule (from the OmniReset paper): if the maximum joint displacement over a 2 s window stays below
0.002 rad, override the policy and open the gripper for 1 s. "Maximum joint displacement over the
window" is max over joints of (max - min) of that joint's position within the window.

Sample handling, in order:
- A stamp that is not finite, or not later than the last accepted stamp (duplicate or going
  back), is ignored: it changes nothing and is counted in ``StuckReport.rejected_samples``.
- A non-finite joint sample (NaN/inf) means "not stuck": the window is emptied, so a decision
  needs a full window of finite samples after it. An ongoing release still runs to its end.
- Two consecutive samples more than ``max_gap_s`` apart empty the window (a dropout is not
  evidence of a stall).
- The window is every sample newer than ``stamp - window_s`` plus the newest one at or before
  it, so it covers at least ``window_s`` whatever the sampling. It is full, and a decision is
  made, only when its samples span at least ``window_s``.
- Samples taken while releasing, and for ``settle_s`` after, are not collected: once a release
  ends the policy gets ``settle_s + window_s`` before the rule can trigger again.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from omnireset_core.config import check_positive, check_range

_EPS_S = 1e-9  # stamps built by summing periods (0.1 * k) land a hair short of the boundary


@dataclass(frozen=True)
class StuckConfig:
    window_s: float = 2.0
    threshold_rad: float = 0.002  # stuck when the window's max joint displacement is below this
    release_s: float = 1.0  # how long the gripper is held open
    settle_s: float = 1.0  # after a release, samples are ignored this long before the window restarts
    max_gap_s: float = 0.5  # a larger gap between samples empties the window

    def __post_init__(self):
        cls = type(self).__name__
        check_positive(f"{cls}.window_s", self.window_s)
        check_positive(f"{cls}.threshold_rad", self.threshold_rad)
        check_positive(f"{cls}.release_s", self.release_s)
        check_range(f"{cls}.settle_s", self.settle_s, 0.0, 3600.0)
        check_positive(f"{cls}.max_gap_s", self.max_gap_s)
        if self.max_gap_s > self.window_s:
            raise ValueError(f"{cls}.max_gap_s ({self.max_gap_s}) must not exceed window_s ({self.window_s})")


class SupervisorMode(str, enum.Enum):
    PASS_THROUGH = "pass_through"  # the policy's commands go through unchanged
    RELEASING = "releasing"  # the policy is overridden and the gripper held open


@dataclass(frozen=True)
class SupervisorDecision:
    stamp_s: float | None  # the sample's stamp; for a rejected sample the last accepted one (None if none yet)
    mode: SupervisorMode
    override_gripper_open: bool
    reason: str
    displacement_rad: float | None = None  # the window's max joint displacement; None until full


@dataclass(frozen=True)
class StuckReport:
    interventions: int
    last_trigger_s: float | None
    total_override_s: float  # time spent releasing, up to the last accepted stamp
    rejected_samples: int  # bad or out-of-order stamps
    nonfinite_samples: int  # NaN/inf joint samples


class StuckDetector:
    """Pure state machine: feed it every joint sample with ``update``; act on the decision."""

    def __init__(self, config: StuckConfig = StuckConfig()):
        self.config = config
        self._interventions = 0
        self._last_trigger_s: float | None = None
        self._closed_override_s = 0.0  # completed releases
        self._rejected = 0
        self._nonfinite = 0
        self._last_stamp_s: float | None = None
        self._n_joints: int | None = None
        self._release_end_s: float | None = None  # set while releasing
        self._settle_end_s: float | None = None  # set while settling
        self._clear_window()

    def reset(self) -> None:
        """Forget the window and any release or settling (e.g. at an episode start); keep the report."""
        if self._release_end_s is not None:  # a release cut short still counts up to now
            self._closed_override_s += self._since_trigger_s(self._last_stamp_s)
        self._release_end_s = None
        self._settle_end_s = None
        self._clear_window()

    def _clear_window(self) -> None:
        # Growable buffer; live rows are [_start, _end), compacted when it fills.
        self._stamps = np.empty(64)
        self._q = np.empty((64, self._n_joints or 0))
        self._start = self._end = 0

    def _since_trigger_s(self, stamp_s: float | None) -> float:
        if stamp_s is None or self._last_trigger_s is None:
            return 0.0
        return stamp_s - self._last_trigger_s

    def report(self) -> StuckReport:
        ongoing = 0.0
        if self._release_end_s is not None:
            ongoing = self._since_trigger_s(self._last_stamp_s)
        return StuckReport(
            interventions=self._interventions,
            last_trigger_s=self._last_trigger_s,
            total_override_s=self._closed_override_s + ongoing,
            rejected_samples=self._rejected,
            nonfinite_samples=self._nonfinite,
        )

    def update(self, stamp_s: float, q_rad) -> SupervisorDecision:
        q = np.asarray(q_rad, dtype=float)
        if q.ndim != 1 or q.size == 0:
            raise ValueError(f"q_rad must be a non-empty 1-D array, got shape {q.shape}")
        if self._n_joints is None:
            self._n_joints = q.size
            self._q = np.empty((self._stamps.size, q.size))
        elif q.size != self._n_joints:
            raise ValueError(f"q_rad has {q.size} joints, earlier samples had {self._n_joints}")

        stamp_ok = isinstance(stamp_s, (int, float, np.floating)) and math.isfinite(stamp_s)
        if not stamp_ok or (self._last_stamp_s is not None and stamp_s <= self._last_stamp_s):
            self._rejected += 1
            why = "non-finite stamp" if not stamp_ok else f"stamp {stamp_s} not after {self._last_stamp_s}"
            return self._decision(self._last_stamp_s, f"sample ignored: {why}")
        stamp_s = float(stamp_s)
        self._last_stamp_s = stamp_s

        finite = bool(np.all(np.isfinite(q)))
        if not finite:
            self._nonfinite += 1
            self._clear_window()

        if self._release_end_s is not None:
            if stamp_s < self._release_end_s - _EPS_S:
                return self._decision(stamp_s, "releasing: holding the gripper open")
            self._closed_override_s += self._since_trigger_s(stamp_s)
            self._settle_end_s = self._release_end_s + self.config.settle_s
            self._release_end_s = None
        if self._settle_end_s is not None:
            if stamp_s < self._settle_end_s - _EPS_S:
                return self._decision(stamp_s, "settling after a release: not monitoring")
            self._settle_end_s = None
        if not finite:
            return self._decision(stamp_s, "non-finite joint sample: not stuck, window restarted")

        if self._end > self._start and stamp_s - self._stamps[self._end - 1] > self.config.max_gap_s:
            self._clear_window()
        self._append(stamp_s, q)
        span_s = stamp_s - self._stamps[self._start]
        if span_s < self.config.window_s - _EPS_S:
            return self._decision(stamp_s, f"window filling ({span_s:.2f}/{self.config.window_s:.2f} s)")

        live = self._q[self._start:self._end]
        displacement_rad = float(np.max(live.max(axis=0) - live.min(axis=0)))
        if displacement_rad >= self.config.threshold_rad:
            return self._decision(stamp_s, "moving", displacement_rad)
        self._interventions += 1
        self._last_trigger_s = stamp_s
        self._release_end_s = stamp_s + self.config.release_s
        self._clear_window()
        return self._decision(
            stamp_s,
            f"stuck: max joint displacement {displacement_rad:.5f} rad over {span_s:.2f} s "
            f"< {self.config.threshold_rad} rad; opening the gripper for {self.config.release_s} s",
            displacement_rad,
        )

    def _decision(self, stamp_s, reason: str, displacement_rad: float | None = None) -> SupervisorDecision:
        releasing = self._release_end_s is not None
        return SupervisorDecision(
            stamp_s=stamp_s,
            mode=SupervisorMode.RELEASING if releasing else SupervisorMode.PASS_THROUGH,
            override_gripper_open=releasing,
            reason=reason,
            displacement_rad=displacement_rad,
        )

    def _append(self, stamp_s: float, q: np.ndarray) -> None:
        if self._end == self._stamps.size:
            n = self._end - self._start
            if n * 2 > self._stamps.size:  # mostly live: grow
                self._stamps = np.concatenate([self._stamps[self._start:self._end], np.empty(self._stamps.size)])
                self._q = np.concatenate([self._q[self._start:self._end], np.empty_like(self._q)])
            else:  # mostly expired: compact in place
                self._stamps[:n] = self._stamps[self._start:self._end]
                self._q[:n] = self._q[self._start:self._end]
            self._start, self._end = 0, n
        self._stamps[self._end] = stamp_s
        self._q[self._end] = q
        self._end += 1
        # Drop samples while the next one still reaches back to the window start.
        horizon_s = stamp_s - self.config.window_s + _EPS_S
        while self._end - self._start >= 2 and self._stamps[self._start + 1] <= horizon_s:
            self._start += 1
