import math

import numpy as np
import pytest
import yaml

from omnireset_core.config import check_int, from_dict, load_yaml
from omnireset_core.control.safety import SafetyLimits
from omnireset_core.rotations import rotvec_to_quat
from omnireset_core.tasks import Pose, SuccessThresholds, assembly_error, available_tasks, is_assembled, load_task


def test_peg_task_loads_with_both_variants():
    assert "peg" in available_tasks()
    task = load_task("peg")
    assert task.insertive_object == "peg" and task.receptive_object == "peg_hole"
    assert set(task.variants) == {"easy", "hard"}
    with pytest.raises(ValueError, match="no variant 'medium'"):
        task.variant("medium")


def test_success_ignores_yaw_but_not_tilt_or_offset():
    goal = (Pose(),)
    thr = SuccessThresholds(0.0025, 0.025)
    yawed = rotvec_to_quat(np.array([0.0, 0.0, 1.0]))
    tilted = rotvec_to_quat(np.array([0.03, 0.0, 0.0]))
    assert is_assembled(np.array([0.001, 0.001, 0.0]), yawed, goal, thr)
    assert not is_assembled(np.zeros(3), tilted, goal, thr)
    assert not is_assembled(np.array([0.0, 0.0, 0.003]), np.array([1.0, 0, 0, 0]), goal, thr)
    assert is_assembled(np.array([0.0, 0.0, 0.003]), np.array([1.0, 0, 0, 0]), goal, thr, scale=1.5)


def test_tilt_sums_roll_and_pitch_and_torch_agrees():
    torch = pytest.importorskip("torch")
    q = rotvec_to_quat(np.array([0.01, 0.02, 0.0]))
    _, tilt = assembly_error(np.zeros(3), q, Pose())
    assert math.isclose(float(tilt), 0.03, rel_tol=1e-3)
    pos_t, tilt_t = assembly_error(torch.zeros(2, 3), torch.as_tensor(np.stack([q, q])), Pose())
    np.testing.assert_allclose(tilt_t.numpy(), [tilt, tilt], atol=1e-12)


def test_unknown_task_and_bad_values_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        load_task("nope")
    data = yaml.safe_load(load_task.__globals__["TASK_DIR"].joinpath("peg.yaml").read_text())
    data["success"]["max_tilt_rad"] = -1
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="max_tilt_rad"):
        load_task(bad)


def test_config_loader_rejects_unknown_fields_and_bad_values(tmp_path):
    with pytest.raises(ValueError, match="unknown field.*max_target_agee_s"):
        from_dict(SafetyLimits, {"max_target_agee_s": 0.1})
    f = tmp_path / "limits.yaml"
    f.write_text("safety:\n  max_target_age_s: -0.1\n")
    with pytest.raises(ValueError, match="max_target_age_s"):
        load_yaml(SafetyLimits, f, section="safety")
    with pytest.raises(ValueError, match="not found"):
        load_yaml(SafetyLimits, tmp_path / "missing.yaml")


@pytest.mark.parametrize("value", [True, 2.0, 1.5, "3", None, -1, 11])
def test_check_int_refuses_bools_floats_and_out_of_range_values_by_name(value):
    with pytest.raises(ValueError, match=r"^Arm\.delay must be an integer in \[0, 10\], got "):
        check_int("Arm.delay", value, 0, 10)


def test_check_int_takes_integers_within_its_bounds():
    check_int("n", 0, 0, 10)
    check_int("n", 10, 0, 10)
    check_int("n", 10**9, 1)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        check_int("n", 0, 1)
