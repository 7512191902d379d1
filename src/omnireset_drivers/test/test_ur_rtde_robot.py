import socket
import struct
import threading
import time

import numpy as np
import pytest

from omnireset_core.interfaces import HardwareError
from omnireset_drivers.ur_rtde_robot import (
    RTDE_PORT,
    DirectTorqueSender,
    TorqueApi,
    URRtdeConfig,
    URRtdeRobot,
    detect_torque_api,
    probe_rtde,
)

TAU = [0.1, -0.2, 0.3, 0.0, 0.05, -0.05]


def _loopback_port_busy(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- connect without a robot ---------------------------------------------------------------------

@pytest.mark.skipif(_loopback_port_busy(RTDE_PORT), reason="something listens on 127.0.0.1:30004")
@pytest.mark.parametrize("read_only", [False, True])
def test_connect_to_absent_robot_fails_fast_with_clear_message(read_only):
    robot = URRtdeRobot(URRtdeConfig(robot_ip="127.0.0.1", connect_timeout_s=0.5), read_only=read_only)
    t0 = time.monotonic()
    with pytest.raises(HardwareError) as info:
        robot.connect()
    assert time.monotonic() - t0 < 2.0
    msg = str(info.value)
    for part in ("127.0.0.1", "30004", "powered on", "Remote Control", "network"):
        assert part in msg
    assert not robot.connected
    robot.disconnect()
    robot.disconnect()


class LoopbackPeer:
    """Accepts one connection on 127.0.0.1:<ephemeral> and then stays silent, closes, or answers RTDE."""

    def __init__(self, behaviour):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.behaviour = behaviour
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            request = conn.recv(5)
            if self.behaviour == "rtde" and request == struct.pack(">HBH", 5, 86, 2):
                conn.sendall(struct.pack(">HBB", 4, 86, 1))
            if self.behaviour != "close":
                self.done.wait(2.0)

    def close(self):
        self.done.set()
        self.listener.close()
        self.thread.join(2)


@pytest.mark.parametrize(
    "behaviour, expect",
    [("rtde", None), ("silent", "accepted the connection but sent no RTDE reply"), ("close", "closed it")],
)
def test_rtde_probe_tells_silent_and_closing_peers_from_rtde(behaviour, expect):
    peer = LoopbackPeer(behaviour)
    try:
        t0 = time.monotonic()
        problem = probe_rtde("127.0.0.1", 0.3, port=peer.port)
        assert time.monotonic() - t0 < 0.8
    finally:
        peer.close()
    assert problem is None if expect is None else expect in problem


def test_unconnected_robot_refuses_io_with_hardware_error():
    robot = URRtdeRobot(URRtdeConfig(robot_ip="127.0.0.1"))
    with pytest.raises(HardwareError, match="not connected"):
        robot.read_state()
    with pytest.raises(HardwareError, match="not connected"):
        robot.command_torque(np.zeros(6))
    with pytest.raises(HardwareError, match="not connected"):
        robot.init_period()
    robot.hold_position()  # nothing to stop


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_torque_is_refused_before_anything_else(bad):
    tau = np.zeros(6)
    tau[2] = bad
    with pytest.raises(ValueError, match="finite"):
        URRtdeRobot(URRtdeConfig(robot_ip="127.0.0.1")).command_torque(tau)


def test_wrong_torque_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        URRtdeRobot(URRtdeConfig(robot_ip="127.0.0.1")).command_torque(np.zeros(7))


@pytest.mark.parametrize(
    "field, value",
    [("payload_mass_kg", 9.0), ("payload_cog_m", (0.0, 0.0)), ("tcp_offset_m_rad", (0, 0, float("nan"), 0, 0, 0)),
     ("friction_viscous_scale", (-1.0,) * 6), ("rate_hz", 0.0), ("robot_ip", "")],
)
def test_config_rejects_bad_values_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        URRtdeConfig(**{field: value})


# --- directTorque signature adapter (fakes at the ur_rtde boundary) ------------------------------

class Recorder:
    def __init__(self):
        self.calls = []


def fake_163(rec):
    def directTorque(torque, friction_comp=True):
        rec.calls.append(("flag", list(torque), friction_comp))
        return True
    return directTorque


def fake_165(rec):
    def directTorque(torque, viscous_scale=(0.9, 0.9, 0.8, 0.9, 0.9, 0.9), coulomb_scale=(0.8, 0.8, 0.7, 0.8, 0.8, 0.8)):
        rec.calls.append(("scales", list(torque), list(viscous_scale), list(coulomb_scale)))
        return True
    return directTorque


class PybindLike:
    """Callable exposing only a pybind11-style docstring; *args hides the real signature."""

    def __init__(self, doc, impl):
        self.__doc__ = doc
        self._impl = impl

    def __call__(self, *args, **kwargs):
        return self._impl(*args, **kwargs)


DOC_163 = ("directTorque(self: rtde_control.RTDEControlInterface, torque: list[float], "
           "friction_comp: bool = True) -> bool\n\nDirect torque control\n")
DOC_165 = ("directTorque(self: rtde_control.RTDEControlInterface, torque: list[float], "
           "viscous_scale: list[float] = [0.9, 0.9, 0.8, 0.9, 0.9, 0.9], "
           "coulomb_scale: list[float] = [0.8, 0.8, 0.7, 0.8, 0.8, 0.8]) -> bool\n")


def test_detects_both_signatures_from_python_signature_and_pybind_doc():
    rec = Recorder()
    assert detect_torque_api(fake_163(rec)) is TorqueApi.FRICTION_FLAG
    assert detect_torque_api(fake_165(rec)) is TorqueApi.FRICTION_SCALES
    assert detect_torque_api(PybindLike(DOC_163, fake_163(rec))) is TorqueApi.FRICTION_FLAG
    assert detect_torque_api(PybindLike(DOC_165, fake_165(rec))) is TorqueApi.FRICTION_SCALES
    overloads = "directTorque(*args, **kwargs)\nOverloaded function.\n\n1. " + DOC_163 + "\n2. " + DOC_165
    assert detect_torque_api(PybindLike(overloads, fake_165(rec))) is TorqueApi.FRICTION_SCALES
    assert detect_torque_api(PybindLike("Direct torque control (no signature).", fake_165(rec))) is None


def test_installed_ur_rtde_signature_is_detected():
    rtde_control = pytest.importorskip("rtde_control")
    api = detect_torque_api(rtde_control.RTDEControlInterface.directTorque)
    assert api in (TorqueApi.FRICTION_FLAG, TorqueApi.FRICTION_SCALES)


@pytest.mark.parametrize("pybind", [False, True])
def test_friction_off_sends_false_to_163(pybind):
    rec = Recorder()
    fn = PybindLike(DOC_163, fake_163(rec)) if pybind else fake_163(rec)
    assert DirectTorqueSender(fn, friction_compensation=False).send(TAU)
    assert rec.calls == [("flag", TAU, False)]


@pytest.mark.parametrize("pybind", [False, True])
def test_friction_off_sends_zero_scales_to_165(pybind):
    rec = Recorder()
    fn = PybindLike(DOC_165, fake_165(rec)) if pybind else fake_165(rec)
    assert DirectTorqueSender(fn, friction_compensation=False, viscous_scale=[0.5] * 6).send(TAU)
    assert rec.calls == [("scales", TAU, [0.0] * 6, [0.0] * 6)]


def test_friction_on_is_passed_explicitly_to_both():
    rec = Recorder()
    DirectTorqueSender(fake_163(rec), friction_compensation=True).send(TAU)
    DirectTorqueSender(fake_165(rec), True, [0.5] * 6, [0.25] * 6).send(TAU)
    assert rec.calls == [("flag", TAU, True), ("scales", TAU, [0.5] * 6, [0.25] * 6)]


@pytest.mark.parametrize("make, expect", [(fake_163, TorqueApi.FRICTION_FLAG), (fake_165, TorqueApi.FRICTION_SCALES)])
def test_undocumented_signature_resolved_once_by_trial(make, expect):
    rec = Recorder()
    strict = make(rec)

    class Opaque:  # no doc, no usable signature
        def __call__(self, *args, **kwargs):
            return strict(*args, **kwargs)

    sender = DirectTorqueSender(Opaque(), friction_compensation=False)
    assert sender.api is None
    sender.send(TAU)
    sender.send(TAU)
    assert sender.api is expect
    assert len(rec.calls) == 2  # the failed trial sent nothing
    assert all(call[2:] in [(False,), ([0.0] * 6, [0.0] * 6)] for call in rec.calls)
