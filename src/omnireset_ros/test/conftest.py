"""Fixtures for tests of the nodes over real DDS: an isolated ROS domain on loopback, a probe
node spun in the background, and node processes started the way a launch file would."""
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # discovery and traffic stay on this host
os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 100))  # isolate from any other test run
os.environ["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"

import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


def wait_for(predicate, timeout_s: float = 10.0, period_s: float = 0.02):
    """Poll until ``predicate()`` is truthy; returns its value or raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(period_s)
    raise TimeoutError(f"condition not met within {timeout_s} s")


class BackgroundPublisher:
    """Calls ``publish_once(k)`` every ``period_s`` on a thread while in a ``with`` block (a stand-in
    for nodes the test does not start)."""

    period_s = 0.05

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2.0)

    def _run(self):
        deadline, k = time.monotonic(), 0
        while not self._stop.is_set():
            self.publish_once(k)
            k += 1
            deadline += self.period_s
            self._stop.wait(max(0.0, deadline - time.monotonic()))

    def publish_once(self, k: int) -> None:
        raise NotImplementedError


@pytest.fixture()
def probe():
    """A node in this process for publishing, subscribing and calling services in tests."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"test_probe_{os.getpid()}_{random.randint(0, 1 << 30)}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)
    thread.join(2.0)


class NodeProcess:
    def __init__(self, module: str, params: dict | None = None, params_files=(), name: str | None = None):
        args = [sys.executable, "-m", f"omnireset_ros.{module}", "--ros-args"]
        for f in params_files:
            args += ["--params-file", str(f)]
        for key, value in (params or {}).items():
            args += ["-p", f"{key}:={_ros_value(value)}"]
        if name:
            args += ["-r", f"__node:={name}"]
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def stop(self, timeout_s: float = 5.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT, as ros2 launch does
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(2.0)
        return self.proc.returncode


def _ros_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_ros_value(v) for v in value) + "]"
    return str(value)


@pytest.fixture()
def start_node():
    """start_node(module, params=None, params_files=(), name=None) -> NodeProcess; all stopped at the end."""
    started: list[NodeProcess] = []

    def start(module, params=None, params_files=(), name=None):
        node = NodeProcess(module, params, params_files, name)
        started.append(node)
        return node

    yield start
    for node in reversed(started):
        node.stop()
