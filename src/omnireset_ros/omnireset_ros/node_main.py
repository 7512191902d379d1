"""How every node process starts, spins and stops: a bad or unknown parameter, an unreadable
params file or a missing device is one FATAL line and exit code 1 (no traceback); SIGINT (ros2
launch) or SIGTERM (docker stop) is a clean exit. On Linux a node gets SIGTERM when the process
that started it dies, even by SIGKILL (no node outlives its launch, demo or test).

The signals only set a flag that the spin loop checks between executor turns, so the ROS context
is never shut down underneath an executor that is taking a message (rclpy's own handler does
that, and the take then fails with a pybind error about once in a few dozen stops)."""
from __future__ import annotations

import difflib
import os
import signal
import sys
import threading

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.signals import SignalHandlerOptions
from rclpy.node import Node

from omnireset_core.interfaces import HardwareError
from omnireset_ros.process import die_with_parent

START_ERRORS = (HardwareError, ValueError, OSError, ParameterException)
_PARENT_PID = os.getppid()  # at import, early in the process: the process that started it


def check_parameters_declared(node: Node) -> None:
    """A parameter given to the node (params file, ``-p``) that it does not declare is a typo:
    refuse it by name instead of running on the default."""
    unknown = sorted(set(node._parameter_overrides) - set(node._parameters))
    if not unknown:
        return
    declared = sorted(node._parameters)
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
                     f"{node.get_name()} declares {', '.join(declared)}")


def init_or_exit(name: str, args, signal_handler_options: SignalHandlerOptions) -> None:
    """``rclpy.init``; arguments it cannot use (e.g. a params file that does not exist or does not
    parse) are one FATAL line and exit code 1. The node gets SIGTERM (a clean stop, as from
    ``ros2 launch``'s SIGINT) when the process that started it dies, and exits if it already has."""
    if not die_with_parent(_PARENT_PID):
        print(f"[FATAL] [{name}]: cannot start: the process that started it (pid {_PARENT_PID}) has exited",
              file=sys.stderr)
        sys.exit(1)
    try:
        rclpy.init(args=args, signal_handler_options=signal_handler_options)
    except _rclpy.RCLError as exc:
        reason = str(exc).split(", at /")[0].removeprefix("failed to initialize rcl: ")
        print(f"[FATAL] [{name}]: cannot start: {reason}", file=sys.stderr)
        sys.exit(1)


def run_node(make_node, name: str, args=None) -> None:
    """Build the node (and ``start()`` it if it has one), spin it, ``close()`` it on the way out."""
    init_or_exit(name, args, SignalHandlerOptions.NO)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    node, exit_code = None, 0
    try:
        try:
            node = make_node()
            check_parameters_declared(node)
            if hasattr(node, "start"):
                node.start()
        except START_ERRORS as exc:
            rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
            exit_code = 1
        else:
            executor = SingleThreadedExecutor()  # the multi-threaded one costs far more here
            executor.add_node(node)
            while not stop.is_set() and rclpy.ok():
                executor.spin_once(timeout_sec=0.1)
    except ExternalShutdownException:
        pass
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
