import math

import numpy as np
import pytest

from omnireset_core.control.chirp import ChirpConfig, chirp_offsets, chirp_targets
from omnireset_core.rotations import quat_error_rotvec


def test_the_chirp_starts_and_ends_at_rest_at_the_centre():
    cfg = ChirpConfig()
    t = np.arange(0.0, cfg.duration_s + 1e-9, 0.002)
    offsets = chirp_offsets(t, cfg)
    assert offsets.shape == (len(t), 6)
    np.testing.assert_allclose(offsets[[0, -1]], 0.0, atol=1e-12)
    speed = np.abs(np.diff(offsets, axis=0)) / 0.002
    assert speed[0].max() < 1e-2 and speed[-1].max() < 1e-2  # faded: no jump in target speed
    np.testing.assert_allclose(chirp_offsets([-1.0, cfg.duration_s + 1.0], cfg), 0.0, atol=1e-12)


def test_amplitude_is_the_configured_one_until_the_speed_cap_binds():
    cfg = ChirpConfig()
    t = np.arange(0.0, cfg.duration_s, 0.001)
    offsets = chirp_offsets(t, cfg)
    early = (t > cfg.fade_s) & (t < 2.0)  # 0.1 -> 0.8 Hz: the speed cap does not bind below 0.4 Hz
    assert np.abs(offsets[early, :3]).max() == pytest.approx(cfg.amplitude_m, rel=1e-2)
    # Each axis is a sinusoid of amplitude A(t) <= max speed / omega(t): its speed amplitude is capped.
    omega = 2 * math.pi * (cfg.f_start_hz + (cfg.f_end_hz - cfg.f_start_hz) * t / cfg.duration_s)
    assert np.all(np.abs(offsets[:, :3]) <= cfg.max_speed_mps / omega[:, None] + 1e-12)
    assert np.all(np.abs(offsets[:, 3:]) <= cfg.max_speed_radps / omega[:, None] + 1e-12)
    late = t > cfg.duration_s - 2.0
    assert np.abs(offsets[late, :3]).max() > 0.5 * cfg.max_speed_mps / omega[late].max()  # and still excites


def test_targets_move_the_centre_pose_by_the_offsets():
    cfg = ChirpConfig(duration_s=2.0, fade_s=0.2)
    t = np.linspace(0.0, 2.0, 50)
    centre_pos, centre_quat = np.array([0.45, 0.0, 0.25]), np.array([0.0, 1.0, 0.0, 0.0])
    pos, quat = chirp_targets(t, centre_pos, centre_quat, cfg)
    offsets = chirp_offsets(t, cfg)
    np.testing.assert_allclose(pos - centre_pos, offsets[:, :3], atol=1e-12)
    np.testing.assert_allclose(quat_error_rotvec(quat, np.broadcast_to(centre_quat, quat.shape)), offsets[:, 3:], atol=1e-9)


@pytest.mark.parametrize("field,value", [("duration_s", 0.0), ("f_end_hz", 0.05), ("amplitude_m", 0.5),
                                          ("fade_s", 5.0)])
def test_invalid_chirps_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=f"ChirpConfig.{field}"):
        ChirpConfig(**{field: value})
