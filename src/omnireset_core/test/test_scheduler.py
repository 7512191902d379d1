"""Multi-leg scheduler: a pure state machine driven against a scripted runner double.

The double stands for policy + robot: each attempt plays a scripted sequence of object poses, one
per poll, and judges success with the task's own criterion (``goal_reached``).
"""
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from omnireset_core.scheduling import (
    Schedule,
    Scheduler,
    SchedulerState,
    StepOutcome,
    StepStatus,
    load_schedule,
    task_step_validator,
)
from omnireset_core.tasks import Pose, goal_reached, load_task

FOUR_LEG = Path(__file__).parent / "data" / "four_leg.yaml"
SOCKETS_M = ((0.25, 0.15, 0.0), (-0.25, 0.15, 0.0), (-0.25, -0.15, 0.0), (0.25, -0.15, 0.0))


def leg_task(n_sockets=4):
    """A stand-in leg-twisting task: the peg's thresholds, one goal pose per table-corner socket."""
    return dataclasses.replace(load_task("peg"), name="leg_twist",
                               goal_poses=tuple(Pose(pos_m=p) for p in SOCKETS_M[:n_sockets]))


TASKS = {"leg_twist": leg_task()}


def inserting(socket, dz_m=(0.05, 0.02, 0.0005)):
    """The leg lowered onto ``socket``; seated (within 2.5 mm) on the third poll."""
    return [(np.add(SOCKETS_M[socket], (0.0, 0.0, dz)), np.array([1.0, 0, 0, 0])) for dz in dz_m]


GIVE_UP = "give_up"  # the runner itself declares failure (e.g. leg dropped)
RAISE = "raise"  # start() raises (e.g. checkpoint missing)


class ScriptedRunner:
    def __init__(self, scripts, tasks=TASKS):
        self.scripts = {name: list(attempts) for name, attempts in scripts.items()}
        self.tasks = tasks
        self.log = []

    def start(self, step):
        self.log.append(("start", step.name))
        script = self.scripts[step.name].pop(0)
        if script == RAISE:
            raise FileNotFoundError(step.checkpoint_path)
        self.step, self.states, self.outcome = step, iter(script), None

    def is_complete(self):
        if self.outcome is None:
            state = next(self.states, None)  # None: the script is over, the leg just sits there
            if state == GIVE_UP:
                self.outcome = StepOutcome(StepStatus.FAILED, "leg dropped")
            elif state is not None and goal_reached(self.tasks[self.step.task], self.step.goal_index, *state):
                self.outcome = StepOutcome(StepStatus.SUCCEEDED, f"seated in socket {self.step.goal_index}")
        return self.outcome is not None

    def result(self):
        return self.outcome

    def cancel(self):
        self.log.append(("cancel", self.step.name))


def all_good():
    return {f"leg_{i + 1}": [inserting(i)] for i in range(4)}


def four_leg(**overrides):
    """The example schedule with 1 s timeouts and a 0.5 s recovery pause, so tests run in ticks."""
    data = yaml.safe_load(FOUR_LEG.read_text())
    data["step_defaults"]["timeout_s"] = 1.0
    data["steps"][3].pop("timeout_s")
    data["recovery_pause_s"] = 0.5
    for key, value in overrides.items():
        if key.startswith("leg_"):
            data["steps"][int(key[-1]) - 1].update(value)
        else:
            data[key] = value
    return Schedule.from_mapping(data)


class Recorder:
    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def __call__(self, step, attempt):
        self.calls.append((step.name, attempt.number, attempt.status))
        if self.fail:
            raise RuntimeError("gripper did not open")


def run(sched, until_s=20.0, dt_s=0.1, stop_at_s=None, from_s=0.0):
    """Tick at 10 Hz (stamps k/10, as a node's timer would give) until done or ``stop_at_s``."""
    for k in range(int(round(from_s / dt_s)), int(until_s / dt_s) + 1):
        now_s = round(k * dt_s, 9)
        if sched.tick(now_s) in (SchedulerState.COMPLETED, SchedulerState.ABORTED, SchedulerState.CANCELLED):
            return now_s
        if stop_at_s is not None and now_s >= stop_at_s:
            return now_s
    raise AssertionError("schedule did not finish")


def statuses(report):
    return {s.name: s.status for s in report.steps}


def make(schedule, runner, hook=None, **kwargs):
    return Scheduler(schedule, runner, hooks={"open_gripper_and_back_off": hook or Recorder()}, **kwargs)


def test_four_leg_example_loads_and_validates_tasks_lazily():
    schedule = load_schedule(FOUR_LEG)  # needs no task file
    assert [s.name for s in schedule.steps] == ["leg_1", "leg_2", "leg_3", "leg_4"]
    assert [s.goal_index for s in schedule.steps] == [0, 1, 2, 3]
    assert {s.checkpoint_path for s in schedule.steps} == {"checkpoints/leg_twist/policy.pt"}
    assert [s.timeout_s for s in schedule.steps] == [90.0, 90.0, 90.0, 120.0]
    assert schedule.steps[0].max_retries == 2 and schedule.on_failure == "abort"
    make(schedule, ScriptedRunner({}), validate_step=task_step_validator(TASKS.__getitem__))
    with pytest.raises(ValueError, match=r"steps\[3\] \('leg_4'\): goal_index 3 out of range.* 3 goal pose"):
        make(schedule, ScriptedRunner({}), validate_step=task_step_validator(lambda name: leg_task(3)))
    with pytest.raises(ValueError, match=r"steps\[0\] \('leg_1'\): unknown task 'leg_twist'"):
        make(schedule, ScriptedRunner({}), validate_step=task_step_validator())  # the shipped tasks


def test_success_path_runs_every_leg_in_order():
    runner, hook = ScriptedRunner(all_good()), Recorder()
    sched = make(four_leg(), runner, hook)
    assert sched.state == SchedulerState.IDLE and sched.current_step is None
    assert run(sched) == pytest.approx(1.2)  # 3 polls per leg, the next leg starts on the same tick
    report = sched.report()
    assert report.state == SchedulerState.COMPLETED and report.succeeded and report.detail == ""
    assert runner.log == [("start", f"leg_{i}") for i in range(1, 5)] and hook.calls == []
    for i, step in enumerate(report.steps):
        (attempt,) = step.attempts
        assert step.status == attempt.status == StepStatus.SUCCEEDED
        assert attempt.detail == f"seated in socket {i}"
        assert step.started_s == pytest.approx(0.3 * i) and step.duration_s == pytest.approx(0.3)
    assert report.duration_s == pytest.approx(1.2)
    assert report.summary().startswith("four_leg_table completed: 4/4 steps succeeded")


def test_wrong_socket_times_out_then_retry_after_recovery_succeeds():
    scripts = all_good()
    scripts["leg_2"] = [inserting(0), inserting(1)]  # first attempt twists into leg 1's socket
    runner, hook = ScriptedRunner(scripts), Recorder()
    sched = make(four_leg(), runner, hook)
    run(sched, stop_at_s=1.3)  # leg_2 started at 0.3 s, 1 s timeout
    assert sched.state == SchedulerState.RECOVERING and sched.current_step.name == "leg_2"
    assert runner.log[-1] == ("cancel", "leg_2")
    assert hook.calls == [("leg_2", 1, StepStatus.TIMED_OUT)]
    run(sched, from_s=1.4)
    report = sched.report()
    assert report.succeeded and report.ended_s == pytest.approx(2.7)
    leg_2 = report.steps[1]
    assert [a.status for a in leg_2.attempts] == [StepStatus.TIMED_OUT, StepStatus.SUCCEEDED]
    assert [a.started_s for a in leg_2.attempts] == pytest.approx([0.3, 1.8])  # 0.5 s recovery pause
    assert [a.duration_s for a in leg_2.attempts] == pytest.approx([1.0, 0.3])
    assert leg_2.duration_s == pytest.approx(1.8) and "no success within 1.0 s" in leg_2.attempts[0].detail


def test_success_on_the_deadline_tick_counts():
    sched = make(four_leg(step_defaults={"timeout_s": 0.3, "checkpoint_path": "p.pt", "task": "leg_twist"}),
                 ScriptedRunner(all_good()))
    run(sched)
    assert sched.report().succeeded


@pytest.mark.parametrize("policy", ["abort", "continue", "continue_but_leg_2_aborts"])
def test_exhausted_retries_abort_or_continue(policy):
    scripts = all_good()
    scripts["leg_2"] = [inserting(1)[:1] + [GIVE_UP]] * 2
    overrides = {"leg_2": {"max_retries": 1}, "on_failure": "abort" if policy == "abort" else "continue"}
    if policy == "continue_but_leg_2_aborts":
        overrides["leg_2"]["on_failure"] = "abort"
    runner, hook = ScriptedRunner(scripts), Recorder()
    sched = make(four_leg(**overrides), runner, hook)
    run(sched)
    report = sched.report()
    assert [a.status for a in report.steps[1].attempts] == [StepStatus.FAILED] * 2
    assert report.steps[1].attempts[0].detail == "leg dropped"
    assert not report.succeeded
    if policy == "continue":
        assert report.state == SchedulerState.COMPLETED
        assert list(statuses(report).values()) == [StepStatus.SUCCEEDED, StepStatus.FAILED,
                                                   StepStatus.SUCCEEDED, StepStatus.SUCCEEDED]
        # Recovery after each failed attempt: before the retry and before moving on to leg_3.
        assert hook.calls == [("leg_2", 1, StepStatus.FAILED), ("leg_2", 2, StepStatus.FAILED)]
        assert "leg_2: failed (2 attempt(s)" in report.summary()
    else:
        assert report.state == SchedulerState.ABORTED and report.detail == "step 'leg_2' failed"
        assert list(statuses(report).values()) == [StepStatus.SUCCEEDED, StepStatus.FAILED,
                                                   StepStatus.SKIPPED, StepStatus.SKIPPED]
        assert hook.calls == [("leg_2", 1, StepStatus.FAILED)]
        assert report.steps[2].attempts == () and report.steps[2].duration_s == 0.0
        assert ("start", "leg_3") not in runner.log


def test_cancel_running_step_skips_the_rest():
    runner = ScriptedRunner(all_good())
    sched = make(four_leg(), runner)
    run(sched, stop_at_s=0.7)  # leg_3 started at 0.6 s
    sched.cancel(0.75)
    assert runner.log[-1] == ("cancel", "leg_3")
    report = sched.report()
    assert report.state == SchedulerState.CANCELLED and report.detail == "cancelled"
    assert list(statuses(report).values()) == [StepStatus.SUCCEEDED, StepStatus.SUCCEEDED,
                                               StepStatus.CANCELLED, StepStatus.SKIPPED]
    (attempt,) = report.steps[2].attempts
    assert attempt.status == StepStatus.CANCELLED and attempt.duration_s == pytest.approx(0.15)
    assert sched.tick(0.8) == SchedulerState.CANCELLED and sched.current_step is None
    sched.cancel()  # no-op once done
    assert len(runner.log) == 4 and sched.report() == report


def test_cancel_before_start_and_during_recovery():
    sched = make(four_leg(), ScriptedRunner({}))
    sched.cancel()
    assert set(statuses(sched.report()).values()) == {StepStatus.SKIPPED}
    assert sched.tick(0.0) == SchedulerState.CANCELLED

    scripts = all_good()
    scripts["leg_1"] = [[GIVE_UP], inserting(0)]
    runner = ScriptedRunner(scripts)
    sched = make(four_leg(), runner)
    run(sched, stop_at_s=0.2)  # failed at 0.1 s, retry due at 0.6 s
    assert sched.state == SchedulerState.RECOVERING
    sched.cancel(0.3)
    assert runner.log == [("start", "leg_1")]  # nothing running, nothing to cancel
    report = sched.report()
    assert report.steps[0].status == StepStatus.CANCELLED
    assert [a.status for a in report.steps[0].attempts] == [StepStatus.FAILED]


def test_runner_exceptions_fail_the_attempt_and_a_raising_recovery_aborts():
    scripts = all_good()
    scripts["leg_1"] = [RAISE, inserting(0)]
    sched = make(four_leg(), ScriptedRunner(scripts))
    run(sched)
    report = sched.report()
    assert report.succeeded
    first = report.steps[0].attempts[0]
    assert first.status == StepStatus.FAILED and "FileNotFoundError" in first.detail and first.duration_s == 0.0

    sched = make(four_leg(), ScriptedRunner(scripts | {"leg_1": [[GIVE_UP]]}), Recorder(fail=True))
    run(sched)
    report = sched.report()
    assert report.state == SchedulerState.ABORTED
    assert "recovery 'open_gripper_and_back_off' raised" in report.detail and "gripper did not open" in report.detail
    assert report.steps[0].status == StepStatus.FAILED and len(report.steps[0].attempts) == 1


def test_scheduler_rejects_bad_wiring_and_clock():
    with pytest.raises(ValueError, match="Schedule.recovery: no hook named 'open_gripper_and_back_off'"):
        Scheduler(four_leg(), ScriptedRunner({}))
    with pytest.raises(TypeError, match="StepRunner"):
        Scheduler(four_leg(recovery=None), object())
    sched = make(four_leg(), ScriptedRunner(all_good()))
    sched.tick(1.0)
    with pytest.raises(ValueError, match="went back"):
        sched.tick(0.5)
    with pytest.raises(ValueError, match="now_s"):
        sched.tick(float("nan"))


def _edit(path, change):
    data = yaml.safe_load(FOUR_LEG.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("change,match", [
    (lambda d: d["steps"][1].update(timeout_s=-5), r"steps\[1\] \('leg_2'\): ScheduleStep.timeout_s"),
    (lambda d: d["steps"][0].update(timout_s=3), r"steps\[0\].*unknown field\(s\) \['timout_s'\]"),
    (lambda d: d["step_defaults"].pop("task"), r"steps\[0\]: missing field\(s\) \['task'\]"),
    (lambda d: d["step_defaults"].update(max_retries=-1), "ScheduleStep.max_retries"),
    (lambda d: d["step_defaults"].update(max_retries=1.5), "ScheduleStep.max_retries"),
    (lambda d: d["step_defaults"].update(max_retries=True), "ScheduleStep.max_retries"),
    (lambda d: d["steps"][2].update(goal_index=-1), r"steps\[2\] \('leg_3'\): ScheduleStep.goal_index"),
    (lambda d: d["steps"][0].update(on_failure="retry"), "ScheduleStep.on_failure"),
    (lambda d: d["step_defaults"].update(checkpoint_path=""), "ScheduleStep.checkpoint_path"),
    (lambda d: d["steps"][2].update(name="leg_1"), r"duplicate step name\(s\) \['leg_1'\]"),
    (lambda d: d.update(on_failure="retry"), "Schedule.on_failure"),
    (lambda d: d.update(recovery_pause_s=-1), "Schedule.recovery_pause_s"),
    (lambda d: d.update(steps=[]), "steps must be a non-empty list"),
    (lambda d: d.update(step_defaults={"timeout": 1}), "step_defaults"),
    (lambda d: d.update(stepz=[]), r"unknown field\(s\) \['stepz'\]"),
    (lambda d: d.pop("name"), "missing field 'name'"),
])
def test_bad_schedule_yaml_names_the_field(tmp_path, change, match):
    with pytest.raises(ValueError, match=match):
        load_schedule(_edit(tmp_path / "bad.yaml", change))


def test_unreadable_schedule_files(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_schedule(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("steps: [\n")
    with pytest.raises(ValueError, match="schedule file .* is not readable YAML"):
        load_schedule(tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- leg_1\n")
    with pytest.raises(ValueError, match="list.yaml must be a mapping"):
        load_schedule(tmp_path / "list.yaml")
