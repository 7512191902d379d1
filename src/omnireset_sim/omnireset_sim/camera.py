"""Offscreen RGB cameras of the twin that never hold up the physics thread.

Each render copies the few arrays a picture depends on (qpos, mocap poses) under the cell's lock
into a private MjData, runs forward kinematics there and renders outside the lock. A camera can
render on demand (``render()``) or on its own background thread at ``rate_hz`` (``read()`` then
returns the latest frame). Each thread owns its GL context (EGL or OSMesa via MUJOCO_GL).
Render options are cheap: no shadows, reflections, skybox or multisampling.
"""
from __future__ import annotations

import threading
import time
from collections import deque

import mujoco
import numpy as np

from omnireset_core.control.pacing import DeadlinePacer
from omnireset_core.interfaces import Camera, CameraIntrinsics, Frame, HardwareError
from omnireset_sim.config import CameraConfig
from omnireset_sim.twin import TwinCell

_CHEAP_FLAGS_OFF = (
    mujoco.mjtRndFlag.mjRND_SHADOW,
    mujoco.mjtRndFlag.mjRND_REFLECTION,
    mujoco.mjtRndFlag.mjRND_SKYBOX,
    mujoco.mjtRndFlag.mjRND_FOG,
    mujoco.mjtRndFlag.mjRND_HAZE,
)


def cheap_renderer(model: mujoco.MjModel, height_px: int, width_px: int) -> mujoco.Renderer:
    """An offscreen renderer with the expensive effects off (the twin's cameras and training's
    camera rollouts render the same pictures)."""
    renderer = mujoco.Renderer(model, height=height_px, width=width_px)
    for flag in _CHEAP_FLAGS_OFF:
        renderer.scene.flags[flag] = False
    return renderer


class _CameraRenderer:
    """One GL context + private MjData; use from a single thread."""

    def __init__(self, cell: TwinCell, config: CameraConfig):
        self.cell, self.config = cell, config
        self.data = mujoco.MjData(cell.model)
        self.renderer = cheap_renderer(cell.model, config.height_px, config.width_px)
        self.option = mujoco.MjvOption()
        self.camera_id = cell.model.camera(config.name).id

    def render(self) -> tuple[float, float, np.ndarray]:
        """(monotonic stamp, sim time, rgb) of the cell's state at the moment of the call."""
        stamp = time.monotonic()
        sim_time, qpos, mocap_pos, mocap_quat = self.cell.snapshot()
        m, d = self.cell.model, self.data
        d.qpos[:] = qpos
        d.mocap_pos[:] = mocap_pos
        d.mocap_quat[:] = mocap_quat
        d.time = sim_time
        mujoco.mj_kinematics(m, d)
        mujoco.mj_camlight(m, d)
        self.renderer.update_scene(d, camera=self.camera_id, scene_option=self.option)
        return stamp, sim_time, self.renderer.render()

    def close(self) -> None:
        self.renderer.close()


class TwinCamera(Camera):
    """A camera of the cell model (built with its CamerasConfig) behind the core Camera interface.

    ``background=True``: ``connect()`` starts a thread rendering at ``rate_hz`` and ``read()``
    returns the newest frame. ``background=False``: ``read()`` renders in the caller's thread.
    """

    def __init__(self, cell: TwinCell, name: str, rate_hz: float | None = None, background: bool = True,
                 timeout_s: float = 2.0):
        if cell.cameras_config is None:
            raise ValueError("TwinCamera: the TwinCell was built without a CamerasConfig")
        try:
            self.config: CameraConfig = cell.cameras_config[name]
        except KeyError as exc:
            raise ValueError(f"TwinCamera: {exc.args[0]}") from None
        self.name = name
        self.cell = cell
        self.rate_hz = self.config.rate_hz if rate_hz is None else float(rate_hz)
        if not 0 < self.rate_hz <= 240:
            raise ValueError(f"TwinCamera.rate_hz must be within (0, 240], got {self.rate_hz}")
        self.background = background
        self.timeout_s = timeout_s
        self._latest: Frame | None = None
        self._latest_sim_time_s = float("nan")
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._sync_renderer: _CameraRenderer | None = None
        self._sync_thread_id: int | None = None
        self.render_times_s: deque[float] = deque(maxlen=10_000)  # wall time of background renders
        self.overruns = 0

    @property
    def intrinsics(self) -> CameraIntrinsics:
        c = self.config
        return CameraIntrinsics(c.width_px, c.height_px, c.fx_px, c.fy_px, c.cx_px, c.cy_px)

    @property
    def latest_sim_time_s(self) -> float:
        return self._latest_sim_time_s

    def connect(self) -> None:
        if not self.background or self._thread is not None:
            return
        self._stop.clear()
        self._error = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=f"twin-camera-{self.name}",
                                        daemon=True)
        self._thread.start()
        ready.wait(self.timeout_s)

    def disconnect(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + 1.0)
            self._thread = None
        if self._sync_renderer is not None:
            self._sync_renderer.close()
            self._sync_renderer = None

    def render(self) -> Frame:
        """Render now, in the calling thread (independent of the background thread)."""
        if self._sync_renderer is None or self._sync_thread_id != threading.get_ident():
            if self._sync_renderer is not None:
                self._sync_renderer.close()
            self._sync_renderer = _CameraRenderer(self.cell, self.config)
            self._sync_thread_id = threading.get_ident()
        stamp, sim_time, rgb = self._sync_renderer.render()
        frame = Frame(stamp, rgb, self.name)
        self._publish(frame, sim_time)
        return frame

    def read(self) -> Frame:
        if not self.background:
            return self.render()
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            while self._latest is None:
                if self._error is not None:
                    raise HardwareError(f"twin camera {self.name}: render thread failed: {self._error!r}")
                if self._thread is None:
                    raise HardwareError(f"twin camera {self.name}: not connected (call connect())")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HardwareError(f"twin camera {self.name}: no frame within {self.timeout_s} s")
                self._cond.wait(remaining)
            return self._latest

    def _publish(self, frame: Frame, sim_time_s: float) -> None:
        with self._cond:
            self._latest = frame
            self._latest_sim_time_s = sim_time_s
            self._cond.notify_all()

    def _run(self, ready: threading.Event) -> None:
        renderer = None
        try:
            renderer = _CameraRenderer(self.cell, self.config)
            ready.set()
            pacer = DeadlinePacer(self.rate_hz, spin_s=0.0)
            pacer.start()
            while not self._stop.is_set():
                t0 = time.perf_counter()
                stamp, sim_time, rgb = renderer.render()
                self.render_times_s.append(time.perf_counter() - t0)
                self._publish(Frame(stamp, rgb, self.name), sim_time)
                pacer.wait()
                self.overruns = pacer.overruns
        except BaseException as exc:  # surfaced to read()
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            ready.set()
            if renderer is not None:
                renderer.close()
