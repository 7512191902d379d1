"""Offscreen cameras: 224x224 frames with content, exact pinhole intrinsics, no physics stalls."""
import time

import mujoco
import numpy as np
import pytest

from omnireset_core.interfaces import HardwareError
from omnireset_sim.camera import TwinCamera
from omnireset_sim.config import CameraConfig, CamerasConfig, CellConfig
from omnireset_sim.twin import TwinCell

NAMES = ("front", "side", "wrist")


@pytest.fixture(scope="module")
def cell(config_dir):
    return TwinCell.from_files(config_dir / "cell.yaml", config_dir / "cameras.yaml")


def test_three_frames_with_content(cell):
    cams = [TwinCamera(cell, n, background=False) for n in NAMES]
    frames = [c.read() for c in cams]
    for cam, frame in zip(cams, frames):
        assert frame.camera == cam.name
        assert frame.rgb.shape == (224, 224, 3) and frame.rgb.dtype == np.uint8
        assert frame.rgb.std() > 10, cam.name  # not blank
        assert cam.intrinsics.fx_px == cam.config.fx_px
    assert not np.array_equal(frames[0].rgb, frames[1].rgb)
    for cam in cams:
        cam.disconnect()


@pytest.mark.parametrize("name", ["front", "side"])
def test_moving_the_peg_changes_the_picture(cell, name):
    cam = TwinCamera(cell, name, background=False)
    cell.reset()
    before = cam.read().rgb.astype(int)
    pos, quat = cell.object_pose("peg")
    cell.set_object_pose("peg", pos + [0.05, -0.05, 0.0], quat)
    after = cam.read().rgb.astype(int)
    changed = np.abs(after - before).sum(axis=2) > 30
    assert changed.sum() > 40, changed.sum()
    cell.reset()
    cam.disconnect()


def test_rendering_follows_the_pinhole_intrinsics():
    """A top-down camera with an off-centre principal point and fx != fy: the peg's silhouette sits
    where the pinhole model puts it (between its top- and bottom-face projections)."""
    w, h, fx, fy, cx, cy = 224, 160, 300.0, 280.0, 90.0, 100.0
    top = CameraConfig("top", "world", w, h, fx, fy, cx, cy, (0.45, 0.1, 0.5), (0.0, 1.0, 0.0, 0.0))
    cell = TwinCell(CellConfig(), CamerasConfig((top,)))
    renderer = mujoco.Renderer(cell.model, height=h, width=w)
    renderer.enable_segmentation_rendering()
    peg_id = cell.model.geom("peg_geom").id
    for dx, dy in ((0.0, 0.0), (0.03, 0.0), (0.0, 0.03)):
        cell.set_object_pose("peg", (0.45 + dx, 0.1 + dy, 0.0), (1, 0, 0, 0))
        renderer.update_scene(cell.data, camera="top")
        seg = renderer.render()
        v, u = np.nonzero((seg[..., 0] == peg_id) & (seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)))
        centroid = np.array([u.mean() + 0.5, v.mean() + 0.5])
        # Optical frame = (x_b, -y_b, -z_b); the peg top is 0.42 m away, its bottom 0.5 m.
        top_px = np.array([cx + fx * dx / 0.42, cy - fy * dy / 0.42])
        bottom_px = np.array([cx + fx * dx / 0.5, cy - fy * dy / 0.5])
        lo, hi = np.minimum(top_px, bottom_px) - 0.6, np.maximum(top_px, bottom_px) + 0.6
        assert np.all(centroid >= lo) and np.all(centroid <= hi), (dx, dy, centroid, top_px, bottom_px)
    renderer.close()


def test_background_rendering_does_not_stall_physics(cell):
    def steps_per_s(duration_s: float) -> float:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < duration_s:
            cell.step(10)
            n += 10
        return n / (time.perf_counter() - t0)

    cell.reset()
    baseline = steps_per_s(0.5)
    cams = [TwinCamera(cell, n, rate_hz=10.0) for n in NAMES]
    for cam in cams:
        cam.connect()
    first = [cam.read() for cam in cams]
    loaded = steps_per_s(1.0)
    latest = [cam.read() for cam in cams]
    for cam in cams:
        cam.disconnect()
    assert all(b.stamp_s > a.stamp_s for a, b in zip(first, latest))  # frames keep coming
    assert all(cam.latest_sim_time_s > 0.1 for cam in cams)
    # Rendering 3 x 10 Hz costs a few percent of one core; allow for a busy 2-core machine.
    assert loaded > 0.4 * baseline, (loaded, baseline)
    cell.reset()


def test_camera_errors(cell):
    with pytest.raises(ValueError, match="without a CamerasConfig"):
        TwinCamera(TwinCell(), "front")
    with pytest.raises(ValueError, match="no camera named"):
        TwinCamera(cell, "ceiling")
    with pytest.raises(HardwareError, match="not connected"):
        TwinCamera(cell, "front").read()
