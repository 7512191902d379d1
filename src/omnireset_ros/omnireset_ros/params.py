"""Typed, ranged, described ROS parameters: declare once, read back validated values."""
from __future__ import annotations

from pathlib import Path

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node


def declare(node: Node, name: str, default, description: str, low=None, high=None, read_only: bool = True,
            choices: tuple | None = None):
    """Declare ``name`` with its type taken from ``default``; returns the value in force.

    Ranges are enforced by ROS for numbers; a value outside them, or outside ``choices``, fails at
    start-up with the parameter named.
    """
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    if low is not None and high is not None:
        if isinstance(default, bool):
            raise TypeError(f"parameter {name}: a bool has no range")
        if isinstance(default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        else:
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high),
                                                                  step=0.0)]
    value = node.declare_parameter(name, default, descriptor).value
    if choices is not None and value not in choices:
        raise ValueError(f"parameter {name} must be one of {list(choices)}, got {value!r}")
    return value


def declare_config_dir(node: Node, description: str) -> Path:
    """The ``config_dir`` parameter; '' or unset means the workspace's config/ (omnireset_sim.config)."""
    from omnireset_sim.config import config_dir as default_config_dir

    return Path(declare(node, "config_dir", "", description) or default_config_dir())
