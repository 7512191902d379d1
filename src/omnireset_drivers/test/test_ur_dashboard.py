"""The PolyScope version check against a loopback server that talks like the UR dashboard server."""
import socket
import struct
import threading

import pytest

from omnireset_core.interfaces import HardwareError
from omnireset_drivers.ur_dashboard import check_polyscope, parse_version, polyscope_version, required_polyscope
from omnireset_drivers.ur_rtde_robot import RTDE_PORT, URRtdeConfig, URRtdeRobot

from dashboard_fake_server import FakeDashboardServer


def test_reads_the_version_from_the_reply():
    with FakeDashboardServer("URSoftware 5.11.9.1010452 (Jan 24 2022)") as server:
        version, reply = polyscope_version("127.0.0.1", server.port, 1.0)
    assert version == (5, 11, 9) and reply.startswith("URSoftware 5.11.9")
    assert server.commands == ["PolyscopeVersion"]


@pytest.mark.parametrize("rtde, polyscope, ok", [
    ((1, 6, 3), "URSoftware 5.23.0.100 (Jan 01 2026)", True),
    ((1, 6, 3), "URSoftware 5.22.4.100 (Jan 01 2025)", False),
    ((1, 6, 5), "URSoftware 5.23.0.100 (Jan 01 2026)", False),
    ((1, 6, 5), "URSoftware 5.26.1.100 (Jun 01 2026)", True),
    ((1, 6, 9), "URSoftware 5.26.0.100 (Jun 01 2026)", True),  # a later release: the newest rule known
    ((1, 6, 5), "URSoftware 3.15.8.106339 (Dec 12 2022)", False),  # CB3
])
def test_direct_torque_needs_the_polyscope_of_its_ur_rtde(rtde, polyscope, ok):
    with FakeDashboardServer(polyscope) as server:
        if ok:
            assert check_polyscope("127.0.0.1", rtde, server.port, 1.0) == parse_version(polyscope)
        else:
            with pytest.raises(HardwareError, match=r"needs PolyScope >= 5\.2[36]\.0 on an e-Series"):
                check_polyscope("127.0.0.1", rtde, server.port, 1.0)


def test_ur_rtde_without_direct_torque_is_refused():
    with pytest.raises(HardwareError, match="no direct torque; install ur_rtde >= 1.6.3"):
        required_polyscope((1, 5, 9))


def test_no_server_a_wrong_greeting_or_a_garbled_reply_say_so():
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(HardwareError, match="PolyScope X has none"):
        polyscope_version("127.0.0.1", closed_port, 0.5)
    with FakeDashboardServer(greeting="hello") as server, pytest.raises(HardwareError, match="greeted with 'hello'"):
        polyscope_version("127.0.0.1", server.port, 0.5)
    with FakeDashboardServer("version unknown") as server, pytest.raises(HardwareError, match="'version unknown'"):
        polyscope_version("127.0.0.1", server.port, 0.5)


def _port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class RtdeVersionPeer:
    """Answers ur_rtde's first RTDE request (protocol version) on 127.0.0.1:30004, as the controller does."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", RTDE_PORT))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            if conn.recv(5) == struct.pack(">HBH", 5, 86, 2):
                conn.sendall(struct.pack(">HBB", 4, 86, 1))

    def close(self):
        self.listener.close()
        self.thread.join(2.0)


@pytest.mark.skipif(not _port_free(RTDE_PORT), reason="something listens on 127.0.0.1:30004")
def test_connect_refuses_an_old_polyscope_before_uploading_anything():
    pytest.importorskip("rtde_control")
    peer = RtdeVersionPeer()
    try:
        with FakeDashboardServer("URSoftware 5.12.0.100 (Jan 01 2023)") as dashboard:
            robot = URRtdeRobot(URRtdeConfig(robot_ip="127.0.0.1", dashboard_port=dashboard.port, connect_timeout_s=1.0))
            with pytest.raises(HardwareError, match=r"runs PolyScope 5\.12\.0.*needs PolyScope >="):
                robot.connect()
            assert not robot.connected and dashboard.commands == ["PolyscopeVersion"]
    finally:
        peer.close()
