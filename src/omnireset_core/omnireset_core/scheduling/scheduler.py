"""The scheduler of a ``Schedule`` (e.g. four leg-twisting steps for a table).

The ``Scheduler`` is a pure state machine: the caller ticks it with its clock; it never sleeps or
spawns threads. Per tick it polls the ``StepRunner`` and decides:
- the attempt is complete -> its verdict (SUCCEEDED moves on to the next step);
- else ``timeout_s`` has passed since the attempt started -> ``cancel()`` it, TIMED_OUT;
  completion is checked first, so success on the deadline tick counts;
- a failed or timed-out attempt is retried while attempts <= ``max_retries``; then the step
  keeps its last status and the schedule aborts (remaining steps SKIPPED) or continues, per
  ``on_failure`` (the step's, else the schedule's);
- after a failed or timed-out attempt that is followed by another attempt or step, the
  schedule's ``recovery`` hook runs once (e.g. open the gripper and back off), then the next
  attempt starts ``recovery_pause_s`` later.
Runner and hook exceptions do not escape: a runner that raises fails that attempt (and is
retried like any failure); a recovery hook that raises aborts the schedule, since the robot is
then in an unknown state. Both messages go into the report.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from omnireset_core.scheduling.plan import Schedule, ScheduleStep, StepOutcome, StepStatus
from omnireset_core.scheduling.runner import StepRunner

_EPS_S = 1e-9


class SchedulerState(str, enum.Enum):
    IDLE = "idle"  # not ticked yet
    RUNNING = "running"  # an attempt is in progress
    RECOVERING = "recovering"  # waiting out recovery_pause_s before the next attempt or step
    COMPLETED = "completed"  # every step ran (see the report for which succeeded)
    ABORTED = "aborted"
    CANCELLED = "cancelled"


TERMINAL_STATES = (SchedulerState.COMPLETED, SchedulerState.ABORTED, SchedulerState.CANCELLED)


@dataclass(frozen=True)
class AttemptReport:
    number: int  # 1-based
    status: StepStatus
    started_s: float
    ended_s: float | None  # None while running
    detail: str = ""

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_s is None else self.ended_s - self.started_s


@dataclass(frozen=True)
class StepReport:
    name: str
    status: StepStatus
    attempts: tuple[AttemptReport, ...]
    started_s: float | None  # first attempt's start; None if never started
    ended_s: float | None  # when its status became final; None if not yet
    duration_s: float  # first start to end, recovery pauses included (to the last tick while running)


@dataclass(frozen=True)
class ScheduleReport:
    name: str
    state: SchedulerState
    steps: tuple[StepReport, ...]
    started_s: float | None
    ended_s: float | None
    detail: str  # why it aborted or was cancelled; empty otherwise

    @property
    def succeeded(self) -> bool:
        return all(s.status == StepStatus.SUCCEEDED for s in self.steps)

    @property
    def duration_s(self) -> float | None:
        return None if self.started_s is None or self.ended_s is None else self.ended_s - self.started_s

    def summary(self) -> str:
        n_ok = sum(s.status == StepStatus.SUCCEEDED for s in self.steps)
        parts = [f"{s.name}: {s.status.value} ({len(s.attempts)} attempt(s), {s.duration_s:.1f} s)" for s in self.steps]
        head = f"{self.name} {self.state.value}: {n_ok}/{len(self.steps)} steps succeeded"
        return head + (f" ({self.detail})" if self.detail else "") + "; " + "; ".join(parts)


@dataclass
class _StepRecord:
    status: StepStatus = StepStatus.PENDING
    attempts: list[AttemptReport] = dataclasses.field(default_factory=list)
    ended_s: float | None = None


RecoveryHook = Callable[[ScheduleStep, AttemptReport], None]


class Scheduler:
    def __init__(self, schedule: Schedule, runner: StepRunner, *,
                 hooks: Mapping[str, RecoveryHook] | None = None,
                 validate_step: Callable[[ScheduleStep], None] | None = None):
        """``validate_step`` (e.g. ``task_step_validator()``) checks every step now, before anything
        runs; it raises ValueError for a bad step. ``hooks`` maps names to recovery callables."""
        if not isinstance(runner, StepRunner):
            raise TypeError(f"runner must implement StepRunner (start, is_complete, result, cancel), got {runner!r}")
        self.hooks = dict(hooks or {})
        if schedule.recovery is not None and schedule.recovery not in self.hooks:
            raise ValueError(f"Schedule.recovery: no hook named '{schedule.recovery}'; hooks given: {sorted(self.hooks)}")
        if validate_step is not None:
            for i, step in enumerate(schedule.steps):
                try:
                    validate_step(step)
                except ValueError as exc:
                    raise ValueError(f"schedule '{schedule.name}': steps[{i}] ({step.name!r}): {exc}") from None
        self.schedule = schedule
        self.runner = runner
        self.state = SchedulerState.IDLE
        self._records = [_StepRecord() for _ in schedule.steps]
        self._index = 0  # the step running, or the one to start after a recovery pause
        self._attempt_start_s = 0.0
        self._resume_s = 0.0
        self._now_s: float | None = None
        self._started_s: float | None = None
        self._ended_s: float | None = None
        self._detail = ""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def current_step(self) -> ScheduleStep | None:
        """The step running or about to be retried/started; None before the first tick and when done."""
        return None if self.state in (SchedulerState.IDLE, *TERMINAL_STATES) else self.schedule.steps[self._index]

    def tick(self, now_s: float) -> SchedulerState:
        self._set_clock(now_s)
        if self.done:
            return self.state
        if self.state == SchedulerState.IDLE:
            self._started_s = now_s
            self._start_attempt(now_s)
        elif self.state == SchedulerState.RECOVERING:
            if now_s >= self._resume_s - _EPS_S:
                self._start_attempt(now_s)
        else:
            self._poll(now_s)
        return self.state

    def cancel(self, now_s: float | None = None) -> None:
        """Cancel the running step (the runner's ``cancel()``), skip the rest. No-op once done."""
        if now_s is not None:
            self._set_clock(now_s)
        if self.done:
            return
        now_s = self._now_s  # None only if never ticked
        record = self._records[self._index]
        if self.state == SchedulerState.RUNNING:
            detail = "cancelled"
            try:
                self.runner.cancel()
            except Exception as exc:
                detail += f"; runner.cancel() raised {exc!r}"
            record.attempts[-1] = dataclasses.replace(record.attempts[-1], status=StepStatus.CANCELLED,
                                                      ended_s=now_s, detail=detail)
        if self.state != SchedulerState.IDLE and record.status == StepStatus.RUNNING:
            record.status, record.ended_s = StepStatus.CANCELLED, now_s
        self._finish(SchedulerState.CANCELLED, now_s, "cancelled")

    def report(self) -> ScheduleReport:
        steps = []
        for step, rec in zip(self.schedule.steps, self._records):
            started = rec.attempts[0].started_s if rec.attempts else None
            end = rec.ended_s if rec.ended_s is not None else self._now_s
            steps.append(StepReport(
                name=step.name, status=rec.status, attempts=tuple(rec.attempts), started_s=started,
                ended_s=rec.ended_s, duration_s=0.0 if started is None or end is None else end - started,
            ))
        return ScheduleReport(self.schedule.name, self.state, tuple(steps), self._started_s, self._ended_s,
                              self._detail)

    # -- internals

    def _set_clock(self, now_s: float) -> None:
        if isinstance(now_s, bool) or not isinstance(now_s, (int, float)) or not math.isfinite(now_s):
            raise ValueError(f"now_s must be a finite number, got {now_s!r}")
        if self._now_s is not None and now_s < self._now_s:
            raise ValueError(f"now_s went back: {now_s} after {self._now_s}")
        self._now_s = float(now_s)

    def _start_attempt(self, now_s: float) -> None:
        step, record = self.schedule.steps[self._index], self._records[self._index]
        record.status = StepStatus.RUNNING
        record.attempts.append(AttemptReport(len(record.attempts) + 1, StepStatus.RUNNING, now_s, None))
        self.state = SchedulerState.RUNNING
        self._attempt_start_s = now_s
        try:
            self.runner.start(step)
        except Exception as exc:
            self._end_attempt(StepStatus.FAILED, f"runner.start() raised {exc!r}", now_s)

    def _poll(self, now_s: float) -> None:
        step = self.schedule.steps[self._index]
        try:
            complete = bool(self.runner.is_complete())
            if complete:
                outcome = self.runner.result()
        except Exception as exc:
            self._end_attempt(StepStatus.FAILED, f"runner raised {exc!r}", now_s)
            return
        if complete:
            status, detail = _verdict(outcome)
            self._end_attempt(status, detail, now_s)
        elif now_s - self._attempt_start_s >= step.timeout_s - _EPS_S:
            detail = f"no success within {step.timeout_s} s"
            try:
                self.runner.cancel()
            except Exception as exc:
                detail += f"; runner.cancel() raised {exc!r}"
            self._end_attempt(StepStatus.TIMED_OUT, detail, now_s)

    def _end_attempt(self, status: StepStatus, detail: str, now_s: float) -> None:
        step, record = self.schedule.steps[self._index], self._records[self._index]
        attempt = dataclasses.replace(record.attempts[-1], status=status, ended_s=now_s, detail=detail)
        record.attempts[-1] = attempt
        retry = status != StepStatus.SUCCEEDED and len(record.attempts) <= step.max_retries
        if not retry:
            record.status, record.ended_s = status, now_s
        last = self._index == len(self.schedule.steps) - 1
        if status == StepStatus.SUCCEEDED:
            if last:
                self._finish(SchedulerState.COMPLETED, now_s, "")
            else:
                self._index += 1
                self._start_attempt(now_s)
            return
        if not retry:
            on_failure = step.on_failure or self.schedule.on_failure
            if on_failure == "abort":
                self._finish(SchedulerState.ABORTED, now_s, f"step '{step.name}' {status.value}")
                return
            if last:
                self._finish(SchedulerState.COMPLETED, now_s, "")
                return
        # Something runs next: recover first, then retry this step or start the next one.
        if self.schedule.recovery is not None:
            try:
                self.hooks[self.schedule.recovery](step, attempt)
            except Exception as exc:
                why = f"recovery '{self.schedule.recovery}' raised {exc!r}"
                record.attempts[-1] = dataclasses.replace(attempt, detail=f"{detail}; {why}")
                record.status, record.ended_s = status, now_s
                self._finish(SchedulerState.ABORTED, now_s, why)
                return
        if not retry:
            self._index += 1
        if self.schedule.recovery_pause_s > 0:
            self.state = SchedulerState.RECOVERING
            self._resume_s = now_s + self.schedule.recovery_pause_s
        else:
            self._start_attempt(now_s)

    def _finish(self, state: SchedulerState, now_s: float | None, detail: str) -> None:
        for record in self._records:
            if record.status == StepStatus.PENDING:
                record.status = StepStatus.SKIPPED
        self.state, self._ended_s, self._detail = state, now_s, detail


def _verdict(outcome: Any) -> tuple[StepStatus, str]:
    """Map a runner's outcome to an attempt status: SUCCEEDED, TIMED_OUT (the runner's own clock)
    or FAILED; anything unexpected is a failure that says what it was."""
    if not isinstance(outcome, StepOutcome):
        return StepStatus.FAILED, f"runner.result() returned {outcome!r}, not a StepOutcome"
    if outcome.status in (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.TIMED_OUT):
        return outcome.status, outcome.detail
    return StepStatus.FAILED, f"runner reported {outcome.status.value}: {outcome.detail}".rstrip(": ")
