"""The cell's cameras over training's worlds: each world's physics state is copied into one
MjData of a model that has the cameras (``config/cameras.yaml``, optionally at another
resolution) and rendered with the twin's cheap renderer.

Camera pose randomisation: per world, every camera's pose is offset by a position drawn
uniformly in +-``pos_m`` per axis and a rotation of at most ``rot_rad`` about a random axis,
both in the camera's mount frame (real extrinsics drift); ``draw`` gives a world new offsets.
"""
from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from omnireset_core.config import check_range
from omnireset_core.rotations import quat_mul, rotvec_to_quat
from omnireset_sim.assets import build_cell_model
from omnireset_sim.camera import cheap_renderer
from omnireset_sim.config import CamerasConfig, load_cameras_config
from omnireset_training.physics import CONTROL_SPEC, STATE_SPEC, CellPhysics


@dataclass(frozen=True)
class CameraJitter:
    pos_m: float = 0.0  # per-axis half range of the position offset
    rot_rad: float = 0.0  # largest rotation offset

    def __post_init__(self):
        check_range("CameraJitter.pos_m", self.pos_m, 0.0, 0.2)
        check_range("CameraJitter.rot_rad", self.rot_rad, 0.0, 0.5)


class WorldCameras:
    """RGB pictures (n_cameras, H, W, 3) uint8 of any world of ``physics``, cameras in ``names`` order."""

    def __init__(self, physics: CellPhysics, names: tuple[str, ...], image_hw: tuple[int, int],
                 jitter: CameraJitter = CameraJitter(), cameras: CamerasConfig | None = None, seed: int = 0):
        config = cameras or load_cameras_config()
        self.names, self.image_hw, self.jitter = tuple(names), tuple(image_hw), jitter
        resized = CamerasConfig(tuple(config[n].resized(*self.image_hw) for n in self.names))
        self.model = build_cell_model(physics.cell, resized, timestep_s=physics.timestep_s)
        m, pm = self.model, physics.model
        if (m.nq, m.nv, m.nu, m.nmocap) != (pm.nq, pm.nv, pm.nu, pm.nmocap):
            raise ValueError("the camera model's state layout differs from the physics model's")
        self.physics = physics
        self.data = mujoco.MjData(m)
        self.camera_ids = np.array([m.camera(n).id for n in self.names])
        self.nominal_pos = m.cam_pos[self.camera_ids].copy()
        self.nominal_quat = m.cam_quat[self.camera_ids].copy()
        n = physics.num_worlds
        self.pos = np.repeat(self.nominal_pos[None], n, axis=0)
        self.quat = np.repeat(self.nominal_quat[None], n, axis=0)
        self.rng = np.random.default_rng(seed)
        self.renderer = cheap_renderer(m, *self.image_hw)

    def draw(self, world: int) -> None:
        """New pose offsets for ``world``'s cameras."""
        j, k = self.jitter, len(self.names)
        self.pos[world] = self.nominal_pos + self.rng.uniform(-j.pos_m, j.pos_m, (k, 3))
        axis = self.rng.normal(size=(k, 3))
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
        angle = self.rng.uniform(0.0, j.rot_rad, (k, 1))
        self.quat[world] = quat_mul(rotvec_to_quat(axis * angle), self.nominal_quat)

    def render(self, world: int) -> np.ndarray:
        m, d, p = self.model, self.data, self.physics
        mujoco.mj_setState(m, d, p.state[world], STATE_SPEC)
        mujoco.mj_setState(m, d, p.control[world, 0], CONTROL_SPEC)
        mujoco.mj_kinematics(m, d)
        m.cam_pos[self.camera_ids] = self.pos[world]
        m.cam_quat[self.camera_ids] = self.quat[world]
        mujoco.mj_camlight(m, d)
        out = np.empty((len(self.names), *self.image_hw, 3), dtype=np.uint8)
        for i, cam in enumerate(self.camera_ids):
            self.renderer.update_scene(d, camera=int(cam))
            self.renderer.render(out=out[i])
        return out

    def close(self) -> None:
        self.renderer.close()
