"""omnireset-check-hardware: try each device once and print one verdict line per device.

Exit code 0 if every device answered, 1 if any failed, 2 for bad arguments or config.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import sys
from typing import Any, Callable

import numpy as np

from omnireset_drivers.hardware_config import HardwareConfig, load_hardware_config
from omnireset_drivers.realsense_camera import RealSenseCamera, RealSenseConfig
from omnireset_drivers.robotiq_socket import RobotiqConfig, RobotiqGripper
from omnireset_drivers.ur_rtde_robot import URRtdeConfig, URRtdeRobot


def _check_robot(cfg: URRtdeConfig, read_only: bool) -> str:
    robot = URRtdeRobot(cfg, read_only=read_only)
    try:
        robot.connect()
        state = robot.read_state()
        if read_only:
            mode = "receive only (pass --config to also open the control interface)"
        else:
            api = robot.torque_api.value if robot.torque_api else "resolved on first torque"
            mode = f"control interface up, payload {cfg.payload_mass_kg} kg set, directTorque {api}"
        return f"q_deg {np.round(np.degrees(state.q_rad), 1).tolist()}; {mode}"
    finally:
        robot.disconnect()


def _check_gripper(cfg: RobotiqConfig) -> str:
    with RobotiqGripper(cfg) as gripper:
        state = gripper.read_state()
        return f"activated; closed {state.opening_frac:.2f}, object {'yes' if state.object_detected else 'no'}"


def _check_camera(cfg: RealSenseConfig) -> str:
    with RealSenseCamera(cfg) as camera:
        frame = camera.read()
        intr = camera.intrinsics
        return (
            f"frame {frame.rgb.shape[1]}x{frame.rgb.shape[0]}, fx {intr.fx_px:.1f} fy {intr.fy_px:.1f} "
            f"cx {intr.cx_px:.1f} cy {intr.cy_px:.1f} px"
        )


def _verdict(kind: str, target: str, check: Callable[[], str]) -> bool:
    try:
        detail, ok = check(), True
    except Exception as exc:  # every failure becomes one line, never a traceback
        name = "" if type(exc).__name__ == "HardwareError" else f"{type(exc).__name__}: "
        detail, ok = f"{name}{exc}", False
    print(f"{kind:<8} {target:<24} {'OK  ' if ok else 'FAIL'}  {detail}", flush=True)
    return ok


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="omnireset-check-hardware",
        description="Try the UR arm, the Robotiq gripper and the RealSense cameras; one line per device. "
        "With --config the robot check opens the control interface too (uploads the ur_rtde script and "
        "sets payload/TCP; the arm does not move). Activating a gripper that is not active moves its fingers.",
    )
    p.add_argument("--config", help="config/robot.yaml: check every device in it (flags below override)")
    p.add_argument("--robot-ip", help="UR controller address")
    p.add_argument("--gripper-host", help="Robotiq URCap server address (default: the robot's)")
    p.add_argument("--gripper-port", type=int, help="Robotiq URCap socket port (usually 63352)")
    p.add_argument("--camera", nargs="+", action="extend", default=[], metavar="SERIAL",
                   help="RealSense serial number(s)")
    p.add_argument("--timeout", type=float, default=2.0, help="per-device timeout in seconds (default 2)")
    p.add_argument("--verbose", action="store_true", help="show driver log messages")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, format="%(name)s: %(message)s")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    hw: HardwareConfig | None = None
    if args.config:
        try:
            hw = load_hardware_config(args.config)
        except ValueError as exc:
            parser.error(str(exc))
    elif not (args.robot_ip or args.gripper_host or args.gripper_port or args.camera):
        parser.error("nothing to check: give --config, --robot-ip, --gripper-host/--gripper-port or --camera")

    try:
        checks = _plan(args, hw)
    except ValueError as exc:
        parser.error(str(exc))
    ok = True
    for kind, target, check in checks:
        ok &= _verdict(kind, target, check)
    return 0 if ok else 1


def _plan(args, hw: HardwareConfig | None) -> list[tuple[str, str, Callable[[], str]]]:
    timeout = float(args.timeout)
    checks: list[tuple[str, str, Callable[[], str]]] = []
    robot_ip = args.robot_ip or (hw.robot.robot_ip if hw else None)
    if robot_ip:
        robot_cfg = dataclasses.replace(hw.robot if hw else URRtdeConfig(), robot_ip=robot_ip, connect_timeout_s=timeout)
        checks.append(("robot", robot_ip, lambda: _check_robot(robot_cfg, read_only=hw is None)))
    if hw or args.gripper_host or args.gripper_port:
        host = args.gripper_host or (hw.gripper.host if hw else None) or args.robot_ip
        if not host:
            raise ValueError("the gripper check needs --gripper-host or --robot-ip")
        changes: dict[str, Any] = {"host": host, "socket_timeout_s": timeout}
        if args.gripper_port:
            changes["port"] = args.gripper_port
        gripper_cfg = dataclasses.replace(hw.gripper if hw else RobotiqConfig(), **changes)
        checks.append(("gripper", f"{gripper_cfg.host}:{gripper_cfg.port}", lambda: _check_gripper(gripper_cfg)))
    cameras = list(hw.cameras) if hw and not args.camera else []
    by_serial = {c.serial: c for c in (hw.cameras if hw else ())}
    for serial in args.camera:
        cameras.append(by_serial.get(serial) or RealSenseConfig(name=serial, serial=serial))
    for cam in cameras:
        cam_cfg = dataclasses.replace(cam, frame_timeout_s=timeout)
        target = cam.playback_file or cam.serial
        label = target if cam.name == target else f"{cam.name} {target}"
        checks.append(("camera", label, functools.partial(_check_camera, cam_cfg)))
    return checks


def entry() -> int:
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(entry())
