"""Launch files without ROS 2 launch: each compiles and exposes generate_launch_description (AST),
the arguments they declare, the node plan they resolve to, and the files that plan refers to.
The real bring-up is test_launch_peg.py (launch_testing, in docker/Dockerfile.deploy)."""
import ast
import py_compile
import shutil
from pathlib import Path

import pytest
import yaml

from omnireset_bringup import plan as P
from omnireset_bringup.urdf import camera_frame_name, urdf_from_config

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO = PACKAGE_ROOT.parents[1]
LAUNCH_DIR = REPO / "launch"
CONFIG_DIR = REPO / "config"
LAUNCH_FILES = {"peg", "leg", "drawer", "four_leg"}
COMMON_ARGS = {"hardware", "robot_ip", "front_serial", "side_serial", "wrist_serial", "config_dir", "rviz",
               "log_level"}
ROS_SETUP = REPO / "src" / "omnireset_ros" / "setup.py"
# Keyword arguments of launch_ros.actions.Node (Jazzy) and launch.actions.ExecuteProcess used here.
NODE_KWARGS = {"package", "executable", "name", "namespace", "parameters", "remappings", "arguments",
               "ros_arguments", "additional_env", "output", "emulate_tty", "respawn", "condition"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    def called(node):
        f = node.func
        return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and called(n) == name]


# --- launch files ---------------------------------------------------------------------------
def test_the_four_launch_files_exist_and_are_installed_through_the_package_symlink():
    assert {p.name.removesuffix(".launch.py") for p in LAUNCH_DIR.glob("*.launch.py")} == LAUNCH_FILES
    assert set(P.LAUNCHES) == LAUNCH_FILES
    for name in ("launch", "config"):  # setup.py installs share/omnireset_bringup/{launch,config} from these
        link = PACKAGE_ROOT / name
        assert link.is_symlink() and link.resolve() == (REPO / name).resolve(), link


@pytest.mark.parametrize("name", sorted(LAUNCH_FILES))
def test_launch_file_compiles_and_exposes_generate_launch_description(name, tmp_path):
    path = LAUNCH_DIR / f"{name}.launch.py"
    py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)
    tree = _tree(path)
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in funcs
    fn = funcs["generate_launch_description"]
    assert not fn.args.args and not fn.args.vararg and not fn.args.kwonlyargs, "ros2 launch calls it with no arguments"
    calls = _calls(fn, "generate_task_launch_description")
    assert len(calls) == 1 and [a.value for a in calls[0].args] == [name]
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert any(n.module == "omnireset_bringup.launch_common" for n in imports)


def test_launch_common_uses_the_launch_api_as_expected(tmp_path):
    path = PACKAGE_ROOT / "omnireset_bringup" / "launch_common.py"
    py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)
    tree = _tree(path)
    imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    for item in [("launch", "LaunchDescription"), ("launch.actions", "DeclareLaunchArgument"),
                 ("launch.actions", "OpaqueFunction"), ("launch.substitutions", "LaunchConfiguration"),
                 ("launch_ros.actions", "Node"), ("ament_index_python.packages", "get_package_share_directory")]:
        assert item in imported, item
    nodes = _calls(tree, "Node")
    assert len(nodes) == 1
    assert {k.arg for k in nodes[0].keywords} <= NODE_KWARGS
    declares = _calls(tree, "DeclareLaunchArgument")
    assert len(declares) == 1
    assert {k.arg for k in declares[0].keywords} >= {"default_value", "description"}
    opaque = _calls(tree, "OpaqueFunction")
    assert len(opaque) == 1 and {k.arg for k in opaque[0].keywords} == {"function", "args"}


# --- declared arguments -----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LAUNCH_FILES))
def test_declared_arguments(name):
    args = {a.name: a for a in P.launch_arguments(name, "/cfg")}
    if name == "four_leg":
        assert set(args) == COMMON_ARGS | {"schedule", "leg1_checkpoint", "leg2_checkpoint", "leg3_checkpoint",
                                           "leg4_checkpoint"}
    else:
        assert set(args) == COMMON_ARGS | {"checkpoint"}
    assert args["hardware"].choices == ("sim", "real") and args["hardware"].default == "sim"
    assert args["rviz"].choices == ("true", "false")
    assert args["config_dir"].default == "/cfg"
    for a in args.values():
        assert a.description
        assert isinstance(a.default, str)
        if a.choices:
            assert a.default in a.choices, a.name


# --- the node plan ---------------------------------------------------------------------------
def _node_executables() -> dict[str, str]:
    """console_scripts of omnireset_ros/setup.py, read without running it."""
    tree = _tree(ROS_SETUP)
    nodes = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "NODES")
    return {e.value for e in nodes.elts}


@pytest.fixture()
def config_dir(tmp_path):
    """A copy of the repository config; node params files not written yet are stubbed (empty)."""
    out = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, out)
    for exe in P.NODE_NAMES:
        f = P.params_file(out, exe)
        if not f.is_file():
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(f"{P.NODE_NAMES[exe]}:\n  ros__parameters: {{}}\n")
    schedule = out / P.SCHEDULE_FILE
    if not schedule.is_file():
        schedule.parent.mkdir(parents=True, exist_ok=True)
        schedule.write_text("name: stub\n")
    return out


def _values(name, default_config_dir, **changes):
    values = {a.name: a.default for a in P.launch_arguments(name, default_config_dir)}
    values.update(changes)
    return values


def _by_name(plan):
    return {n.name: n for n in plan.nodes}


def everything_installed(package):
    return True


def peg_schedule(config_dir):
    """The shipped four-leg schedule with its steps on the peg task (the leg tasks are not shipped)."""
    path = config_dir / P.SCHEDULE_FILE
    data = yaml.safe_load(path.read_text())
    data["step_defaults"]["task"] = "peg"
    for step in data["steps"]:
        step.pop("goal_index")  # peg has one goal pose
    path.write_text(yaml.safe_dump(data))
    return path


def test_peg_in_sim_starts_the_node_set_with_files_then_overrides(config_dir, tmp_path):
    plan = P.launch_plan("peg", _values("peg", config_dir, rviz="true"), tmp_path, everything_installed)
    by = _by_name(plan)
    assert list(by) == ["controller", "cameras", "policy", "supervisor", "robot_state_publisher", "rviz2"]
    assert plan.warnings == ()
    executables = _node_executables()
    for exe, name in P.NODE_NAMES.items():
        assert exe in executables, f"omnireset_ros has no executable {exe}"
        if name in by:
            node = by[name]
            assert (node.package, node.executable) == ("omnireset_ros", exe)
            assert node.parameters[0] == str(P.params_file(config_dir, exe))
            assert node.env == {"OMNIRESET_CONFIG_DIR": str(config_dir)}
            assert node.arguments == ("--ros-args", "--log-level", "info")
    assert by["controller"].parameters[1] == {"hardware": "sim", "config_dir": str(config_dir)}
    assert by["cameras"].parameters[1] == {"hardware": "sim", "config_dir": str(config_dir)}
    assert by["policy"].parameters[1] == {"task": "peg"}  # checkpoint: the params file's
    assert by["supervisor"].parameters == (str(P.params_file(config_dir, "supervisor_node")),)
    rsp = by["robot_state_publisher"]
    assert rsp.parameters == ({"robot_description": urdf_from_config(config_dir)},)
    assert by["rviz2"].arguments[:2] == ("-d", str(config_dir / "rviz" / "omnireset.rviz"))
    assert not list(tmp_path.glob("robot.yaml")), "no derived robot.yaml without serials"


def test_real_hardware_overrides_reach_the_nodes(config_dir, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    values = _values("peg", config_dir, hardware="real", robot_ip="10.0.0.7", front_serial="000000000042",
                     wrist_serial="123", checkpoint="ckpt/peg.pt", rviz="false", log_level="debug")
    by = _by_name(P.launch_plan("peg", values, scratch, everything_installed))
    assert "rviz2" not in by
    derived = str(scratch / "robot.yaml")
    assert by["controller"].parameters[1] == {"hardware": "real", "config_dir": str(config_dir),
                                              "robot_ip": "10.0.0.7", "robot_config": derived}
    assert by["cameras"].parameters[1] == {"hardware": "real", "config_dir": str(config_dir),
                                           "robot_config": derived}
    assert by["policy"].parameters[1] == {"task": "peg", "checkpoint": "ckpt/peg.pt"}
    assert by["controller"].arguments == ("--ros-args", "--log-level", "debug")
    original, copy = yaml.safe_load((config_dir / "robot.yaml").read_text()), yaml.safe_load(Path(derived).read_text())
    assert [copy["cameras"][c]["serial"] for c in ("front", "side", "wrist")] == [
        "000000000042", original["cameras"]["side"]["serial"], "123"]  # strings stay strings
    assert copy["robot"] == original["robot"] and copy["gripper"] == original["gripper"]
    for cam in ("front", "side", "wrist"):  # the merged stream settings survive
        assert {k: v for k, v in copy["cameras"][cam].items() if k != "serial"} == \
               {k: v for k, v in original["cameras"][cam].items() if k != "serial"}
    from omnireset_drivers.hardware_config import load_hardware_config
    assert load_hardware_config(derived).camera("front").serial == "000000000042"


def test_four_leg_adds_the_scheduler_with_the_schedule_and_leg_checkpoints(config_dir, tmp_path):
    peg_schedule(config_dir)
    by = _by_name(P.launch_plan("four_leg", _values("four_leg", config_dir), tmp_path))
    assert list(by)[:5] == ["controller", "cameras", "policy", "supervisor", "scheduler"]
    assert by["scheduler"].executable == "scheduler_node"
    assert by["scheduler"].parameters[1] == {"schedule": str(config_dir / "schedules" / "four_leg.yaml"),
                                             "success_from_twin": True}
    assert by["policy"].parameters == (str(P.params_file(config_dir, "policy_node")),)  # the scheduler sets them
    legs = {f"leg{i}_checkpoint": f"/ck/leg{i}.pt" for i in (1, 3)}
    by = _by_name(P.launch_plan("four_leg", _values("four_leg", config_dir, hardware="real", **legs), tmp_path))
    assert by["scheduler"].parameters[1]["checkpoints"] == ["/ck/leg1.pt", "", "/ck/leg3.pt", ""]
    assert by["scheduler"].parameters[1]["success_from_twin"] is False


@pytest.mark.parametrize("launch, task", [("leg", "leg_twist"), ("drawer", "drawer"), ("four_leg", "leg_twist")])
def test_a_launch_of_a_task_not_shipped_refuses_before_anything_starts(config_dir, tmp_path, launch, task):
    with pytest.raises(ValueError, match=rf"launch {launch}: .*unknown task '{task}'.*; nothing was started"):
        P.launch_plan(launch, _values(launch, config_dir), tmp_path, everything_installed)


def test_rviz_is_off_by_default_and_refused_up_front_when_not_installed(config_dir, tmp_path):
    assert {a.name: a.default for a in P.launch_arguments("peg", config_dir)}["rviz"] == "false"
    no_rviz = lambda package: package != "rviz2"  # noqa: E731  a ros-base install
    assert "rviz2" not in _by_name(P.launch_plan("peg", _values("peg", config_dir), tmp_path, no_rviz))
    with pytest.raises(ValueError, match="rviz:=true, but package 'rviz2' is not installed.*nothing was started"):
        P.launch_plan("peg", _values("peg", config_dir, rviz="true"), tmp_path, no_rviz)


def test_without_robot_state_publisher_the_plan_says_what_is_left_out(config_dir, tmp_path):
    plan = P.launch_plan("peg", _values("peg", config_dir), tmp_path, lambda package: package != "robot_state_publisher")
    assert list(_by_name(plan)) == ["controller", "cameras", "policy", "supervisor"]
    assert len(plan.warnings) == 1 and "'robot_state_publisher' is not installed" in plan.warnings[0]


def test_package_lookup_reads_the_ament_index():
    assert P.package_installed("omnireset_ros")  # this workspace, sourced
    assert not P.package_installed("no_such_package_anywhere")


@pytest.mark.parametrize("change, message", [
    ({"hardware": "gazebo"}, "hardware"),
    ({"rviz": "maybe"}, "rviz"),
    ({"config_dir": "/nonexistent/config"}, "config_dir"),
])
def test_bad_arguments_are_refused_naming_them(config_dir, tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        P.launch_plan("peg", _values("peg", config_dir, **change), tmp_path)


def test_missing_argument_and_schedule_are_refused(config_dir, tmp_path):
    values = _values("peg", config_dir)
    del values["robot_ip"]
    with pytest.raises(ValueError, match="robot_ip"):
        P.launch_plan("peg", values, tmp_path)
    with pytest.raises(ValueError, match="schedule"):
        P.launch_plan("four_leg", _values("four_leg", config_dir, schedule=str(tmp_path / "none.yaml")), tmp_path)
    with pytest.raises(ValueError, match="no camera 'top'"):
        P.robot_config_with_serials(config_dir / "robot.yaml", {"top": "1"}, tmp_path)


def test_override_values_are_plain_yaml_types(config_dir, tmp_path):
    """launch_ros writes override dicts to a YAML params file: only str, bool, numbers, lists."""
    peg_schedule(config_dir)
    values = _values("four_leg", config_dir, hardware="real", front_serial="007", leg2_checkpoint="x.pt")
    for node in P.launch_plan("four_leg", values, tmp_path).nodes:
        for entry in node.parameters:
            if isinstance(entry, dict):
                for key, value in entry.items():
                    assert isinstance(value, (str, bool, int, float)) or (
                        isinstance(value, list) and value and all(isinstance(v, str) for v in value)), key


# --- files the launch files and rviz refer to --------------------------------------------------
def test_repository_config_has_every_file_the_launch_files_read():
    """config/ros/*.yaml (node authors), config/schedules/four_leg.yaml and config/rviz/omnireset.rviz."""
    missing = [str(P.params_file(CONFIG_DIR, exe).relative_to(REPO)) for exe in P.NODE_NAMES
               if not P.params_file(CONFIG_DIR, exe).is_file()]
    missing += [str(p.relative_to(REPO)) for p in (CONFIG_DIR / P.SCHEDULE_FILE, CONFIG_DIR / P.RVIZ_CONFIG)
                if not p.is_file()]
    assert not missing, f"missing: {missing}"
    for exe, name in P.NODE_NAMES.items():
        data = yaml.safe_load(P.params_file(CONFIG_DIR, exe).read_text())
        assert isinstance(data, dict) and set(data) <= {name, f"/{name}", "/**"}, exe
        for section in data.values():
            assert "ros__parameters" in section, exe


def test_rviz_config_shows_the_stack_topics_and_frames():
    from omnireset_ros import topics
    rviz = yaml.safe_load((CONFIG_DIR / P.RVIZ_CONFIG).read_text())
    manager = rviz["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == topics.BASE_FRAME
    displays = {d["Class"]: [] for d in manager["Displays"]}
    for d in manager["Displays"]:
        displays[d["Class"]].append(d)
    robot = displays["rviz_default_plugins/RobotModel"][0]
    assert robot["Description Source"] == "Topic"
    assert robot["Description Topic"]["Value"] == "/robot_description"
    assert robot["Description Topic"]["Durability Policy"] == "Transient Local"  # robot_state_publisher latches
    assert displays["rviz_default_plugins/MarkerArray"][0]["Topic"]["Value"] == "/" + topics.MARKERS
    images = {d["Topic"]["Value"] for d in displays["rviz_default_plugins/Image"]}
    assert images == {"/" + topics.CAMERA_IMAGE.format(name=c) for c in ("front", "side", "wrist")}
    assert "rviz_default_plugins/TF" in displays
    frames = set(displays["rviz_default_plugins/TF"][0]["Frames"]) - {"All Enabled"}
    links = set(urdf_from_config(CONFIG_DIR).split('link name="')[i].split('"')[0]
                for i in range(1, urdf_from_config(CONFIG_DIR).count('<link name="') + 1))
    assert frames <= links, frames - links
    assert {camera_frame_name(c) for c in ("front", "side", "wrist")} <= links
