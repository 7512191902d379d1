"""Robotiq 2F-85 through the Robotiq URCap socket server on the UR controller (TCP 63352).

Line protocol, one request per reply: ``SET VAR value [VAR value ...]\\n`` -> ``ack``;
``GET VAR\\n`` -> ``VAR value``. Registers (0..255): ACT activate, GTO go-to, ATR auto-release,
POS requested/actual position (0 = open), SPE speed, FOR force; STA status (3 = activated),
OBJ object status (0 moving, 1/2 stopped on an object while opening/closing, 3 at target), FLT fault.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from omnireset_core.config import check_positive, check_range
from omnireset_core.interfaces import Gripper, GripperState, HardwareError

STA_RESET = 0
STA_ACTIVATED = 3
OBJ_ON_OBJECT = (1, 2)


@dataclass(frozen=True)
class RobotiqConfig:
    host: str = "192.168.1.102"  # the UR controller running the Robotiq URCap
    port: int = 63352  # URCap socket server
    speed: int = 255  # finger speed, register units 0..255
    force: int = 100  # grip force, register units 0..255
    position_open: int = 0  # register position commanded for "open"
    position_closed: int = 255  # register position commanded for "close"
    socket_timeout_s: float = 1.0  # connect and per-reply timeout
    activation_timeout_s: float = 5.0  # reset + activation must finish within this
    reset_on_connect: bool = False  # re-activate even if the gripper reports activated
    poll_period_s: float = 0.02  # status polling period during activation

    def __post_init__(self):
        if not isinstance(self.host, str) or not self.host.strip():
            raise ValueError(f"host must be a non-empty host name or IP address, got {self.host!r}")
        check_range("port", self.port, 1, 65535)
        for name in ("speed", "force", "position_open", "position_closed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer register value 0..255, got {value!r}")
            check_range(name, value, 0, 255)
        if self.position_open == self.position_closed:
            raise ValueError("position_open and position_closed must differ")
        check_positive("socket_timeout_s", self.socket_timeout_s)
        check_positive("activation_timeout_s", self.activation_timeout_s)
        check_positive("poll_period_s", self.poll_period_s)


class RobotiqGripper(Gripper):
    """Binary open/close; a command is sent only when it differs from the last one sent."""

    def __init__(self, config: RobotiqConfig = RobotiqConfig()):
        self.config = config
        self._sock: socket.socket | None = None
        self._rx = b""
        self._lock = threading.Lock()
        self._closed_cmd: bool | None = None  # None: nothing sent since connect

    @property
    def where(self) -> str:
        return f"Robotiq gripper at {self.config.host}:{self.config.port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        if self._sock is not None:
            return
        cfg = self.config
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.socket_timeout_s)
        except OSError as exc:
            reason = f"no answer within {cfg.socket_timeout_s:.1f} s" if isinstance(exc, socket.timeout) else exc
            raise HardwareError(
                f"{self.where} unreachable ({reason}). Check: robot controller on and reachable? "
                f"Robotiq Grippers URCap installed and the gripper detected in the URCap? "
                f"host/port in config/robot.yaml (gripper section) right?"
            ) from None
        sock.settimeout(cfg.socket_timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._rx, self._closed_cmd = sock, b"", None
        try:
            self._activate()
        except HardwareError:
            self.disconnect()
            raise

    def _activate(self) -> None:
        cfg = self.config
        if not cfg.reset_on_connect and self._get("STA") == STA_ACTIVATED and self._get("ACT") == 1:
            self._set(("SPE", cfg.speed), ("FOR", cfg.force))
            return
        self._set(("ACT", 0), ("ATR", 0))
        self._wait_for_status(STA_RESET, "reset")
        self._set(("ACT", 1))
        self._wait_for_status(STA_ACTIVATED, "activation")
        self._set(("SPE", cfg.speed), ("FOR", cfg.force))

    def _wait_for_status(self, want: int, phase: str) -> None:
        deadline = time.monotonic() + self.config.activation_timeout_s
        while True:
            sta = self._get("STA")
            if sta == want:
                return
            if time.monotonic() >= deadline:
                fault = self._get("FLT")
                raise HardwareError(
                    f"{self.where}: {phase} did not finish within {self.config.activation_timeout_s:.1f} s "
                    f"(STA={sta}, FLT={fault}). Check: gripper powered and cabled to the tool flange, "
                    f"not blocked by an object, no fault shown in the URCap."
                )
            time.sleep(self.config.poll_period_s)

    def command(self, close: bool) -> None:
        close = bool(close)
        if close == self._closed_cmd:
            return
        cfg = self.config
        position = cfg.position_closed if close else cfg.position_open
        self._set(("POS", position), ("SPE", cfg.speed), ("FOR", cfg.force), ("GTO", 1))
        self._closed_cmd = close

    def read_state(self) -> GripperState:
        position = self._get("POS")
        obj = self._get("OBJ")
        stamp_s = time.monotonic()
        cfg = self.config
        frac = (position - cfg.position_open) / (cfg.position_closed - cfg.position_open)
        return GripperState(
            stamp_s=stamp_s,
            opening_frac=min(max(frac, 0.0), 1.0),
            closed_cmd=bool(self._closed_cmd),
            object_detected=obj in OBJ_ON_OBJECT,
        )

    def disconnect(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # --- protocol ------------------------------------------------------------------------------
    def _set(self, *pairs: tuple[str, int]) -> None:
        request = "SET " + " ".join(f"{var} {int(value)}" for var, value in pairs)
        reply = self._request(request)
        if reply != "ack":
            raise HardwareError(f"{self.where}: '{request}' answered {reply!r} instead of 'ack'")

    def _get(self, var: str) -> int:
        reply = self._request(f"GET {var}")
        parts = reply.split()
        if len(parts) != 2 or parts[0] != var:
            raise HardwareError(f"{self.where}: 'GET {var}' answered {reply!r}")
        try:
            return int(parts[1])
        except ValueError:
            raise HardwareError(f"{self.where}: 'GET {var}' answered {reply!r}") from None

    def _request(self, request: str) -> str:
        with self._lock:
            sock = self._sock
            if sock is None:
                raise HardwareError(f"{self.where}: not connected")
            try:
                sock.sendall(request.encode("ascii") + b"\n")
                while b"\n" not in self._rx:
                    chunk = sock.recv(1024)
                    if not chunk:
                        raise ConnectionError("connection closed by the gripper server")
                    self._rx += chunk
            except socket.timeout:
                self._drop()
                raise HardwareError(
                    f"{self.where}: no reply to '{request}' within {self.config.socket_timeout_s:.1f} s; "
                    f"connection dropped"
                ) from None
            except OSError as exc:
                self._drop()
                raise HardwareError(f"{self.where}: connection lost during '{request}': {exc}") from None
            line, self._rx = self._rx.split(b"\n", 1)
        return line.decode("ascii", errors="replace").strip()

    def _drop(self) -> None:
        # A late reply would desynchronise request/reply pairing, so the socket is not reused.
        sock, self._sock, self._rx = self._sock, None, b""
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
