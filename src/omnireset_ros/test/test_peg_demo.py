"""The main job end to end: the peg stack on the twin as processes, activated, observed, reported,
with the policy that drove the arm named in the output."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run_demo(out, *args, timeout=400):
    proc = subprocess.run([sys.executable, "-m", "omnireset_ros.peg_demo", "--output", str(out), *args],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc, json.loads((out / "summary.json").read_text())


def test_peg_demo_inserts_the_peg_over_several_episodes_and_says_it_was_scripted(tmp_path):
    out = tmp_path / "peg"
    proc, summary = run_demo(out, "--episodes", "2", "--duration", "45", "--require-success")
    assert "SCRIPTED" in proc.stdout and "scripted reference" in summary["policy"]["label"]
    assert summary["episodes"] == 2 and summary["successes"] >= 1
    assert summary["success_rate"] == summary["successes"] / 2
    for episode in summary["per_episode"]:
        assert 5.0 <= episode["policy_rate_hz"] <= 11.0  # 10 Hz nominal; two shared cores can lag
        assert episode["controller"]["mode"] == "tracking"
        assert episode["policy"]["scripted"] in ("True", True)
    assert summary["per_episode"][0]["peg_start_pose_b"] != summary["per_episode"][1]["peg_start_pose_b"]
    assert (out / "cameras.mp4").stat().st_size > 10_000
    for node in ("controller_node", "camera_node", "policy_node", "supervisor_node"):
        assert (out / "episode_0" / f"{node}.log").exists()


def test_peg_demo_with_the_placeholder_reports_no_success(tmp_path):
    out = tmp_path / "peg"
    proc, summary = run_demo(out, "--episodes", "1", "--duration", "4",
                             "--checkpoint", "checkpoints/peg_state_placeholder.pt")
    assert "PLACEHOLDER" in proc.stdout and summary["policy"]["label"].startswith("placeholder")
    assert summary["successes"] == 0 and summary["per_episode"][0]["time_to_success_s"] is None


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(stat.parent.name))
    return kids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture()
def start_demo():
    """start_demo(out, *args) -> Popen of the demo; any still running at the end is killed (its
    nodes follow it: that is what test_no_node_outlives_a_killed_demo checks)."""
    demos = []

    def start(out, *args):
        demos.append(subprocess.Popen([sys.executable, "-m", "omnireset_ros.peg_demo", "--output", str(out), *args],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        return demos[-1]

    yield start
    for demo in demos:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)


def wait_for_nodes(demo, n=4, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while len(children_of(demo.pid)) < n:
        assert demo.poll() is None and time.monotonic() < deadline, demo.stdout.read() if demo.poll() else "timeout"
        time.sleep(0.2)
    return children_of(demo.pid)


def test_sigterm_ends_the_episode_and_still_writes_the_summary(tmp_path, start_demo):
    out = tmp_path / "peg"
    demo = start_demo(out, "--episodes", "3", "--duration", "60")
    nodes = wait_for_nodes(demo)
    lines = []
    for line in demo.stdout:  # until the stack is up and the policy runs
        lines.append(line)
        if "episode 0: policy active" in line:
            break
    time.sleep(2.0)
    demo.send_signal(signal.SIGTERM)
    output = "".join(lines) + demo.communicate(timeout=60)[0]
    assert demo.returncode == 130, output
    assert "Traceback" not in output and "interrupted" in output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 1 and summary["per_episode"][0]["interrupted"] is True
    assert not any(alive(pid) for pid in nodes)


def test_no_node_outlives_a_killed_demo(tmp_path, start_demo):
    demo = start_demo(tmp_path / "peg", "--episodes", "1", "--duration", "60")
    nodes = wait_for_nodes(demo)
    demo.kill()  # SIGKILL: the demo cannot stop its nodes itself
    demo.wait(10)
    deadline = time.monotonic() + 15.0
    while any(alive(pid) for pid in nodes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in nodes), [pid for pid in nodes if alive(pid)]


def test_without_a_domain_set_the_demo_keeps_to_a_domain_of_its_own(tmp_path, start_node, start_demo):
    import os
    import re

    other = start_node("controller_node")  # somebody else's stack, on this test's domain (conftest)
    saved = os.environ.pop("ROS_DOMAIN_ID")
    try:
        demo = start_demo(tmp_path / "peg", "--episodes", "1", "--duration", "45", "--require-success")
    finally:
        os.environ["ROS_DOMAIN_ID"] = saved
    output = demo.communicate(timeout=240)[0]
    assert demo.returncode == 0, output  # the peg went in: the other controller did not interfere
    domain = re.search(r"ROS domain (\d+)\)", output)
    assert domain and domain.group(1) != saved and 1 <= int(domain.group(1)) <= 101, output
    assert other.proc.poll() is None  # and the other stack was left alone
