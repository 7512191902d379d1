"""Config files load into validated dataclasses; bad values raise ValueError naming the field."""
import copy

import pytest
import yaml

from omnireset_sim.assets.cell import build_cell_xml
from omnireset_sim.config import (
    CameraConfig,
    CellConfig,
    cameras_config_from_dict,
    cell_config_from_dict,
    load_cameras_config,
    load_cell_config,
)


@pytest.fixture(scope="module")
def cell_dict(config_dir):
    return yaml.safe_load((config_dir / "cell.yaml").read_text())


@pytest.fixture(scope="module")
def cameras_dict(config_dir):
    return yaml.safe_load((config_dir / "cameras.yaml").read_text())


def test_the_twin_places_the_parts_at_the_peg_tasks_nominal_poses():
    """The task's nominal poses (the centre of its start-state spread, used by training) and the
    cell's initial poses (where the twin puts the parts) are separate settings; for the shipped
    peg task and cell they are the same places."""
    from omnireset_core.tasks import load_task

    task, cell = load_task("peg"), CellConfig()
    for nominal, placed in ((task.insertive_nominal_b, cell.peg.initial_pose_b), (task.receptive_nominal_b, cell.hole.pose_b)):
        assert tuple(nominal.pos_m) == tuple(placed.pos_m) and tuple(nominal.quat_wxyz) == tuple(placed.quat_wxyz)


def test_shipped_files_load(config_dir):
    cell = load_cell_config(config_dir / "cell.yaml")
    assert cell == CellConfig()  # the file documents the defaults
    cams = load_cameras_config(config_dir / "cameras.yaml")
    assert cams.names == ("front", "side", "wrist")
    assert cams["wrist"].mount == "flange"
    for cam in cams.cameras:
        assert (cam.width_px, cam.height_px) == (224, 224)
    assert "<camera name=\"wrist\"" in build_cell_xml(cell, cams)


@pytest.mark.parametrize(
    "path, value, field",
    [
        (("gripper", "grip_force_N"), 500.0, "grip_force_N"),
        (("gripper", "finger_speed_mps"), -1.0, "finger_speed_mps"),
        (("physics", "timestep_s"), 0.0, "timestep_s"),
        (("physics", "control_period_s"), 0.003, "control_period_s"),
        (("physics", "integrator"), "leapfrog", "integrator"),
        (("arm", "armature_kgm2"), [0.1, 0.1], "armature_kgm2"),
        (("arm", "hold_kp_Nm_per_rad"), [1, 1, 1, 1, 1, "x"], "hold_kp_Nm_per_rad"),
        (("peg", "mass_kg"), 5.0, "mass_kg"),
        (("peg", "initial_pose_b", "quat_wxyz"), [1.0, 1.0, 0.0, 0.0], "quat_wxyz"),
        (("hole", "clearance_m"), 0.05, "clearance_m"),
        (("hole", "depth_m"), float("nan"), "depth_m"),
        (("physics", "not_a_field"), 1.0, "not_a_field"),
    ],
)
def test_bad_cell_values_name_the_field(cell_dict, path, value, field):
    data = copy.deepcopy(cell_dict)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError, match=field):
        cell_config_from_dict(data)


def test_inconsistent_cell_is_rejected(cell_dict):
    data = copy.deepcopy(cell_dict)
    data["peg"]["length_m"] = 0.05  # shorter than hole depth + 30 mm: cannot be held when inserted
    with pytest.raises(ValueError, match="length_m"):
        cell_config_from_dict(data)


@pytest.mark.parametrize(
    "key, value, field",
    [
        ("fy_px", 0.0, "fy_px"),
        ("cx_px", 500.0, "cx_px"),
        ("width_px", 224.5, "width_px"),
        ("mount", "elbow", "mount"),
        ("pos_m", [0.0, 0.0], "pos_m"),
        ("quat_wxyz", [0.0, 0.0, 0.0, 0.0], "quat_wxyz"),
        ("rate_hz", 0.0, "rate_hz"),
        ("zoom", 2.0, "zoom"),
    ],
)
def test_bad_camera_values_name_the_field(cameras_dict, key, value, field):
    data = copy.deepcopy(cameras_dict)
    cam = data["cameras"]["front"]
    for section in ("intrinsics", "extrinsics"):
        if key in cam[section]:
            cam[section][key] = value
            break
    else:
        cam[key] = value
    with pytest.raises(ValueError, match=field):
        cameras_config_from_dict(data)


def test_missing_file_and_fovy(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_cell_config(tmp_path / "nope.yaml")
    cam = CameraConfig("c", "world", 224, 224, 112.0, 112.0, 112.0, 112.0, (0, 0, 1), (1, 0, 0, 0))
    assert cam.fovy_deg == pytest.approx(90.0)
