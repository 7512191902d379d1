"""How every node process refuses to start: a typo'd parameter by name, an unreadable params file in
one line; exit code 1 and no traceback either way. And the shipped params files against the nodes'
own defaults."""
import pytest
import yaml
from conftest import CONFIG_DIR, wait_for
from rclpy.parameter import parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient

NODES = ("controller_node", "camera_node", "policy_node", "supervisor_node", "scheduler_node")
NODE_NAMES = {"controller_node": "controller", "camera_node": "cameras", "policy_node": "policy",
              "supervisor_node": "supervisor", "scheduler_node": "scheduler"}
ROS_OWN = {"use_sim_time", "start_type_description_service"}  # every rclpy node has them


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


def _flat(mapping: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _declared(probe, node_name: str) -> dict:
    """Every parameter of a running node and its value, through its parameter services, once the
    node has declared them (the list is the same twice in a row)."""
    client = AsyncParameterClient(probe, node_name)
    assert client.wait_for_services(timeout_sec=30.0), f"no parameter services on {node_name}"
    listed: list = []

    def settled() -> bool:
        names = sorted(wait_for(client.list_parameters().result, 10.0).result.names)
        done = names == listed and bool(set(names) - ROS_OWN)
        listed[:] = names
        return done

    wait_for(settled, 30.0, period_s=0.5)
    out = {}
    for name in listed:  # one at a time: a parameter declared without a value empties a joint answer
        values = wait_for(client.get_parameters([name]).result, 10.0).values
        out[name] = parameter_value_to_python(values[0]) if values else None
    return out


@pytest.mark.parametrize("module", NODES)
def test_each_params_file_documents_every_parameter_at_its_default(start_node, probe, module, tmp_path):
    """The code holds the defaults (from the core's dataclasses where there is one); the YAML under
    config/ros lists every parameter with a comment and the same value, so that a user reads the
    defaults in force and the file and the node cannot drift apart. A deployment changes them in a
    params file of its own or in the launch arguments."""
    name = NODE_NAMES[module]
    shipped = _flat(yaml.safe_load((CONFIG_DIR / "ros" / f"{module}.yaml").read_text())[name]["ros__parameters"])
    required = {}
    if module == "scheduler_node":
        schedule = tmp_path / "schedule.yaml"
        schedule.write_text("name: s\nsteps:\n  - {name: a, checkpoint_path: x.pt, task: peg, timeout_s: 5}\n")
        required = {"schedule": str(schedule)}
    node = start_node(module, required)
    declared = _declared(probe, name)
    node.stop()
    for key in required:
        declared[key] = shipped[key]
    # a parameter without a default (unset unless given) is documented as a comment
    undocumented = sorted(k for k in set(declared) - ROS_OWN - set(shipped) if declared[k] is not None)
    assert not undocumented, f"{module}.yaml does not list {undocumented}"
    assert not set(shipped) - set(declared), f"not declared by the node: {sorted(set(shipped) - set(declared))}"
    differ = {k: (shipped[k], declared[k]) for k in shipped if _plain(shipped[k]) != _plain(declared[k])}
    assert not differ, f"{module}.yaml (file, node default): {differ}"


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


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
