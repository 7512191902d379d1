"""Staleness watchdog and NaN/inf guard."""
import numpy as np
import pytest

from omnireset_core.supervision import NonFiniteGuard, StalenessWatchdog, non_finite_problem


def make_watchdog():
    return StalenessWatchdog({"joint_states": 0.05, "wrist_camera": 0.3, "object_pose": 0.3})


def test_reports_never_received_and_stale_inputs_by_name_and_amount():
    wd = make_watchdog()
    assert [p.name for p in wd.check(10.0)] == ["joint_states", "wrist_camera", "object_pose"]
    assert all(p.age_s is None and "never received" in str(p) for p in wd.check(10.0))
    assert wd.update("joint_states", 10.0) and wd.update("wrist_camera", 9.9) and wd.update("object_pose", 9.5)
    (problem,) = wd.check(10.02)
    assert problem.name == "object_pose" and problem.age_s == pytest.approx(0.52)
    assert "'object_pose' is stale: 0.520 s old, limit 0.300 s (0.220 s over)" == problem.message
    stale = {p.name for p in wd.check(10.15)}
    assert stale == {"joint_states", "object_pose"}


def test_keeps_the_newest_stamp_and_rejects_bad_ones():
    wd = make_watchdog()
    assert wd.update("joint_states", 5.0)
    assert not wd.update("joint_states", 4.0)  # older than what it has
    assert not wd.update("joint_states", float("nan"))
    assert wd.update("joint_states", 5.0)  # the same stamp again is fine
    assert wd.last_stamp_s("joint_states") == 5.0
    with pytest.raises(ValueError, match="unknown input 'joints'"):
        wd.update("joints", 5.0)
    with pytest.raises(ValueError, match="now_s"):
        wd.check(float("inf"))


def test_future_stamps_beyond_the_limit_are_reported():
    wd = StalenessWatchdog({"target": 0.3})
    wd.update("target", 11.0)
    (problem,) = wd.check(10.0)
    assert problem.age_s == pytest.approx(-1.0) and "1.000 s in the future" in problem.message
    assert wd.check(10.9) == []


@pytest.mark.parametrize("config,match", [
    ({"wrist_camera": 0.0}, r"max_age_s\['wrist_camera'\]"),
    ({"wrist_camera": "0.3"}, r"max_age_s\['wrist_camera'\]"),
    ({}, "non-empty mapping"),
    ({"": 0.3}, "non-empty strings"),
])
def test_bad_watchdog_config_names_the_input(config, match):
    with pytest.raises(ValueError, match=match):
        StalenessWatchdog(config)


def test_non_finite_guard_names_key_and_index():
    guard = NonFiniteGuard(required=("joint_pos", "action"))
    obs = {"joint_pos": np.zeros(6), "tcp_pose": np.array([[0.0, np.nan], [np.inf, 1.0]]), "gripper": 0.5}
    problems = guard.check(obs)
    assert problems == [
        "'action' missing",
        "'tcp_pose' has 2 non-finite of 4 value(s), first nan at index (0, 1)",
    ]
    assert non_finite_problem("gripper", float("-inf")) == "'gripper' has 1 non-finite of 1 value(s), first -inf"
    assert "not numeric" in non_finite_problem("name", np.array(["a"]))
    assert non_finite_problem("flags", np.array([True, False])) is None
    with pytest.raises(ValueError, match="'tcp_pose' has 2 non-finite"):
        guard.require(obs)
    guard.require({"joint_pos": [0.0] * 6, "action": np.ones(7)})
    assert guard.counts == {"action": 2, "tcp_pose": 2}
