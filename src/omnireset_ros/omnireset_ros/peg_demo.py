"""The main job on its embedded default: the peg stack (controller, cameras, policy, supervisor)
against the MuJoCo twin, run as the same node executables with the same parameter files the
launch file uses (config/ros/*.yaml), each in its own process.

It activates the policy, watches the twin's ground truth for success, counts supervisor
interventions, records the three cameras to a video and prints a summary.

    omnireset-peg-demo --duration 30 --output outputs/peg_stack
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

NODES = ("controller_node", "camera_node", "policy_node", "supervisor_node")
NICE = {"controller_node": 0, "camera_node": 10, "policy_node": 5, "supervisor_node": 5}  # the 500 Hz loop first
CAMERAS = ("front", "side", "wrist")


def start_nodes(config_dir: Path, checkpoint: str | None, log_dir: Path) -> list[subprocess.Popen]:
    procs = []
    for module in NODES:
        args = [sys.executable, "-m", f"omnireset_ros.{module}", "--ros-args",
                "--params-file", str(config_dir / "ros" / f"{module}.yaml"),
                "-p", f"config_dir:={config_dir}"]
        if module == "policy_node" and checkpoint:
            args += ["-p", f"checkpoint:={checkpoint}"]
        log = open(log_dir / f"{module}.log", "w")
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                      preexec_fn=lambda n=NICE[module]: os.nice(n)))
    return procs


def stop_nodes(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


class Monitor:
    """The observer: images for the video, twin ground truth for success, supervisor edges, diagnostics."""

    def __init__(self, node, task):
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseStamped
        from sensor_msgs.msg import Image
        from std_msgs.msg import Bool

        from omnireset_ros import topics

        self.node, self.task = node, task
        self.lock = threading.Lock()
        self.images: dict[str, np.ndarray] = {}
        self.poses: dict[str, tuple] = {}
        self.override = False
        self.interventions = 0
        self.diagnostics: dict[str, dict] = {}
        self.targets = 0
        for cam in CAMERAS:
            node.create_subscription(Image, topics.CAMERA_IMAGE.format(name=cam), self._image(cam), 2)
        for name in (task.insertive_object, task.receptive_object):
            node.create_subscription(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=name), self._pose(name), 10)
        node.create_subscription(Bool, topics.GRIPPER_OVERRIDE, self._override, 10)
        node.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, self._diagnostics, 10)
        node.create_subscription(PoseStamped, topics.TARGET_POSE, self._target, 10)

    def _image(self, cam):
        def cb(msg):
            rgb = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.width, 3)
            with self.lock:
                self.images[cam] = rgb.copy()
        return cb

    def _pose(self, name):
        from omnireset_ros.conversions import pose_from_msg

        def cb(msg):
            with self.lock:
                self.poses[name] = pose_from_msg(msg)
        return cb

    def _override(self, msg):
        with self.lock:
            if msg.data and not self.override:
                self.interventions += 1
            self.override = msg.data

    def _diagnostics(self, msg):
        with self.lock:
            for status in msg.status:
                self.diagnostics[status.name] = {"level": int.from_bytes(status.level, "little")
                                                 if isinstance(status.level, bytes) else int(status.level),
                                                 "message": status.message,
                                                 **{kv.key: kv.value for kv in status.values}}

    def _target(self, _msg):
        with self.lock:
            self.targets += 1

    def assembled(self) -> bool:
        from omnireset_core.rotations import quat_conjugate, quat_mul, quat_to_matrix
        from omnireset_core.tasks import is_assembled

        with self.lock:
            ins, rcv = self.poses.get(self.task.insertive_object), self.poses.get(self.task.receptive_object)
        if ins is None or rcv is None:
            return False
        rel_pos = quat_to_matrix(rcv[1]).T @ (ins[0] - rcv[0])
        rel_quat = quat_mul(quat_conjugate(rcv[1]), ins[1])
        return bool(is_assembled(rel_pos, rel_quat, self.task.goal_poses, self.task.success))

    def frame(self) -> np.ndarray | None:
        with self.lock:
            if len(self.images) < len(CAMERAS):
                return None
            return np.concatenate([self.images[c] for c in CAMERAS], axis=1)


def run(args) -> int:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_srvs.srv import SetBool

    from omnireset_core.tasks import load_task
    from omnireset_ros import topics
    from omnireset_sim.config import config_dir as find_config_dir

    config_dir = (args.config_dir or find_config_dir()).resolve()
    args.output.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    print(f"[peg-demo] starting {', '.join(NODES)} against the MuJoCo twin (configs: {config_dir})", flush=True)
    procs = start_nodes(config_dir, args.checkpoint, args.output)
    rclpy.init()
    node = rclpy.create_node("peg_demo_monitor")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    monitor = Monitor(node, load_task("peg"))
    frames: list[np.ndarray] = []
    try:
        deadline = time.monotonic() + args.startup_timeout
        while monitor.frame() is None or "omnireset/policy" not in monitor.diagnostics:
            dead = [NODES[i] for i, p in enumerate(procs) if p.poll() is not None]
            if dead:
                raise RuntimeError(f"node(s) exited during start-up: {dead}; see {args.output}/<node>.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"stack not up within {args.startup_timeout} s; see {args.output}/<node>.log")
            time.sleep(0.1)
        policy_diag = monitor.diagnostics["omnireset/policy"]
        print(f"[peg-demo] policy: {policy_diag.get('message', '')}", flush=True)
        if str(policy_diag.get("placeholder", "")).lower() in ("true", "1", "yes"):
            print("[peg-demo] NOTE: the bundled checkpoint is a PLACEHOLDER (untrained network with the "
                  "deployment spec). Expect no success until a trained peg policy is exported.", flush=True)
        client = node.create_client(SetBool, topics.POLICY_ACTIVATE)
        if not client.wait_for_service(timeout_sec=10.0):
            raise RuntimeError("policy activation service not available")
        reply = client.call(SetBool.Request(data=True))
        if not reply.success:
            raise RuntimeError(f"policy refused to activate: {reply.message}")
        print(f"[peg-demo] policy activated; running up to {args.duration:.0f} s", flush=True)
        t0 = time.monotonic()
        success_s = None
        next_frame = t0
        while time.monotonic() - t0 < args.duration:
            now = time.monotonic()
            if now >= next_frame:
                next_frame += 0.1
                frame = monitor.frame()
                if frame is not None:
                    frames.append(frame)
            if success_s is None and monitor.assembled():
                success_s = now - t0
                print(f"[peg-demo] peg assembled after {success_s:.1f} s", flush=True)
                if not args.keep_running:
                    break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a node exited while running; see the logs in " + str(args.output))
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        with monitor.lock:  # as it was while the policy ran, before deactivation
            running = {name: dict(status) for name, status in monitor.diagnostics.items()}
        client.call(SetBool.Request(data=False))
    finally:
        stop_nodes(procs)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
    ctrl = running.get("omnireset/controller", {})
    summary = {
        "success": success_s is not None,
        "time_to_success_s": success_s,
        "run_s": round(elapsed, 2),
        "supervisor_interventions": monitor.interventions,
        "policy_targets_received": monitor.targets,
        "policy_rate_hz": round(monitor.targets / elapsed, 2) if elapsed > 0 else 0.0,
        "controller": {k: ctrl.get(k) for k in ("mode", "reason", "overruns", "period_p50_ms", "period_p99_ms")
                       if k in ctrl},
        "policy": running.get("omnireset/policy", {}),
    }
    (args.output / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    if frames:
        import imageio.v2 as imageio

        imageio.mimsave(args.output / "cameras.mp4", frames, fps=10, macro_block_size=1)
    print(f"[peg-demo] success: {summary['success']}"
          + (f" (time to success {success_s:.1f} s)" if success_s is not None else f" (not within {elapsed:.0f} s)"))
    print(f"[peg-demo] supervisor interventions: {monitor.interventions}")
    print(f"[peg-demo] policy targets at {summary['policy_rate_hz']} Hz; controller {summary['controller']}")
    print(f"[peg-demo] wrote {args.output}/cameras.mp4, summary.json, <node>.log")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to run the activated policy")
    parser.add_argument("--output", type=Path, default=Path("outputs/peg_stack"))
    parser.add_argument("--config-dir", type=Path, default=None)
    parser.add_argument("--checkpoint", default=None, help="policy checkpoint (default: policy_node.yaml's)")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--keep-running", action="store_true", help="keep running after success")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"[peg-demo] error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
