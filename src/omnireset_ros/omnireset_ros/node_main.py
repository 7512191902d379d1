"""How every node process starts, spins and stops: a bad parameter or missing device is one
FATAL line and exit code 1 (no traceback); SIGINT, as ros2 launch sends it, is a clean exit."""
from __future__ import annotations

import sys

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from omnireset_core.interfaces import HardwareError

START_ERRORS = (HardwareError, ValueError, OSError, ParameterException)


def run_node(make_node, name: str, args=None) -> None:
    """Build the node (and ``start()`` it if it has one), spin it, ``close()`` it on the way out."""
    rclpy.init(args=args)
    node, exit_code = None, 0
    try:
        try:
            node = make_node()
            if hasattr(node, "start"):
                node.start()
        except START_ERRORS as exc:
            rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
            exit_code = 1
        else:
            executor = SingleThreadedExecutor()  # the multi-threaded one costs far more here
            executor.add_node(node)
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT: rclpy shuts the context down and Python raises KeyboardInterrupt
    except Exception:
        if rclpy.ok():
            raise  # a genuine failure; otherwise the wait set lost its context to a SIGINT
    finally:
        if node is not None:
            if hasattr(node, "close"):
                node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(exit_code)


def publish_diagnostics(node: Node, publisher, *statuses: DiagnosticStatus) -> None:
    msg = DiagnosticArray()
    msg.header.stamp = node.get_clock().now().to_msg()
    msg.status = list(statuses)
    publisher.publish(msg)
