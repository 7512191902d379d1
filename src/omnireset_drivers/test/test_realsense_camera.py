"""RealSenseCamera against real librealsense playback of a file recorded from a software device."""
import time

import numpy as np
import pytest

from omnireset_core.interfaces import HardwareError
from omnireset_drivers.image import CropResize
from omnireset_drivers.realsense_camera import RealSenseCamera, RealSenseConfig, connected_serials

rs = pytest.importorskip("pyrealsense2")

W, H, FPS, N_FRAMES = 640, 480, 30, 4
FX, FY, PPX, PPY = 610.5, 611.25, 322.75, 237.5
SERIAL = "000111222333"


def pattern(k: int) -> np.ndarray:
    """Frame k: R = column ramp, G = row ramp, B = 40 * k (frame identity)."""
    cols, rows = np.meshgrid(np.arange(W), np.arange(H))
    img = np.stack([np.rint(cols * 255 / (W - 1)), np.rint(rows * 255 / (H - 1)), np.full_like(cols, 40 * k)], -1)
    return np.ascontiguousarray(img.astype(np.uint8))


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Record N_FRAMES synthetic rgb8 frames from an rs.software_device to a .db3 file."""
    path = tmp_path_factory.mktemp("rs") / "synthetic.db3"
    device = rs.software_device()
    device.register_info(rs.camera_info.name, "Synthetic RealSense")
    device.register_info(rs.camera_info.serial_number, SERIAL)
    sensor = device.add_sensor("RGB Camera")
    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy = W, H, FX, FY, PPX, PPY
    intr.model, intr.coeffs = rs.distortion.none, [0.0] * 5
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = rs.stream.color, 0, 0
    stream.width, stream.height, stream.fps, stream.bpp, stream.fmt = W, H, FPS, 3, rs.format.rgb8
    stream.intrinsics = intr
    profile = sensor.add_video_stream(stream, True).as_video_stream_profile()
    recorder = rs.recorder(str(path), device)
    queue = rs.frame_queue(N_FRAMES + 1)
    sensor.open(profile)
    sensor.start(queue)
    for k in range(N_FRAMES):
        frame = rs.software_video_frame()
        frame.pixels = pattern(k)
        frame.bpp, frame.stride = 3, W * 3
        frame.timestamp = k * 1000.0 / FPS
        frame.domain = rs.timestamp_domain.hardware_clock
        frame.frame_number = k
        frame.profile = profile
        sensor.on_video_frame(frame)
    for _ in range(N_FRAMES):  # the recorder wrote each frame once it reached the queue
        assert queue.wait_for_frame(2000)
    sensor.stop()
    sensor.close()
    recorder.pause()
    del recorder  # closes the file
    assert path.stat().st_size > 0
    return path


def _camera(path, **kw):
    cfg = dict(name="front", playback_file=str(path), playback_real_time=False, frame_timeout_s=1.0)
    cfg.update(kw)
    return RealSenseCamera(RealSenseConfig(**cfg))


def test_playback_full_size_returns_the_recorded_frames_bit_exact(recording):
    with _camera(recording, output_width_px=W, output_height_px=H) as cam:
        assert cam.device_serial == SERIAL
        s = cam.stream_intrinsics
        assert (s.width_px, s.height_px) == (W, H)
        assert (s.fx_px, s.fy_px, s.cx_px, s.cy_px) == pytest.approx((FX, FY, PPX, PPY))
        assert cam.intrinsics == s
        for k in range(N_FRAMES):
            frame = cam.read()
            assert frame.camera == "front" and frame.rgb.dtype == np.uint8
            np.testing.assert_array_equal(frame.rgb, pattern(k))
        with pytest.raises(HardwareError, match="end of recording"):
            cam.read()


def test_playback_224_crops_resizes_and_scales_intrinsics(recording):
    with _camera(recording) as cam:
        plan = CropResize(W, H, 224, 224)
        intr = cam.intrinsics
        s = 224 / 480
        assert (intr.width_px, intr.height_px) == (224, 224)
        assert intr.fx_px == pytest.approx(FX * s) and intr.fy_px == pytest.approx(FY * s)
        assert intr.cx_px == pytest.approx((PPX - 80 + 0.5) * s - 0.5)
        assert intr.cy_px == pytest.approx((PPY + 0.5) * s - 0.5)
        t0 = time.monotonic()
        for k in range(N_FRAMES):
            frame = cam.read()
            assert frame.rgb.shape == (224, 224, 3)
            assert t0 <= frame.stamp_s <= time.monotonic()
            np.testing.assert_array_equal(frame.rgb, plan(pattern(k)))
            assert np.all(frame.rgb[..., 2] == 40 * k)
            # the column ramp at the output principal point is the input principal point's column
            j = int(round(intr.cx_px))
            u_in = (j + 0.5) / s - 0.5 + 80
            assert frame.rgb[100, j, 0] == pytest.approx(u_in * 255 / (W - 1), abs=1.0)
            assert abs(u_in - PPX) <= 0.5 / s


def test_playback_with_wrong_stream_size_lists_the_recorded_streams(recording):
    cam = _camera(recording, stream_width_px=1280, stream_height_px=720)
    with pytest.raises(HardwareError, match=r"could not start colour 1280x720.*the recording has: .*640x480"):
        cam.connect()
    assert not cam.connected


def test_missing_recording_and_bad_suffix(tmp_path):
    with pytest.raises(HardwareError, match="file not found"):
        _camera(tmp_path / "absent.db3").connect()
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"")
    with pytest.raises(HardwareError, match=r"\.db3 or \.bag"):
        _camera(bad).connect()


def test_unknown_serial_fails_fast_listing_connected_serials():
    present = connected_serials()
    cam = RealSenseCamera(RealSenseConfig(name="wrist", serial="999999999999"))
    t0 = time.monotonic()
    with pytest.raises(HardwareError) as info:
        cam.connect()
    assert time.monotonic() - t0 < 5.0
    msg = str(info.value)
    assert "'wrist'" in msg and "999999999999" in msg
    assert f"connected serials: {', '.join(present) or 'none'}" in msg
    with pytest.raises(HardwareError, match="not connected"):
        cam.read()
    with pytest.raises(HardwareError, match="not connected"):
        cam.intrinsics


def test_config_requires_a_source_and_string_serial():
    with pytest.raises(ValueError, match="serial"):
        RealSenseConfig(name="front")
    with pytest.raises(ValueError, match="serial"):
        RealSenseConfig(name="front", serial=123)
    with pytest.raises(ValueError, match="output_width_px"):
        RealSenseConfig(name="front", serial="1", output_width_px=0)
