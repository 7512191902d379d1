"""Stuck detection on synthetic joint traces: regular and irregular 10 Hz / 500 Hz sampling."""
import math

import numpy as np
import pytest

from omnireset_core.supervision import StuckConfig, StuckDetector, SupervisorMode

Q0 = np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0])


def sample_times(duration_s, rate_hz, irregular=False, seed=0):
    """Regular stamps k / rate, or jittered ones (each period 0.5..1.5 x nominal, summed)."""
    if not irregular:
        return np.arange(int(round(duration_s * rate_hz)) + 1) / rate_hz
    rng = np.random.default_rng(seed)
    periods = rng.uniform(0.5, 1.5, size=int(duration_s * rate_hz * 2)) / rate_hz
    t = np.concatenate([[0.0], np.cumsum(periods)])
    return t[t <= duration_s]


def moving_then_stalled(t, stall_s=3.0, seed=1):
    """Sinusoidal motion until ``stall_s``, then held still with 0.1 mrad of sensor noise."""
    rng = np.random.default_rng(seed)
    phase = np.minimum(t, stall_s)[:, None] * np.linspace(0.5, 1.5, 6)
    q = Q0 + 0.3 * np.sin(phase)
    still = t >= stall_s
    q[still] += rng.uniform(-5e-5, 5e-5, size=(still.sum(), 6))
    return q


def run(detector, t, q):
    return [detector.update(float(ti), qi) for ti, qi in zip(t, q)]


def triggers(decisions):
    """Stamps at which a release started."""
    return [d.stamp_s for prev, d in zip([None] + decisions, decisions)
            if d.mode == SupervisorMode.RELEASING and (prev is None or prev.mode != SupervisorMode.RELEASING)]


CASES = [(10, False), (500, False), (10, True), (500, True)]


@pytest.mark.parametrize("rate_hz,irregular", CASES)
def test_stall_triggers_once_window_is_still_and_releases_for_one_second(rate_hz, irregular):
    t = sample_times(8.0, rate_hz, irregular)
    decisions = run(det := StuckDetector(), t, moving_then_stalled(t))
    max_period_s = 1.5 / rate_hz
    (t0,) = triggers(decisions)  # the next could come no sooner than t0 + release + settle + window
    # The window (newest samples covering 2 s) must lie in the still part, from 3 s on; at 500 Hz
    # the last moving samples (under 0.3 rad/s) are within 2 mrad of the stall, so up to 7 ms sooner.
    assert 5.0 - 0.007 <= t0 <= 5.0 + max_period_s
    assert "stuck" in decisions[list(t).index(t0)].reason
    for d in decisions:
        in_release = t0 <= d.stamp_s < t0 + 1.0
        assert d.override_gripper_open == in_release == (d.mode == SupervisorMode.RELEASING)
    report = det.report()
    assert report.interventions == 1 and report.last_trigger_s == t0
    end_s = min(s for s in t if s >= t0 + 1.0)  # the first sample after the release hands back
    assert math.isclose(report.total_override_s, end_s - t0)
    if not irregular:
        assert sum(d.override_gripper_open for d in decisions) == rate_hz  # 1 s of samples
        assert math.isclose(report.total_override_s, 1.0)


@pytest.mark.parametrize("rate_hz,irregular", CASES)
def test_slow_drift_just_above_threshold_is_not_stuck_just_below_is(rate_hz, irregular):
    t = sample_times(8.0, rate_hz, irregular)
    for rate_radps, expect_stuck in ((0.00105, False), (0.0009, True)):
        q = np.tile(Q0, (t.size, 1))
        q[:, 2] += rate_radps * t  # 2.1 mrad vs 1.8 mrad over a 2 s window
        decisions = run(StuckDetector(), t, q)
        assert bool(triggers(decisions)) == expect_stuck, rate_radps
        if not expect_stuck:
            full = [d for d in decisions if d.displacement_rad is not None]
            assert full and min(d.displacement_rad for d in full) >= 0.0021 - 1e-9


def test_noise_below_threshold_is_stuck_noise_above_is_not():
    t = sample_times(5.0, 500)
    rng = np.random.default_rng(2)
    small = Q0 + rng.uniform(-0.0009, 0.0009, size=(t.size, 6))  # peak-to-peak < 1.8 mrad
    assert triggers(run(StuckDetector(), t, small)) == [2.0]
    large = Q0 + rng.normal(scale=0.001, size=(t.size, 6))
    assert triggers(run(StuckDetector(), t, large)) == []


def test_repeated_stall_counts_each_release_after_settling():
    t = sample_times(20.0, 10)
    det = StuckDetector(StuckConfig(settle_s=1.0))
    decisions = run(det, t, np.tile(Q0, (t.size, 1)))
    # Trigger, 1 s open, 1 s settle, then a fresh 2 s window: every 4 s.
    np.testing.assert_allclose(triggers(decisions), [2.0, 6.0, 10.0, 14.0, 18.0])
    settling = [d for d in decisions if 3.0 <= d.stamp_s < 4.0]
    assert all(not d.override_gripper_open and "settling" in d.reason for d in settling)
    report = det.report()
    assert report.interventions == 5 and report.last_trigger_s == 18.0
    assert math.isclose(report.total_override_s, 5.0)


def test_duplicate_backward_and_nan_stamps_are_ignored_and_counted():
    det = StuckDetector()
    for k in range(21):
        det.update(k / 10, Q0)
        if k == 5:
            d = det.update(0.5, Q0 + 1.0)  # duplicate stamp: its (moving) sample must not count
            assert "ignored" in d.reason and d.stamp_s == 0.5
            det.update(0.2, Q0 - 1.0)  # going back
            det.update(float("nan"), Q0 + 1.0)
    assert det.report().interventions == 1 and det.report().last_trigger_s == 2.0
    assert det.report().rejected_samples == 3


def test_nan_sample_is_not_stuck_and_restarts_the_window():
    t = sample_times(6.0, 10)
    q = np.tile(Q0, (t.size, 1))
    q[15, 3] = np.nan  # at 1.5 s
    decisions = run(det := StuckDetector(), t, q)
    assert decisions[15].mode == SupervisorMode.PASS_THROUGH and "non-finite" in decisions[15].reason
    assert triggers(decisions) == [3.6]  # a full window of finite samples: 1.6 .. 3.6 s
    assert det.report().nonfinite_samples == 1
    # NaN during a release: the release still runs its second.
    q[40] = np.inf  # at 4.0 s, inside the 3.6 .. 4.6 s release
    decisions = run(StuckDetector(), t, q)
    assert decisions[40].override_gripper_open and not decisions[46].override_gripper_open


def test_sampling_gap_restarts_the_window():
    t = np.array([s for s in sample_times(5.5, 10) if not 1.0 < s < 1.8])  # 0.8 s without samples
    decisions = run(StuckDetector(StuckConfig(max_gap_s=0.5)), t, np.tile(Q0, (t.size, 1)))
    assert triggers(decisions) == [3.8]
    decisions = run(StuckDetector(StuckConfig(max_gap_s=1.0)), t, np.tile(Q0, (t.size, 1)))
    assert triggers(decisions) == [2.0]


def test_reset_counts_a_cut_short_release_and_clears_the_window():
    det = StuckDetector()
    for k in range(26):
        det.update(k / 10, Q0)  # triggers at 2.0, releasing at 2.5
    det.reset()
    assert math.isclose(det.report().total_override_s, 0.5)
    d = det.update(2.6, Q0)
    assert d.mode == SupervisorMode.PASS_THROUGH and "filling" in d.reason
    assert det.report().interventions == 1


def test_joint_count_must_not_change():
    det = StuckDetector()
    det.update(0.0, Q0)
    with pytest.raises(ValueError, match="7 joints"):
        det.update(0.1, np.zeros(7))
    with pytest.raises(ValueError, match="1-D"):
        det.update(0.2, np.zeros((2, 6)))


@pytest.mark.parametrize("field,value", [
    ("window_s", 0.0), ("threshold_rad", -0.002), ("release_s", float("nan")),
    ("settle_s", -1.0), ("max_gap_s", 0.0), ("max_gap_s", 3.0), ("window_s", "2"),
])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"StuckConfig.{field}"):
        StuckConfig(**{field: value})
