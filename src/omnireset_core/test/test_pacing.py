"""Deadline arithmetic of the pacer, on a simulated clock (timing itself lives in benchmarks)."""
import pytest

from omnireset_core.control.pacing import DeadlinePacer


class SimClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        self.t += 1e-6  # every reading costs a microsecond, so spin-waits terminate
        return self.t

    def sleep(self, s):
        self.t += s


def test_deadlines_are_absolute_and_work_time_does_not_drift():
    clock = SimClock()
    pacer = DeadlinePacer(500.0, clock=clock, sleep=clock.sleep)
    t0 = pacer.start()
    wakes = []
    for k in range(1, 101):
        clock.t += 0.0013  # 1.3 ms of work each tick
        wakes.append(pacer.wait())
    for k, w in enumerate(wakes, start=1):
        assert w == pytest.approx(t0 + k * 0.002, abs=5e-6)
    assert pacer.overruns == 0


def test_overrun_is_counted_and_missed_deadlines_skipped():
    clock = SimClock()
    pacer = DeadlinePacer(500.0, clock=clock, sleep=clock.sleep)
    t0 = pacer.start()
    clock.t += 0.0055  # a 5.5 ms stall: deadlines at 2 and 4 ms are gone
    w = pacer.wait()
    assert pacer.overruns == 1
    assert w == pytest.approx(t0 + 0.006, abs=5e-6)
    clock.t += 0.001
    assert pacer.wait() == pytest.approx(t0 + 0.008, abs=5e-6)
    assert pacer.overruns == 1


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match="rate_hz"):
        DeadlinePacer(0.0)
