"""The calibration hash check against a loopback server that streams like the UR primary client
interface: the hash is computed the way ur_calibration computes it (checked against ur_description's
published UR5e hash), and a file of another robot is refused at connect."""
import socket
import threading

import pytest
import yaml

from omnireset_core.interfaces import HardwareError
from omnireset_drivers.ur_primary import calibration_hash, check_calibration, robot_calibration_hash, std_hash
from omnireset_drivers.ur_rtde_robot import RTDE_PORT, URRtdeConfig, URRtdeRobot

from primary_fake_server import UR5E_DH, FakePrimaryServer
from test_ur_dashboard import RtdeVersionPeer, _port_free

UR5E_DEFAULT_HASH = "calib_12788084448423163542"  # ur_description config/ur5e/default_kinematics.yaml


def test_the_hash_of_a_nominal_ur5e_is_the_published_one():
    assert calibration_hash(*UR5E_DH) == UR5E_DEFAULT_HASH
    changed = (UR5E_DH[0], UR5E_DH[1], (0.1626,) + UR5E_DH[2][1:], UR5E_DH[3])
    assert calibration_hash(*changed) != UR5E_DEFAULT_HASH
    assert std_hash(b"") != std_hash(b"\x00") and std_hash(b"abcdefgh") != std_hash(b"abcdefgi")


def test_reads_the_hash_after_skipping_other_messages_and_states_without_kinematics():
    with FakePrimaryServer(kinematics_from=3) as server:
        assert robot_calibration_hash("127.0.0.1", server.port, 2.0) == UR5E_DEFAULT_HASH


def test_a_file_of_another_robot_is_refused_naming_both_hashes():
    with FakePrimaryServer() as server:
        assert check_calibration("127.0.0.1", UR5E_DEFAULT_HASH, "robot.yaml", server.port, 2.0) == UR5E_DEFAULT_HASH
        with pytest.raises(HardwareError, match=rf"its hash is calib_1, the robot at 127.0.0.1 reports {UR5E_DEFAULT_HASH}"):
            check_calibration("127.0.0.1", "calib_1", "mine.yaml", server.port, 2.0)
        with pytest.raises(HardwareError, match="has no kinematics.hash"):
            check_calibration("127.0.0.1", "", "mine.yaml", server.port, 2.0)


def test_no_kinematics_no_server_or_garbage_say_so():
    with FakePrimaryServer(kinematics_from=10**6) as server:
        with pytest.raises(HardwareError, match="no kinematics info within 0.5 s"):
            robot_calibration_hash("127.0.0.1", server.port, 0.5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(HardwareError, match=f"UR primary interface at 127.0.0.1:{closed_port}"):
        robot_calibration_hash("127.0.0.1", closed_port, 0.5)
    # a server that speaks something else
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with pytest.raises(HardwareError, match="not a UR primary interface stream"):
        robot_calibration_hash("127.0.0.1", port, 1.0)
    thread.join(2.0)
    listener.close()


@pytest.mark.skipif(not _port_free(RTDE_PORT), reason="something listens on 127.0.0.1:30004")
def test_connect_refuses_a_calibration_file_of_another_robot_before_uploading_anything(tmp_path):
    pytest.importorskip("rtde_control")
    calibration = tmp_path / "other_robot.yaml"
    kinematics = {link: dict(x=0.0, y=0.0, z=0.0, roll=0.0, pitch=0.0, yaw=0.0)
                  for link in ("shoulder", "upper_arm", "forearm", "wrist_1", "wrist_2", "wrist_3")}
    calibration.write_text(yaml.safe_dump({"kinematics": {**kinematics, "hash": "calib_42"}}))
    peer = RtdeVersionPeer()
    try:
        with FakePrimaryServer() as primary:
            robot = URRtdeRobot(URRtdeConfig(robot_ip="127.0.0.1", check_polyscope=False, kinematics_file=str(calibration),
                                             primary_port=primary.port, connect_timeout_s=1.0))
            with pytest.raises(HardwareError, match=f"other_robot.yaml is for another robot.*reports {UR5E_DEFAULT_HASH}"):
                robot.connect()
            assert not robot.connected
    finally:
        peer.close()
