import socket
import time

import pytest

from omnireset_core.interfaces import HardwareError
from omnireset_drivers.robotiq_socket import RobotiqConfig, RobotiqGripper
from robotiq_fake_server import FakeRobotiqServer


@pytest.fixture
def server():
    srv = FakeRobotiqServer()
    yield srv
    srv.kill()


def _config(port, **kw):
    base = dict(host="127.0.0.1", port=port, socket_timeout_s=0.5, activation_timeout_s=1.0, poll_period_s=0.01)
    base.update(kw)
    return RobotiqConfig(**base)


def _wait_state(gripper, predicate, timeout_s=1.0):
    deadline = time.monotonic() + timeout_s
    while True:
        state = gripper.read_state()
        if predicate(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.01)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_activation_resets_then_activates_and_sets_speed_force(server):
    with RobotiqGripper(_config(server.port, speed=200, force=50)):
        assert server.sta == 3
    reqs = server.requests
    assert reqs.index("SET ACT 0 ATR 0") < reqs.index("SET ACT 1") < reqs.index("SET SPE 200 FOR 50")


def test_already_active_gripper_is_not_reset():
    srv = FakeRobotiqServer(start_activated=True)
    try:
        with RobotiqGripper(_config(srv.port)):
            pass
        assert not any(r.startswith("SET ACT") for r in srv.requests)
    finally:
        srv.kill()


def test_activation_timeout_names_the_gripper_and_status():
    srv = FakeRobotiqServer(activates=False)
    try:
        gripper = RobotiqGripper(_config(srv.port, activation_timeout_s=0.2))
        t0 = time.monotonic()
        with pytest.raises(HardwareError, match=r"127\.0\.0\.1:\d+: activation did not finish within 0\.2 s \(STA=1"):
            gripper.connect()
        assert time.monotonic() - t0 < 1.0
        assert not gripper.connected
    finally:
        srv.kill()


def test_open_close_and_commands_only_on_change(server):
    with RobotiqGripper(_config(server.port, force=80)) as gripper:
        state = gripper.read_state()
        assert state.opening_frac == 0.0 and not state.closed_cmd and not state.object_detected
        gripper.command(True)
        gripper.command(True)
        state = _wait_state(gripper, lambda s: s.opening_frac == 1.0)
        assert state.opening_frac == 1.0 and state.closed_cmd and not state.object_detected
        gripper.command(False)
        gripper.command(False)
        state = _wait_state(gripper, lambda s: s.opening_frac == 0.0)
        assert state.opening_frac == 0.0 and not state.closed_cmd
        gripper.command(True)
    assert server.set_commands() == ["SET POS 255 SPE 255 FOR 80 GTO 1", "SET POS 0 SPE 255 FOR 80 GTO 1",
                                     "SET POS 255 SPE 255 FOR 80 GTO 1"]


def test_object_detected_when_fingers_stop_on_it():
    srv = FakeRobotiqServer(object_at=128)
    try:
        with RobotiqGripper(_config(srv.port)) as gripper:
            gripper.command(True)
            state = _wait_state(gripper, lambda s: s.object_detected)
            assert state.object_detected and state.closed_cmd
            assert state.opening_frac == pytest.approx(128 / 255)
    finally:
        srv.kill()


def test_custom_open_closed_positions_map_to_fraction(server):
    with RobotiqGripper(_config(server.port, position_open=3, position_closed=230)) as gripper:
        gripper.command(False)
        assert _wait_state(gripper, lambda s: s.opening_frac == 0.0).opening_frac == 0.0
        gripper.command(True)
        assert _wait_state(gripper, lambda s: s.opening_frac == 1.0).opening_frac == 1.0


def test_server_dying_gives_hardware_error(server):
    gripper = RobotiqGripper(_config(server.port))
    gripper.connect()
    server.kill()
    with pytest.raises(HardwareError, match="Robotiq gripper at 127.0.0.1"):
        gripper.read_state()
        gripper.read_state()  # the first request may still be written before the reset is seen
    with pytest.raises(HardwareError, match="not connected"):
        gripper.command(True)
    gripper.disconnect()
    gripper.disconnect()


def test_silent_server_times_out(server):
    with RobotiqGripper(_config(server.port, socket_timeout_s=0.2)) as gripper:
        server.silent = True
        t0 = time.monotonic()
        with pytest.raises(HardwareError, match=r"no reply to 'GET POS' within 0\.2 s"):
            gripper.read_state()
        assert time.monotonic() - t0 < 1.0


def test_nothing_listening_gives_clear_error_quickly():
    port = _free_port()
    t0 = time.monotonic()
    with pytest.raises(HardwareError, match=rf"127\.0\.0\.1:{port} unreachable.*URCap"):
        RobotiqGripper(_config(port)).connect()
    assert time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("field, value", [("speed", 256), ("force", -1), ("port", 0), ("socket_timeout_s", 0.0)])
def test_config_rejects_bad_values_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        RobotiqConfig(**{field: value})
