"""Cartesian chirp excitation for system identification, one TCP target per control tick.

Each of the six task-space axes (x, y, z | rx, ry, rz in frame b) follows a linear chirp from
``f_start_hz`` to ``f_end_hz`` over ``duration_s``, phase-shifted per axis so that the joints are
not excited in lock-step. The amplitude is the configured one (0.10 m / 0.25 rad by default),
capped so that each sinusoid's speed amplitude (A * 2 pi f) stays within ``max_speed_mps`` /
``max_speed_radps``, and faded in and out over ``fade_s`` so the target starts and ends at the centre pose at rest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from omnireset_core.config import check_positive, check_range
from omnireset_core.rotations import quat_mul, rotvec_to_quat


@dataclass(frozen=True)
class ChirpConfig:
    duration_s: float = 8.0
    f_start_hz: float = 0.1
    f_end_hz: float = 3.0
    amplitude_m: float = 0.10
    amplitude_rad: float = 0.25
    max_speed_mps: float = 0.25  # target speed caps: the high-frequency end stays within the arm's limits
    max_speed_radps: float = 1.0
    fade_s: float = 0.5

    def __post_init__(self):
        check_positive("ChirpConfig.duration_s", self.duration_s)
        check_positive("ChirpConfig.f_start_hz", self.f_start_hz)
        check_range("ChirpConfig.f_end_hz", self.f_end_hz, self.f_start_hz, 50.0)
        check_range("ChirpConfig.amplitude_m", self.amplitude_m, 0.0, 0.2)
        check_range("ChirpConfig.amplitude_rad", self.amplitude_rad, 0.0, 0.5)
        check_positive("ChirpConfig.max_speed_mps", self.max_speed_mps)
        check_positive("ChirpConfig.max_speed_radps", self.max_speed_radps)
        check_range("ChirpConfig.fade_s", self.fade_s, 0.0, 0.5 * self.duration_s)


def chirp_offsets(t_s, cfg: ChirpConfig = ChirpConfig()) -> np.ndarray:
    """(N, 6) offsets from the centre pose at times ``t_s`` (N,) s: metres, then a rotation vector
    in rad; zero outside [0, duration_s]."""
    t = np.clip(np.asarray(t_s, dtype=float), 0.0, cfg.duration_s)
    rate = (cfg.f_end_hz - cfg.f_start_hz) / cfg.duration_s
    freq_hz = cfg.f_start_hz + rate * t
    phase = 2.0 * math.pi * (cfg.f_start_hz * t + 0.5 * rate * t * t)
    envelope = np.ones_like(t)
    if cfg.fade_s > 0:
        envelope = np.minimum(np.minimum(t, cfg.duration_s - t) / cfg.fade_s, 1.0)
        envelope = 0.5 - 0.5 * np.cos(math.pi * envelope)  # smooth: no step in target speed
    omega = 2.0 * math.pi * freq_hz
    amp_pos = np.minimum(cfg.amplitude_m, cfg.max_speed_mps / omega)
    amp_rot = np.minimum(cfg.amplitude_rad, cfg.max_speed_radps / omega)
    out = np.empty(t.shape + (6,))
    for axis in range(6):
        amp = amp_pos if axis < 3 else amp_rot
        out[..., axis] = envelope * amp * np.sin(phase + axis * math.pi / 3.0)
    return out


def chirp_targets(t_s, centre_pos_b_m, centre_quat_b_wxyz, cfg: ChirpConfig = ChirpConfig()):
    """TCP targets (N, 3), (N, 4) in frame b: the centre pose moved by ``chirp_offsets`` (the
    rotation left-multiplied, in frame b, as the policy's actions are)."""
    offsets = chirp_offsets(t_s, cfg)
    pos = np.asarray(centre_pos_b_m, dtype=float) + offsets[..., :3]
    quat = quat_mul(rotvec_to_quat(offsets[..., 3:]), np.broadcast_to(centre_quat_b_wxyz, offsets.shape[:-1] + (4,)))
    return pos, quat
