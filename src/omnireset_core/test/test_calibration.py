"""UR calibration files: the joint-origin chain of ur_description's default UR5e/UR7e kinematics
reproduces this project's DH forward kinematics, and bad files are named."""
from pathlib import Path

import numpy as np
import pytest

from omnireset_core.kinematics.calibration import load_ur_calibration
from omnireset_core.kinematics.ur import UR7E, URKinematics

DEFAULT = Path(__file__).parent / "data" / "ur5e_default_kinematics.yaml"


def test_the_published_default_chain_equals_the_dh_table():
    origins = load_ur_calibration(DEFAULT)
    assert origins.hash == "calib_12788084448423163542"
    q = np.random.default_rng(1).uniform(-np.pi, np.pi, (200, 6))
    want = URKinematics(UR7E).frames(q)[:, 6]
    np.testing.assert_allclose(origins.tool0(q), want, atol=1e-8)


def test_a_changed_origin_moves_the_tool(tmp_path):
    path = tmp_path / "changed.yaml"
    path.write_text(DEFAULT.read_text().replace("x: -0.425,", "x: -0.427,"))
    moved = load_ur_calibration(path).tool0(np.zeros(6))
    assert np.linalg.norm(moved[:3, 3] - load_ur_calibration(DEFAULT).tool0(np.zeros(6))[:3, 3]) == pytest.approx(0.002)


def test_bad_files_are_named(tmp_path):
    (tmp_path / "a.yaml").write_text("kinematics:\n  shoulder: {x: 0, y: 0, z: 0.1625, roll: 0, pitch: 0}\n")
    with pytest.raises(ValueError, match=r"kinematics\.shoulder needs numbers for \['yaw'\]"):
        load_ur_calibration(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("something: 1\n")
    with pytest.raises(ValueError, match="no 'kinematics:' mapping"):
        load_ur_calibration(tmp_path / "b.yaml")
    with pytest.raises(ValueError, match="not found"):
        load_ur_calibration(tmp_path / "none.yaml")
