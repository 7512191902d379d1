"""How every node process refuses to start: a typo'd parameter by name, an unreadable params file in
one line; exit code 1 and no traceback either way."""
import pytest
from conftest import CONFIG_DIR, wait_for

NODES = ("controller_node", "camera_node", "policy_node", "supervisor_node", "scheduler_node")
NODE_NAMES = {"controller_node": "controller", "camera_node": "cameras", "policy_node": "policy",
              "supervisor_node": "supervisor"}


@pytest.mark.parametrize("module", NODES)
def test_a_typo_in_a_parameter_name_is_refused_by_name(start_node, module, tmp_path):
    params = {"hardwre": "real"}
    if module == "policy_node":
        params = {"autostrat": True}
    if module == "scheduler_node":  # a valid schedule, so that only the typo is wrong
        schedule = tmp_path / "schedule.yaml"
        schedule.write_text("name: s\nsteps:\n  - {name: a, checkpoint_path: x.pt, task: peg, timeout_s: 5}\n")
        params["schedule"] = str(schedule)
    node = start_node(module, params)
    assert node.proc.wait(30.0) == 1, node.output
    assert "cannot start: unknown parameter" in node.output, node.output
    typo = next(iter(params))
    assert repr(typo) in node.output
    assert "Traceback" not in node.output


def test_the_suggestion_names_the_parameter_meant(start_node):
    node = start_node("policy_node", {"autostrat": True})
    assert node.proc.wait(30.0) == 1
    assert "unknown parameter 'autostrat' (did you mean 'autostart'?)" in node.output, node.output


def test_a_missing_params_file_is_one_line(start_node, tmp_path):
    missing = tmp_path / "no_such_file.yaml"
    node = start_node("supervisor_node", params_files=[missing])
    assert node.proc.wait(30.0) == 1
    assert f"cannot start: Couldn't parse params file: '--params-file {missing}'" in node.output, node.output
    assert "Traceback" not in node.output


def test_every_shipped_params_file_is_accepted(start_node, probe):
    """The YAMLs under config/ros hold only parameters their node declares (so the check above
    never refuses what the project ships)."""
    for module in ("controller_node", "camera_node", "supervisor_node", "policy_node"):
        node = start_node(module, params_files=[CONFIG_DIR / "ros" / f"{module}.yaml"])
        wait_for(lambda: NODE_NAMES[module] in probe.get_node_names() or node.proc.poll() is not None, 30.0)
        assert node.stop() == 0, node.output
        assert "unknown parameter" not in node.output


def test_a_node_dies_with_the_process_that_started_it(probe):
    """As under ``ros2 launch`` killed by SIGKILL (or by SIGTERM, which upstream launch does not
    forward): the launcher is gone, and its node stops too instead of running on as an orphan."""
    import signal
    import subprocess
    import sys

    launcher = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "node = subprocess.Popen([sys.executable, '-m', 'omnireset_ros.supervisor_node'])\n"
        "print(node.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    node_pid = int(launcher.stdout.readline())
    wait_for(lambda: "supervisor" in probe.get_node_names(), 30.0)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait(10)

    def gone() -> bool:
        try:
            return open(f"/proc/{node_pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    wait_for(gone, 10.0)  # raises if the node is still running
