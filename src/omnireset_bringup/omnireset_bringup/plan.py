"""What each launch file starts, as plain data: declared arguments and the nodes with their
parameters. ``launch_common`` turns this into launch actions; keeping it free of the ``launch``
package lets it be tested anywhere.

Parameters of a node = its file config_dir/ros/<executable>.yaml, then the launch-argument
overrides below (later wins). An empty string argument means "keep the file's value".

Everything that would stop a node is checked here, before any node starts: a task that is not
shipped (leg, drawer and the four-leg schedule's tasks until they exist), rviz:=true without rviz2
installed, missing config files. robot_state_publisher is optional: without it the plan says so
and the robot model is not on /tf.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from omnireset_core.policy.metadata import DEFAULT_CAMERAS
from omnireset_bringup.urdf import urdf_from_config
from omnireset_core.config import read_yaml
from omnireset_core.scheduling import load_schedule, task_step_validator
from omnireset_core.tasks import load_task

NODES_PACKAGE = "omnireset_ros"
SIM, REAL = "sim", "real"
HARDWARE = (SIM, REAL)
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
CAMERAS = DEFAULT_CAMERAS
CONFIG_DIR_ENV = "OMNIRESET_CONFIG_DIR"  # read by omnireset_sim and the nodes
RVIZ_CONFIG = Path("rviz") / "omnireset.rviz"
SCHEDULE_FILE = Path("schedules") / "four_leg.yaml"
N_LEGS = 4


@dataclass(frozen=True)
class Launch:
    task: str | None  # the policy's task; None: the scheduler sets task and checkpoint per step
    scheduler: bool = False


LAUNCHES = {
    "peg": Launch(task="peg"),
    "leg": Launch(task="leg_twist"),
    "drawer": Launch(task="drawer"),
    "four_leg": Launch(task=None, scheduler=True),
}

# executable -> node name, as in omnireset_ros/setup.py and each node's constructor.
NODE_NAMES = {
    "controller_node": "controller",
    "camera_node": "cameras",
    "policy_node": "policy",
    "supervisor_node": "supervisor",
    "scheduler_node": "scheduler",
}


def params_file(config_dir: str | Path, executable: str) -> Path:
    return Path(config_dir) / "ros" / f"{executable}.yaml"


@dataclass(frozen=True)
class Argument:
    name: str
    default: str
    description: str
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NodeSpec:
    package: str
    executable: str
    name: str
    parameters: tuple[Any, ...] = ()  # params file paths (str) and override dicts, in order
    arguments: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def launch_arguments(launch: str, default_config_dir: str | Path) -> tuple[Argument, ...]:
    """The arguments ``<launch>.launch.py`` declares, with their defaults."""
    spec = LAUNCHES[launch]
    args = [
        Argument("hardware", SIM, "sim: the MuJoCo twin stands in for the cell; real: UR7e, 2F-85 and RealSense",
                 HARDWARE),
        Argument("robot_ip", "", "UR controller address (hardware:=real); empty: config/robot.yaml"),
        *(Argument(f"{cam}_serial", "", f"serial number of the {cam} RealSense (hardware:=real); "
                   "empty: config/robot.yaml") for cam in CAMERAS),
        Argument("config_dir", str(default_config_dir),
                 "directory with robot.yaml, controller.yaml, cameras.yaml, cell.yaml, ros/, rviz/, schedules/"),
        Argument("rviz", "false", "start rviz2 with config/rviz/omnireset.rviz (needs rviz2 installed)",
                 ("true", "false")),
        Argument("log_level", "info", "log level of every node", ("debug", "info", "warn", "error", "fatal")),
    ]
    if spec.scheduler:
        args.append(Argument("schedule", "", f"schedule YAML; empty: <config_dir>/{SCHEDULE_FILE}"))
        args += [Argument(f"leg{i}_checkpoint", "", f"policy checkpoint of leg {i}; empty: the schedule's")
                 for i in range(1, N_LEGS + 1)]
    else:
        args.append(Argument("checkpoint", "",
                             f"policy checkpoint of the {spec.task} task; relative paths are tried against the "
                             "working directory first; empty: config/ros/policy_node.yaml's (the untrained peg "
                             "placeholder)"))
    return tuple(args)


def _flag(name: str, value: str) -> bool:
    try:
        return BOOLEANS[value.strip().lower()]
    except KeyError:
        raise ValueError(f"launch argument {name} must be true or false, got {value!r}") from None


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path)) if path else ""


def _non_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides whose launch argument was given (an empty string keeps the params file's value)."""
    return {k: v for k, v in values.items() if v != ""}


def package_installed(package: str) -> bool:
    """Whether the ament index (the sourced ROS 2 install and workspaces) has ``package``."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return False
    try:
        get_package_share_directory(package)
    except PackageNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class Plan:
    nodes: tuple[NodeSpec, ...]
    warnings: tuple[str, ...] = ()  # what the launch leaves out, to log before starting


def _check_tasks(launch: str, spec: Launch, schedule: str | None) -> None:
    """Refuse a launch whose task(s) are not shipped, naming them; nothing has started yet."""
    try:
        if spec.task is not None:
            load_task(spec.task)
        if schedule is not None:
            validate = task_step_validator()
            for step in load_schedule(schedule).steps:
                validate(step)
    except ValueError as exc:
        raise ValueError(f"launch {launch}: {exc}; nothing was started") from None


def robot_config_with_serials(robot_yaml: str | Path, serials: Mapping[str, str], out_dir: str | Path) -> Path:
    """A copy of robot.yaml with the given camera serials replaced, written into ``out_dir``.

    The nodes read serials from robot.yaml only; this is how the *_serial arguments reach them.
    """
    data = read_yaml(robot_yaml)  # merge keys (<<: *camera) are resolved on reading
    cameras = data.get("cameras")
    if not isinstance(cameras, dict):
        raise ValueError(f"{robot_yaml}: no cameras section to put the serials in")
    for name, serial in serials.items():
        if not isinstance(cameras.get(name), dict):
            raise ValueError(f"{robot_yaml}: no camera {name!r} (have {sorted(cameras)})")
        cameras[name] = {**cameras[name], "serial": str(serial)}
    out = Path(out_dir) / "robot.yaml"
    out.write_text(f"# {robot_yaml} with camera serials from the launch arguments\n"
                   + yaml.safe_dump(data, sort_keys=False))
    return out


def launch_plan(launch: str, values: Mapping[str, str], scratch_dir: str | Path | None = None,
                installed=package_installed) -> Plan:
    """The nodes ``<launch>.launch.py`` starts for resolved argument ``values``.

    ``scratch_dir`` receives derived files (robot.yaml with serials); default: a new temp dir.
    ``installed(package)`` says whether a ROS package is available. Raises ValueError naming the
    argument, file, task or package at fault.
    """
    if launch not in LAUNCHES:
        raise ValueError(f"unknown launch {launch!r}; have {sorted(LAUNCHES)}")
    spec = LAUNCHES[launch]
    expected = {a.name for a in launch_arguments(launch, "")}
    missing = sorted(expected - set(values))
    if missing:
        raise ValueError(f"launch {launch}: no value for argument(s) {missing}")
    hardware = values["hardware"]
    if hardware not in HARDWARE:
        raise ValueError(f"launch argument hardware must be one of {HARDWARE}, got {hardware!r}")
    config_dir = Path(_absolute(values["config_dir"]))
    executables = ["controller_node", "camera_node", "policy_node", "supervisor_node"]
    if spec.scheduler:
        executables.append("scheduler_node")
    wanted = [params_file(config_dir, e) for e in executables] + [config_dir / "robot.yaml"]
    absent = [str(p) for p in wanted if not p.is_file()]
    if absent:
        raise ValueError(f"launch argument config_dir={config_dir}: missing file(s) {absent}")

    env = {CONFIG_DIR_ENV: str(config_dir)}
    ros_args = ("--ros-args", "--log-level", values["log_level"])
    common = {"hardware": hardware, "config_dir": str(config_dir)}
    overrides: dict[str, dict[str, Any]] = {
        "controller_node": {**common, **_non_empty({"robot_ip": values["robot_ip"]})},
        "camera_node": dict(common),
        "policy_node": {"task": spec.task} if spec.task else {},
        "supervisor_node": {},
    }
    serials = _non_empty({c: values[f"{c}_serial"] for c in CAMERAS})
    if serials:
        out_dir = Path(scratch_dir) if scratch_dir is not None else Path(tempfile.mkdtemp(prefix="omnireset_launch_"))
        robot_yaml = str(robot_config_with_serials(config_dir / "robot.yaml", serials, out_dir))
        overrides["controller_node"]["robot_config"] = robot_yaml
        overrides["camera_node"]["robot_config"] = robot_yaml
    schedule = None
    if spec.scheduler:
        schedule = _absolute(values["schedule"]) or str(config_dir / SCHEDULE_FILE)
        if not Path(schedule).is_file():
            raise ValueError(f"launch argument schedule: file not found: {schedule}")
    _check_tasks(launch, spec, schedule)
    rviz = _flag("rviz", values["rviz"])
    if rviz and not installed("rviz2"):
        raise ValueError("launch argument rviz:=true, but package 'rviz2' is not installed (e.g. apt install "
                         "ros-jazzy-rviz2), or pass rviz:=false; nothing was started")
    if spec.scheduler:
        legs = [values[f"leg{i}_checkpoint"] for i in range(1, N_LEGS + 1)]
        # Success is judged from the twin's ground-truth poses; on real hardware attempts run to their timeout.
        overrides["scheduler_node"] = {"schedule": schedule, "success_from_twin": hardware == SIM}
        if any(legs):
            overrides["scheduler_node"]["checkpoints"] = legs  # per step, '' = the schedule's
    elif values["checkpoint"]:
        # Passed as given: the policy node resolves relative paths (working directory first).
        overrides["policy_node"]["checkpoint"] = values["checkpoint"]

    nodes = []
    for exe in executables:
        parameters = (str(params_file(config_dir, exe)),) + ((overrides[exe],) if overrides[exe] else ())
        nodes.append(NodeSpec(NODES_PACKAGE, exe, NODE_NAMES[exe], parameters, ros_args, env))
    warnings = []
    if installed("robot_state_publisher"):
        nodes.append(NodeSpec("robot_state_publisher", "robot_state_publisher", "robot_state_publisher",
                              ({"robot_description": urdf_from_config(config_dir)},), ros_args))
    else:
        warnings.append("package 'robot_state_publisher' is not installed (e.g. apt install "
                        "ros-jazzy-robot-state-publisher): not started, so the robot model is not on /tf")
    if rviz:
        rviz_config = config_dir / RVIZ_CONFIG
        if not rviz_config.is_file():
            raise ValueError(f"launch argument config_dir={config_dir}: missing file {rviz_config}")
        nodes.append(NodeSpec("rviz2", "rviz2", "rviz2", (), ("-d", str(rviz_config), *ros_args)))
    return Plan(tuple(nodes), tuple(warnings))
