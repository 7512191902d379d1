"""Image sources of the camera node: the twin rendered at the controller's published state, or
RealSense cameras (live or recorded) read on one thread each."""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any
from pathlib import Path

import numpy as np

from omnireset_core.interfaces import CameraIntrinsics, Frame, HardwareError


class SimSource:
    """A TwinCell of its own (never stepped): joint and object states are written in, then rendered.

    ``render()`` returns the frames of the newest joint state not rendered yet, and that state's
    message stamp, so an image is exactly as old as the state it shows.
    """

    def __init__(self, names, cell_yaml: Path, cameras):  # cameras: omnireset_sim.config.CamerasConfig
        from omnireset_core.kinematics.robotiq import FINGER_JOINT_NAMES
        from omnireset_sim.assets.ur_arm import JOINT_NAMES
        from omnireset_sim.camera import TwinCamera
        from omnireset_sim.config import load_cell_config
        from omnireset_sim.twin import TwinCell

        self.cell = TwinCell(load_cell_config(cell_yaml), cameras)
        self.cameras = {n: TwinCamera(self.cell, n, background=False) for n in names}
        m = self.cell.model
        self._qpos_adr = {n: int(m.joint(n).qposadr[0]) for n in (*JOINT_NAMES, *FINGER_JOINT_NAMES)}
        self._lock = threading.Lock()
        self._joint_state: tuple[Any, dict[str, float]] | None = None  # (stamp msg, {joint name: position})
        self._objects: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._rendered_stamp = None
        self.state_received_s: float | None = None  # monotonic arrival of the newest joint state

    def intrinsics(self, name: str) -> CameraIntrinsics:
        return self.cameras[name].intrinsics

    def on_joint_state(self, stamp, names, positions) -> None:
        with self._lock:
            self._joint_state = (stamp, dict(zip(names, positions)))
            self.state_received_s = time.monotonic()

    def on_object_pose(self, name: str, pos_b_m, quat_b_wxyz) -> None:
        with self._lock:
            self._objects[name] = (pos_b_m, quat_b_wxyz)

    def render(self):
        """(stamp, {camera: rgb}) of a state not rendered before, or None if there is none."""
        with self._lock:
            state, objects = self._joint_state, dict(self._objects)
        if state is None or state[0] == self._rendered_stamp:
            return None
        stamp, positions = state
        cell = self.cell
        with cell.lock:
            for joint, value in positions.items():
                adr = self._qpos_adr.get(joint)
                if adr is not None:
                    cell.data.qpos[adr] = value
            for name, (pos, quat) in objects.items():
                cell.set_object_pose(name, pos, quat)  # also runs mj_forward
            cell.forward()
        frames = {n: cam.render().rgb for n, cam in self.cameras.items()}
        self._rendered_stamp = stamp
        return stamp, frames

    def close(self) -> None:
        for cam in self.cameras.values():
            cam.disconnect()


class RealSource:
    """RealSense cameras by serial from robot.yaml (or a recording each); newest frame per camera."""

    def __init__(self, names, robot_yaml: Path, playback_files: dict[str, str], on_error):
        from omnireset_drivers import RealSenseCamera, load_hardware_config

        hw = load_hardware_config(robot_yaml)
        self.cameras = {}
        self._on_error = on_error
        self._latest: dict[str, Frame] = {}
        self._sent: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads = []
        try:
            for name in names:
                cfg = hw.camera(name)
                if playback_files.get(name):
                    cfg = dataclasses.replace(cfg, playback_file=playback_files[name])
                cam = RealSenseCamera(cfg)
                cam.connect()
                self.cameras[name] = cam
        except BaseException:
            self.close()
            raise
        for name, cam in self.cameras.items():
            thread = threading.Thread(target=self._read, args=(name, cam), name=f"realsense-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def device_intrinsics(self, name: str) -> CameraIntrinsics:
        return self.cameras[name].intrinsics

    def _read(self, name: str, cam) -> None:
        while not self._stop.is_set():
            try:
                self._latest[name] = cam.read()
            except HardwareError as exc:
                self._on_error(str(exc))
                self._stop.wait(0.5)

    def new_frames(self) -> dict[str, Frame]:
        """Each camera's newest frame not returned before."""
        out = {}
        for name, frame in list(self._latest.items()):
            if self._sent.get(name) != frame.stamp_s:
                self._sent[name] = frame.stamp_s
                out[name] = frame
        return out

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2.0)
        for cam in self.cameras.values():
            cam.disconnect()
