"""Intel RealSense colour camera via pyrealsense2, live (by serial number) or from a recording.

Frames are centre-cropped to the output aspect ratio and area-resized (numpy); the reported
intrinsics are those of the output image. pyrealsense2 is imported on first use.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnireset_core.config import check_positive
from omnireset_core.interfaces import Camera, CameraIntrinsics, Frame, HardwareError

from omnireset_drivers.image import CropResize

RECORDING_SUFFIXES = (".db3", ".bag")
MAX_FRAME_AGE_S = 1.0  # bound on the capture-to-read latency taken from frame timestamps


@dataclass(frozen=True)
class RealSenseConfig:
    name: str  # camera role: front / side / wrist
    serial: str = ""  # device serial number (quoted in YAML); ignored when playback_file is set
    playback_file: str = ""  # .db3/.bag recording to play instead of a live device
    stream_width_px: int = 640  # colour stream requested from the device / recording
    stream_height_px: int = 480
    stream_fps: int = 30
    output_width_px: int = 224  # delivered image after centre crop + resize
    output_height_px: int = 224
    frame_timeout_s: float = 1.0  # read() fails if no frame arrives within this
    playback_real_time: bool = True  # play a recording at its recorded rate (False: as fast as read)
    playback_repeat: bool = False  # loop the recording

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.serial, str):
            raise ValueError(f"serial must be a string (quote it in YAML), got {self.serial!r}")
        if not isinstance(self.playback_file, str):
            raise ValueError(f"playback_file must be a path string, got {self.playback_file!r}")
        if not self.serial and not self.playback_file:
            raise ValueError(f"camera '{self.name}': set serial (live device) or playback_file (recording)")
        for field in ("stream_width_px", "stream_height_px", "stream_fps", "output_width_px", "output_height_px"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{field} must be a positive integer, got {value!r}")
        check_positive("frame_timeout_s", self.frame_timeout_s)


def _import_rs():
    try:
        import pyrealsense2 as rs
    except ImportError as exc:
        raise HardwareError(f"pyrealsense2 is not installed ({exc}); pip install pyrealsense2") from None
    return rs


def connected_serials(context=None) -> list[str]:
    """Serial numbers of the RealSense devices visible to librealsense now."""
    rs = _import_rs()
    context = context or rs.context()
    serials = []
    for device in context.query_devices():
        if device.supports(rs.camera_info.serial_number):
            serials.append(device.get_info(rs.camera_info.serial_number))
    return serials


class RealSenseCamera(Camera):
    def __init__(self, config: RealSenseConfig):
        self.config = config
        self.name = config.name
        self._pipeline = None
        self._resize: CropResize | None = None
        self._intrinsics: CameraIntrinsics | None = None
        self._stream_intrinsics: CameraIntrinsics | None = None
        self._playback: Any = None  # rs.playback of a recording
        self.device_serial: str | None = None

    @property
    def where(self) -> str:
        cfg = self.config
        source = f"recording {cfg.playback_file}" if cfg.playback_file else f"serial {cfg.serial}"
        return f"RealSense camera '{cfg.name}' ({source})"

    @property
    def connected(self) -> bool:
        return self._pipeline is not None

    def connect(self) -> None:
        if self._pipeline is not None:
            return
        rs = _import_rs()
        cfg = self.config
        rs_config = rs.config()
        if cfg.playback_file:
            path = Path(cfg.playback_file)
            if path.suffix not in RECORDING_SUFFIXES:
                raise HardwareError(f"{self.where}: recordings must end in {' or '.join(RECORDING_SUFFIXES)}")
            if not path.is_file():
                raise HardwareError(f"{self.where}: file not found")
            rs_config.enable_device_from_file(str(path), cfg.playback_repeat)
        else:
            # pipeline.start() waits ~15 s for an absent device; checking first fails fast.
            serials = connected_serials()
            if cfg.serial not in serials:
                raise HardwareError(
                    f"{self.where}: no such device connected; connected serials: {', '.join(serials) or 'none'}. "
                    f"Check: USB3 cable and port, udev rules (librealsense 99-realsense-libusb.rules), "
                    f"no other process holding the camera, serial in config/robot.yaml."
                )
            rs_config.enable_device(cfg.serial)
        rs_config.enable_stream(
            rs.stream.color, cfg.stream_width_px, cfg.stream_height_px, rs.format.rgb8, cfg.stream_fps
        )
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(rs_config)
        except RuntimeError as exc:
            raise HardwareError(
                f"{self.where}: could not start colour {cfg.stream_width_px}x{cfg.stream_height_px} rgb8 "
                f"@ {cfg.stream_fps} Hz: {exc}{self._recorded_streams_hint()}"
            ) from None
        device = profile.get_device()
        if cfg.playback_file:
            self._playback = device.as_playback()
            self._playback.set_real_time(cfg.playback_real_time)
        if device.supports(rs.camera_info.serial_number):
            self.device_serial = device.get_info(rs.camera_info.serial_number)
        intr = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self._stream_intrinsics = CameraIntrinsics(intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy)
        self._resize = CropResize(intr.width, intr.height, cfg.output_width_px, cfg.output_height_px)
        self._intrinsics = self._resize.intrinsics(self._stream_intrinsics)
        self._pipeline = pipeline

    def _recorded_streams_hint(self) -> str:
        if not self.config.playback_file:
            return ""
        try:
            rs = _import_rs()
            device = rs.context().load_device(self.config.playback_file)
            streams = sorted({
                f"{p.stream_name()} {p.as_video_stream_profile().width()}x{p.as_video_stream_profile().height()} "
                f"{p.format()} @ {p.fps()} Hz"
                for s in device.query_sensors() for p in s.get_stream_profiles() if p.is_video_stream_profile()
            })
        except Exception:  # the hint is best effort
            return ""
        return f"; the recording has: {'; '.join(streams) or 'no video streams'}"

    @property
    def intrinsics(self) -> CameraIntrinsics:
        if self._intrinsics is None:
            raise HardwareError(f"{self.where}: not connected")
        return self._intrinsics

    @property
    def stream_intrinsics(self) -> CameraIntrinsics:
        """Intrinsics of the full stream before crop/resize."""
        if self._stream_intrinsics is None:
            raise HardwareError(f"{self.where}: not connected")
        return self._stream_intrinsics

    def read(self) -> Frame:
        pipeline = self._pipeline
        if pipeline is None:
            raise HardwareError(f"{self.where}: not connected")
        timeout_ms = int(round(self.config.frame_timeout_s * 1000))
        try:
            ok, frames = pipeline.try_wait_for_frames(timeout_ms)
        except RuntimeError as exc:
            raise HardwareError(f"{self.where}: frame wait failed: {exc}") from None
        color = frames.get_color_frame() if ok else None
        if not color:
            ended = self._playback is not None and not self.config.playback_repeat
            raise HardwareError(
                f"{self.where}: no colour frame within {self.config.frame_timeout_s:.2f} s"
                + (" (end of recording?)" if ended else " (unplugged, or USB bandwidth?)")
            )
        stamp_s = self._capture_stamp(color)
        rgb = np.asanyarray(color.get_data())
        return Frame(stamp_s=stamp_s, rgb=self._resize(rgb), camera=self.name)

    def _capture_stamp(self, color) -> float:
        """Monotonic capture time: read time minus the frame's age where its clock is the host's."""
        now_s = time.monotonic()
        if self._playback is not None:
            return now_s
        rs = _import_rs()
        if color.get_frame_timestamp_domain() in (rs.timestamp_domain.global_time, rs.timestamp_domain.system_time):
            age_s = time.time() - color.get_timestamp() / 1000.0
            return now_s - min(max(age_s, 0.0), MAX_FRAME_AGE_S)
        return now_s

    def disconnect(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        self._playback = None
        if pipeline is not None:
            try:
                pipeline.stop()
            except RuntimeError:
                pass
