"""The node set shared by launch/*.launch.py: declares the arguments of ``plan.launch_arguments``
and, once they are resolved, starts the nodes of ``plan.launch_plan`` (needs ROS 2 ``launch`` and
``launch_ros``)."""
from __future__ import annotations

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from omnireset_bringup import PACKAGE
from omnireset_bringup.plan import launch_arguments, launch_plan


def installed_config_dir() -> Path:
    return Path(get_package_share_directory(PACKAGE)) / "config"


def _start_nodes(context: LaunchContext, launch: str):
    names = [a.name for a in launch_arguments(launch, "")]
    values = {name: LaunchConfiguration(name).perform(context) for name in names}
    plan = launch_plan(launch, values)  # a ValueError here stops the launch, before any node starts
    actions = [LogInfo(msg=f"{launch}: hardware={values['hardware']}, config_dir={values['config_dir']}")]
    actions += [LogInfo(msg=f"{launch}: WARNING: {warning}") for warning in plan.warnings]
    for spec in plan.nodes:
        actions.append(Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            parameters=list(spec.parameters),
            arguments=list(spec.arguments),
            additional_env=dict(spec.env),
            output="screen",
            emulate_tty=True,
        ))
    return actions


def generate_task_launch_description(launch: str) -> LaunchDescription:
    """Launch description of ``launch`` ('peg', 'leg', 'drawer', 'four_leg')."""
    declared = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description,
                              **({"choices": list(a.choices)} if a.choices else {}))
        for a in launch_arguments(launch, installed_config_dir())
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_start_nodes, args=[launch])])
