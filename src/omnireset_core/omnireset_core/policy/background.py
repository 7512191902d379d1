"""Encode an RGB student's frames on a thread of their own, as they arrive.

A ROS executor that encodes three ResNet-18 frames inside its image callbacks stops taking the
joint states and TCP poses for tens of milliseconds, and the next policy step finds them stale.
``BackgroundEncoder`` takes each camera's newest frame (``submit``, cheap), encodes it on its
worker thread with ``PolicyRuntime.encode_frame`` (torch releases the GIL while it convolves, so
the caller's thread keeps running) and then hands it on with ``on_ready(camera, frame)``: the
caller steps with the newest frame that is ready, whose features the step finds cached. Nothing
waits for anything: a step never blocks on an encoding in progress.

``on_ready`` runs on the worker thread. ``frame`` is ``(stamp_s, rgb)``, or the
``PolicyInputError`` the runtime raised for it (wrong shape, non-finite stamp), so the step that
would have used it refuses with that reason.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from omnireset_core.policy.runtime import PolicyInputError, PolicyRuntime


class BackgroundEncoder:
    def __init__(self, runtime: Callable[[], PolicyRuntime | None], on_ready: Callable[[str, object], None]):
        """``runtime()``: the runtime to encode for now (None: nothing loaded, frames are dropped)."""
        self.runtime, self.on_ready = runtime, on_ready
        self.encoded = 0  # frames encoded so far
        self._pending: dict[str, tuple[float, np.ndarray]] = {}  # camera -> its newest frame not yet encoded
        self._wake = threading.Condition()
        self._stop = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="frame-encoder", daemon=True)
        self._thread.start()

    def submit(self, camera: str, stamp_s: float, rgb: np.ndarray) -> None:
        """Queue ``camera``'s frame, replacing an older one of that camera not encoded yet."""
        with self._wake:
            self._pending[camera] = (stamp_s, rgb)
            self._wake.notify()

    def idle(self) -> bool:
        with self._wake:
            return not self._pending and not self._busy

    def close(self, timeout_s: float = 2.0) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                camera = next(iter(self._pending))  # oldest first: no camera waits behind the others
                frame = self._pending.pop(camera)
                self._busy = True
            try:
                self._encode(camera, frame)
            except Exception:  # never let the thread die: the step encodes the frame itself and says why
                pass
            finally:
                with self._wake:
                    self._busy = False

    def _encode(self, camera: str, frame: tuple[float, np.ndarray]) -> None:
        runtime = self.runtime()
        if runtime is None or camera not in runtime.cameras:
            return
        try:
            runtime.encode_frame(camera, *frame)
        except PolicyInputError as exc:
            self.on_ready(camera, exc)
            return
        except Exception:  # the module failed: hand the frame on, the step encodes it again and reports it
            self.on_ready(camera, frame)
            return
        self.encoded += 1
        self.on_ready(camera, frame)
