"""UR e-series arm over ur_rtde: direct joint torques at 500 Hz on top of the controller's gravity compensation.

ur_rtde is imported on first connect, so this module loads on machines without it.

Stopping torque control: ``hold_position()`` ends the ur_rtde control script (``stopScript``).
In the uploaded script the command register stays on "direct torque" until another command
replaces it, so merely ceasing to send could leave the last torque applied; ending the program
hands the arm back to the controller, which brings it to rest and holds it there. The next
``command_torque`` re-uploads the script (one slow period). A watchdog set on the script stops it
as well if the torque stream stalls (process hung or killed).
"""
from __future__ import annotations

import enum
import inspect
import logging
import re
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from omnireset_core.config import check_finite_vector, check_int, check_positive, check_range
from omnireset_core.interfaces import HardwareError, JointState, Robot
from omnireset_core.kinematics.calibration import load_ur_calibration
from omnireset_drivers.ur_dashboard import DASHBOARD_PORT, MIN_POLYSCOPE_FOR_UR_RTDE, check_polyscope, parse_version
from omnireset_drivers.ur_primary import PRIMARY_PORT, check_calibration

log = logging.getLogger(__name__)

RTDE_PORT = 30004  # fixed by the UR controller; ur_rtde has no option for it
UR7E_MAX_PAYLOAD_KG = 7.5


@dataclass(frozen=True)
class URRtdeConfig:
    robot_ip: str = "192.168.1.102"
    rate_hz: float = 500.0  # RTDE and control-loop frequency
    payload_mass_kg: float = 1.0  # everything mounted on the tool flange
    payload_cog_m: tuple[float, ...] = (0.0, 0.0, 0.06)  # payload centre of gravity in the flange frame
    tcp_offset_m_rad: tuple[float, ...] = (0.0, 0.0, 0.174, 0.0, 0.0, 0.0)  # flange -> TCP: x, y, z, rotation vector
    friction_compensation: bool = False  # the controller's joint friction model added to our torques
    friction_viscous_scale: tuple[float, ...] = (1.0,) * 6  # per joint, used only with friction_compensation
    friction_coulomb_scale: tuple[float, ...] = (1.0,) * 6  # per joint, used only with friction_compensation
    connect_timeout_s: float = 2.0  # RTDE handshake probe before ur_rtde is started
    watchdog_min_rate_hz: float = 10.0  # script stops if torques arrive slower than this; 0 disables
    use_external_control_urcap: bool = False  # run through the ExternalControl URCap program
    urcap_port: int = 50002  # ExternalControl URCap port
    rt_priority: int = 0  # ur_rtde receive/control thread real-time priority; 0 = library default
    check_polyscope: bool = True  # refuse a PolyScope too old for this ur_rtde's direct torque (dashboard server)
    dashboard_port: int = DASHBOARD_PORT
    # the robot's own kinematics (its ur_calibration YAML) for the controller, the twin and the URDF;
    # relative to robot.yaml's folder; '' = the nominal UR7e DH table
    kinematics_file: str = ""
    check_calibration: bool = True  # refuse a kinematics_file whose hash is not this robot's (primary interface)
    primary_port: int = PRIMARY_PORT

    def __post_init__(self):
        if not isinstance(self.robot_ip, str) or not self.robot_ip.strip():
            raise ValueError(f"robot_ip must be a non-empty host name or IP address, got {self.robot_ip!r}")
        check_positive("rate_hz", self.rate_hz)
        check_range("payload_mass_kg", self.payload_mass_kg, 0.0, UR7E_MAX_PAYLOAD_KG)
        check_finite_vector("payload_cog_m", self.payload_cog_m, 3)
        check_finite_vector("tcp_offset_m_rad", self.tcp_offset_m_rad, 6)
        for name in ("friction_viscous_scale", "friction_coulomb_scale"):
            check_finite_vector(name, getattr(self, name), 6)
            if any(v < 0 for v in getattr(self, name)):
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)!r}")
        if not isinstance(self.friction_compensation, bool):
            raise ValueError(f"friction_compensation must be true or false, got {self.friction_compensation!r}")
        check_positive("connect_timeout_s", self.connect_timeout_s)
        check_range("watchdog_min_rate_hz", self.watchdog_min_rate_hz, 0.0, self.rate_hz)
        check_int("urcap_port", self.urcap_port, 1, 65535)
        check_int("rt_priority", self.rt_priority, 0, 99)
        check_int("dashboard_port", self.dashboard_port, 1, 65535)
        check_int("primary_port", self.primary_port, 1, 65535)
        if not isinstance(self.check_calibration, bool):
            raise ValueError(f"check_calibration must be true or false, got {self.check_calibration!r}")
        if not isinstance(self.check_polyscope, bool):
            raise ValueError(f"check_polyscope must be true or false, got {self.check_polyscope!r}")


# --- directTorque signature adapter -------------------------------------------------------------

class TorqueApi(str, enum.Enum):
    FRICTION_FLAG = "friction_flag"  # ur_rtde 1.6.3: directTorque(torque, friction_comp: bool)
    FRICTION_SCALES = "friction_scales"  # ur_rtde 1.6.5: directTorque(torque, viscous_scale=[6], coulomb_scale=[6])


_SIGNATURE_LINE = re.compile(r"^\s*(?:\d+\.\s+)?[A-Za-z_][\w.]*\((?P<params>.*)\)\s*(?:->.*)?$")


def _parameter_text(fn: Callable) -> str:
    """Parameter list text of ``fn``: pybind11 signature lines of ``__doc__``, else ``inspect.signature``."""
    lines = [m.group("params") for m in map(_SIGNATURE_LINE.match, (fn.__doc__ or "").splitlines()) if m]
    if lines:
        return " ".join(lines)
    try:
        return " ".join(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ""


def detect_torque_api(direct_torque: Callable) -> TorqueApi | None:
    """Which ``directTorque`` signature this is, from its signature text; None if it does not say."""
    text = _parameter_text(direct_torque)
    if re.search(r"\b(viscous_scale|coulomb_scale)\b", text):
        return TorqueApi.FRICTION_SCALES
    if re.search(r"\bfriction_comp\b", text):
        return TorqueApi.FRICTION_FLAG
    return None


class DirectTorqueSender:
    """Calls ``directTorque`` with friction compensation always passed explicitly, whatever the ur_rtde version.

    Both signatures have non-zero friction defaults in some version, so nothing is left to a default:
    off means ``friction_comp=False`` (1.6.3) or all-zero scales (1.6.5). Note: the controller script
    embedded in ur_rtde 1.6.5 appears to pass zero scales to ``direct_torque`` whatever is sent, so
    enabling compensation there may have no effect; verify on the robot before relying on it.
    """

    def __init__(
        self,
        direct_torque: Callable,
        friction_compensation: bool = False,
        viscous_scale: Sequence[float] = (1.0,) * 6,
        coulomb_scale: Sequence[float] = (1.0,) * 6,
    ):
        self._fn = direct_torque
        self.api = detect_torque_api(direct_torque)
        self.friction_compensation = bool(friction_compensation)
        on = self.friction_compensation
        self.viscous_scale = [float(v) if on else 0.0 for v in viscous_scale]
        self.coulomb_scale = [float(v) if on else 0.0 for v in coulomb_scale]

    def _call(self, api: TorqueApi, tau_Nm: list[float]) -> Any:
        if api is TorqueApi.FRICTION_FLAG:
            return self._fn(tau_Nm, self.friction_compensation)
        return self._fn(tau_Nm, viscous_scale=list(self.viscous_scale), coulomb_scale=list(self.coulomb_scale))

    def send(self, tau_Nm: list[float]) -> Any:
        if self.api is not None:
            return self._call(self.api, tau_Nm)
        # Undocumented signature: pybind11 rejects mismatched arguments with TypeError before the
        # C++ call, so a failed attempt sends nothing. Resolved once, then cached.
        for api in (TorqueApi.FRICTION_SCALES, TorqueApi.FRICTION_FLAG):
            try:
                result = self._call(api, tau_Nm)
            except TypeError:
                continue
            self.api = api
            log.info("directTorque signature resolved by trial: %s", api.value)
            return result
        raise HardwareError(
            "ur_rtde directTorque accepts neither (torque, friction_comp) nor "
            "(torque, viscous_scale=..., coulomb_scale=...); unsupported ur_rtde version"
        )


# --- robot --------------------------------------------------------------------------------------

def installed_ur_rtde_version(rtde_control) -> tuple[int, int, int]:
    """The installed ur_rtde's version: its package metadata, else its ``directTorque`` signature
    (1.6.3: a friction flag, 1.6.5: friction scales), else the newest release this module knows."""
    from importlib import metadata

    try:
        return parse_version(metadata.version("ur_rtde"))
    except (metadata.PackageNotFoundError, ValueError):
        api = detect_torque_api(rtde_control.RTDEControlInterface.directTorque)
        return (1, 6, 3) if api is TorqueApi.FRICTION_FLAG else max(MIN_POLYSCOPE_FOR_UR_RTDE)


def _import_ur_rtde():
    try:
        import rtde_control
        import rtde_receive
    except ImportError as exc:
        raise HardwareError(f"ur_rtde is not installed ({exc}); pip install 'ur-rtde>=1.6.3'") from None
    return rtde_control, rtde_receive


RTDE_REQUEST_PROTOCOL_VERSION = 86  # RTDE package type 'V'


def probe_rtde(host: str, timeout_s: float, port: int = RTDE_PORT) -> str | None:
    """None if an RTDE server at host:port answers a protocol-version request within timeout_s, else why not.

    ur_rtde's constructors block (holding the GIL) on a peer that accepts but never answers,
    so the handshake is tried here first with a timeout.
    """
    t0 = time.monotonic()
    accepted = False
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            accepted = True
            sock.settimeout(max(timeout_s - (time.monotonic() - t0), 0.05))
            sock.sendall(struct.pack(">HBH", 5, RTDE_REQUEST_PROTOCOL_VERSION, 2))
            header = b""
            while len(header) < 3:
                chunk = sock.recv(3 - len(header))
                if not chunk:
                    return f"port {port} accepted the connection, then closed it without an RTDE reply"
                header += chunk
    except socket.timeout:
        if accepted:
            return f"port {port} accepted the connection but sent no RTDE reply within {timeout_s:.1f} s"
        return f"no answer within {timeout_s:.1f} s"
    except OSError as exc:
        return f"{exc.strerror or exc} after {time.monotonic() - t0:.2f} s"
    _, package_type = struct.unpack(">HB", header)
    if package_type != RTDE_REQUEST_PROTOCOL_VERSION:
        return f"port {port} answered with package type {package_type}, not RTDE"
    return None


class URRtdeRobot(Robot):
    """UR arm in direct torque mode through ur_rtde.

    ``read_only=True`` opens only the receive interface: joint states can be read, nothing is
    uploaded to or changed on the robot, and torque commands are refused.
    """

    def __init__(self, config: URRtdeConfig = URRtdeConfig(), read_only: bool = False):
        self.config = config
        self.read_only = read_only
        self._control = None
        self._receive = None
        self._sender: DirectTorqueSender | None = None
        self._torque_active = False  # torques sent since the script was (re)started
        self._script_stopped = False  # hold_position ended the control script
        self.polyscope_version: tuple[int, int, int] | None = None  # read at connect
        self.calibration_hash: str | None = None  # checked at connect when kinematics_file is set

    @property
    def connected(self) -> bool:
        return self._receive is not None

    @property
    def torque_api(self) -> TorqueApi | None:
        return None if self._sender is None else self._sender.api

    def _hints(self) -> str:
        ip = self.config.robot_ip
        hints = (
            f"Check: is the robot powered on and PolyScope booted? Is this host on the robot's network "
            f"(ping {ip}; robot_ip in config/robot.yaml)? Is the robot in Remote Control mode "
            f"(pendant top-right 'Remote')? Is the arm powered with brakes released, with no protective "
            f"or emergency stop? Is another client holding the RTDE control interface?"
        )
        if self.config.use_external_control_urcap:
            hints += f" Is the ExternalControl URCap program (port {self.config.urcap_port}) running?"
        return hints

    def connect(self) -> None:
        if self._receive is not None:
            return
        cfg, ip = self.config, self.config.robot_ip
        rtde_control, rtde_receive = _import_ur_rtde()
        problem = probe_rtde(ip, cfg.connect_timeout_s)
        if problem is not None:
            raise HardwareError(
                f"UR robot at {ip} unreachable: tried an RTDE handshake on TCP {ip}:{RTDE_PORT} with a "
                f"{cfg.connect_timeout_s:.1f} s timeout: {problem}. {self._hints()}"
            )
        if cfg.check_polyscope and not self.read_only:  # before anything is uploaded
            self.polyscope_version = check_polyscope(ip, installed_ur_rtde_version(rtde_control),
                                                     cfg.dashboard_port, cfg.connect_timeout_s)
        if cfg.kinematics_file and cfg.check_calibration:  # the controller's FK must be this robot's
            self.calibration_hash = check_calibration(ip, load_ur_calibration(cfg.kinematics_file).hash,
                                                      Path(cfg.kinematics_file).name, cfg.primary_port,
                                                      cfg.connect_timeout_s)
        try:
            receive = rtde_receive.RTDEReceiveInterface(ip, float(cfg.rate_hz))
        except RuntimeError as exc:
            raise HardwareError(
                f"UR robot at {ip}: port {RTDE_PORT} answers but the RTDE receive interface at "
                f"{cfg.rate_hz:g} Hz failed: {exc}. {self._hints()}"
            ) from None
        if self.read_only:
            self._receive = receive
            return
        try:
            control = self._open_control(rtde_control)
        except BaseException as exc:
            self._close(None, receive)
            if not isinstance(exc, RuntimeError):
                raise
            raise HardwareError(
                f"UR robot at {ip}: RTDE receive is up but the control interface (script upload at "
                f"{cfg.rate_hz:g} Hz) failed: {exc}. {self._hints()}"
            ) from None
        try:
            self._send_payload_and_tcp(control)
        except BaseException as exc:
            self._close(control, receive)
            if not isinstance(exc, RuntimeError):
                raise
            raise HardwareError(f"UR robot at {ip}: could not set payload / TCP: {exc}") from None
        self._sender = DirectTorqueSender(
            control.directTorque, cfg.friction_compensation, cfg.friction_viscous_scale, cfg.friction_coulomb_scale
        )
        if self._sender.api is None:
            log.warning("directTorque signature not documented by this ur_rtde; resolving on the first torque")
        self._control, self._receive = control, receive
        self._torque_active = self._script_stopped = False

    def _send_payload_and_tcp(self, control) -> None:
        cfg = self.config
        if control.setPayload(float(cfg.payload_mass_kg), [float(v) for v in cfg.payload_cog_m]) is False:
            raise RuntimeError(f"setPayload({cfg.payload_mass_kg} kg, COG {cfg.payload_cog_m} m) returned false")
        if control.setTcp([float(v) for v in cfg.tcp_offset_m_rad]) is False:
            raise RuntimeError(f"setTcp({cfg.tcp_offset_m_rad}) returned false")

    def _open_control(self, rtde_control):
        cfg = self.config
        cls = rtde_control.RTDEControlInterface
        flags = int(cls.FLAG_UPLOAD_SCRIPT)
        if cfg.use_external_control_urcap:
            flags = int(cls.FLAG_USE_EXT_UR_CAP)
        return cls(cfg.robot_ip, float(cfg.rate_hz), flags, int(cfg.urcap_port), int(cfg.rt_priority))

    # --- state ---------------------------------------------------------------------------------
    def read_state(self) -> JointState:
        receive = self._receive
        if receive is None:
            raise HardwareError(f"UR robot at {self.config.robot_ip}: not connected")
        try:
            if not receive.isConnected():
                raise RuntimeError("RTDE receive connection closed")
            q_rad = np.array(receive.getActualQ(), dtype=float)
            qd_radps = np.array(receive.getActualQd(), dtype=float)
        except RuntimeError as exc:
            raise HardwareError(f"UR robot at {self.config.robot_ip}: lost RTDE receive connection: {exc}") from None
        stamp_s = time.monotonic()
        if q_rad.shape != (6,) or qd_radps.shape != (6,):
            raise HardwareError(
                f"UR robot at {self.config.robot_ip}: RTDE sent {q_rad.shape} positions / {qd_radps.shape} speeds"
            )
        return JointState(stamp_s, q_rad, qd_radps)

    # --- torque --------------------------------------------------------------------------------
    def command_torque(self, tau_Nm: np.ndarray) -> None:
        tau = np.asarray(tau_Nm, dtype=float)
        if tau.shape != (6,):
            raise ValueError(f"tau_Nm must have shape (6,), got {tau.shape}")
        if not np.all(np.isfinite(tau)):
            raise ValueError(f"tau_Nm must be finite, got {tau.tolist()}; nothing sent")
        control = self._require_control()
        if not self._torque_active:
            self._start_torque_mode(control)
        try:
            assert self._sender is not None  # made by _start_torque_mode
            ok = self._sender.send(tau.tolist())
        except RuntimeError as exc:
            raise HardwareError(f"UR robot at {self.config.robot_ip}: directTorque failed: {exc}") from None
        if ok is False:
            raise HardwareError(
                f"UR robot at {self.config.robot_ip}: directTorque refused (control script not running: "
                f"protective stop, pendant stop or lost connection?)"
            )

    def _start_torque_mode(self, control) -> None:
        try:
            if self._script_stopped:
                if control.reuploadScript() is False:
                    raise RuntimeError("reuploadScript returned false")
                self._send_payload_and_tcp(control)  # a new script starts from the installation's values
                self._script_stopped = False
            if self.config.watchdog_min_rate_hz > 0:
                control.setWatchdog(float(self.config.watchdog_min_rate_hz))
        except RuntimeError as exc:
            raise HardwareError(
                f"UR robot at {self.config.robot_ip}: could not (re)start torque control: {exc}"
            ) from None
        self._torque_active = True

    def hold_position(self) -> None:
        """End torque control; the controller stops the arm and holds it. Cheap when already holding."""
        control = self._control
        if control is None or not self._torque_active:
            return
        self._torque_active = False
        try:
            control.stopScript()
        except RuntimeError as exc:
            raise HardwareError(
                f"UR robot at {self.config.robot_ip}: could not stop torque control ({exc}); "
                f"stop the program from the pendant"
            ) from None
        self._script_stopped = True

    # --- pacing --------------------------------------------------------------------------------
    def init_period(self):
        """Start of a control period on the robot's clock (opaque; pass it to ``wait_period``)."""
        return self._require_control().initPeriod()

    def wait_period(self, t_start) -> None:
        """Sleep/spin until one period (1 / rate_hz) after ``t_start`` from ``init_period``."""
        self._require_control().waitPeriod(t_start)

    # --- teardown ------------------------------------------------------------------------------
    def disconnect(self) -> None:
        control, receive = self._control, self._receive
        self._control = self._receive = self._sender = None
        self._torque_active = False
        self._close(control, receive)

    @staticmethod
    def _close(control, receive) -> None:
        steps = []
        if control is not None:
            steps += [("stopScript", control.stopScript), ("control disconnect", control.disconnect)]
        if receive is not None:
            steps += [("receive disconnect", receive.disconnect)]
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # keep closing the rest
                log.warning("UR robot %s failed during disconnect: %s", what, exc)

    def _require_control(self):
        if self.read_only:
            raise HardwareError(f"UR robot at {self.config.robot_ip}: opened read-only, torque control refused")
        if self._control is None:
            raise HardwareError(f"UR robot at {self.config.robot_ip}: not connected")
        return self._control
