"""Typed, ranged, described ROS parameters: declare once, read back validated values."""
from __future__ import annotations

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node


def declare(node: Node, name: str, default, description: str, low=None, high=None, read_only: bool = True):
    """Declare ``name`` with its type taken from ``default``; returns the value in force.

    Ranges are enforced by ROS for numbers; a value outside them fails at start-up with the
    parameter named.
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
    return node.declare_parameter(name, default, descriptor).value
