from pathlib import Path

import pytest
import yaml

from omnireset_drivers.hardware_config import hardware_config_from_dict, load_hardware_config

ROBOT_YAML = Path(__file__).resolve().parents[3] / "config" / "robot.yaml"


@pytest.mark.skipif(not ROBOT_YAML.is_file(), reason="workspace config/robot.yaml not present")
def test_workspace_robot_yaml_loads_and_every_field_has_a_comment():
    hw = load_hardware_config(ROBOT_YAML)
    assert [c.name for c in hw.cameras] == ["front", "side", "wrist"]
    assert all(c.serial for c in hw.cameras)
    assert hw.robot.friction_compensation is False
    assert hw.gripper.port == 63352
    assert hw.camera("side").stream_fps == hw.camera("front").stream_fps
    assert len({c.serial for c in hw.cameras}) == 3
    lines = [line.strip() for line in ROBOT_YAML.read_text().splitlines() if line.strip()]
    for previous, line in zip(lines, lines[1:]):
        key, _, value = line.partition(":")
        if not line.startswith(("#", "<<")) and value.strip() and not value.strip().startswith("&"):
            assert previous.startswith("#"), f"field '{key}' in robot.yaml has no comment line"
            assert "[" in previous, f"the comment for '{key}' in robot.yaml gives no unit"


def test_gripper_host_defaults_to_robot_ip_and_cameras_take_their_key_as_name():
    hw = hardware_config_from_dict(
        {"robot": {"robot_ip": "10.0.0.5"}, "cameras": {"wrist": {"serial": "123"}}}
    )
    assert hw.gripper.host == "10.0.0.5"
    assert hw.camera("wrist").serial == "123"
    with pytest.raises(ValueError, match="no camera 'front'"):
        hw.camera("front")


@pytest.mark.parametrize(
    "data, match",
    [
        ({"robot": {"robot_ip": "x", "payload_kg": 1}}, "unknown field"),
        ({"cameras": {"front": {"serial": 123456}}}, "must be quoted"),
        ({"grippers": {}}, "unknown section"),
        ({"gripper": {"force": 300}}, "force"),
    ],
)
def test_bad_config_is_rejected_by_name(data, match):
    with pytest.raises(ValueError, match=match):
        hardware_config_from_dict(data)


def test_unquoted_serial_in_yaml_is_caught(tmp_path):
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump({"cameras": {"front": {"serial": 12345}}}))
    with pytest.raises(ValueError, match="quoted"):
        load_hardware_config(path)
