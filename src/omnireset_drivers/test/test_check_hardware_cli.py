import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from robotiq_fake_server import FakeRobotiqServer


def _command():
    script = Path(sys.executable).parent / "omnireset-check-hardware"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("omnireset-check-hardware")
    return [found] if found else [sys.executable, "-m", "omnireset_drivers.cli"]


def run_cli(*args, timeout=30):
    return subprocess.run([*_command(), *args], capture_output=True, text=True, timeout=timeout)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _no_traceback(result):
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_robot_gives_one_line_exit_1_no_traceback():
    result = run_cli("--robot-ip", "127.0.0.1", "--timeout", "0.5")
    assert result.returncode == 1, result.stderr
    _no_traceback(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("robot") and "FAIL" in lines[0] and "127.0.0.1" in lines[0]
    assert "unreachable" in lines[0]


def test_each_device_gets_a_verdict_and_any_failure_gives_exit_1():
    server = FakeRobotiqServer()
    try:
        result = run_cli(
            "--robot-ip", "127.0.0.1", "--gripper-host", "127.0.0.1", "--gripper-port", str(server.port),
            "--camera", "999999999999", "--timeout", "0.5",
        )
    finally:
        server.kill()
    _no_traceback(result)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["robot", "gripper", "camera"]
    assert "FAIL" in lines[0]
    assert " OK " in lines[1] and "activated" in lines[1]
    assert "FAIL" in lines[2] and "999999999999" in lines[2] and "connected serials" in lines[2]


def test_all_ok_gives_exit_0():
    server = FakeRobotiqServer(start_activated=True)
    try:
        result = run_cli("--gripper-host", "127.0.0.1", "--gripper-port", str(server.port))
    finally:
        server.kill()
    _no_traceback(result)
    assert result.returncode == 0 and " OK " in result.stdout


def test_gripper_nothing_listening_fails_cleanly():
    port = _free_port()
    result = run_cli("--gripper-host", "127.0.0.1", "--gripper-port", str(port), "--timeout", "0.5")
    _no_traceback(result)
    assert result.returncode == 1 and f"127.0.0.1:{port}" in result.stdout and "FAIL" in result.stdout


@pytest.mark.parametrize("args", [[], ["--config", "/nonexistent/robot.yaml"], ["--robot-ip", "x", "--timeout", "0"]])
def test_bad_arguments_give_exit_2_and_usage(args):
    result = run_cli(*args)
    _no_traceback(result)
    assert result.returncode == 2 and "usage:" in result.stderr
