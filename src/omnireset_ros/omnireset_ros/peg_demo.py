"""The main job on its embedded default: the peg stack (controller, cameras, policy, supervisor)
against the MuJoCo twin, run as the same node executables with the same parameter files the
launch file uses (config/ros/*.yaml), each in its own process.

Per episode (a fresh stack, the peg at a new start pose) it activates the policy, watches the
twin's ground truth for success, counts supervisor interventions and records the three cameras;
it prints which policy drove the arm (learned, scripted reference or placeholder) and the success
over all episodes.

The demo keeps to itself: unless ROS_DOMAIN_ID is set it picks a ROS domain of its own at random
(1-101, discovery on this host only), so a test or another demo on the default domain does not
drive its robot; its nodes die with it, even if it is SIGKILLed (``process.die_with_parent``).
Ctrl-C or SIGTERM ends the running episode and still writes ``summary.json`` and ``cameras.mp4``
(exit code 130).

    omnireset-peg-demo --episodes 3 --duration 30 --output outputs/peg_stack
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from omnireset_core.policy.metadata import DEFAULT_CAMERAS
from omnireset_ros.process import die_with_parent

NODES = ("controller_node", "camera_node", "policy_node", "supervisor_node")
NICE = {"controller_node": 0, "camera_node": 10, "policy_node": 5, "supervisor_node": 5}  # the 500 Hz loop first
CAMERAS = DEFAULT_CAMERAS
# Until a learned policy solves the task from the twin's start state, the demo runs the privileged
# scripted reference behind the same policy interface (labelled as such everywhere).
DEMO_CHECKPOINT = "checkpoints/peg_scripted_reference.pt"
DOMAIN_IDS = range(1, 102)  # valid ROS 2 domain ids on Linux with the default port mapping


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: end the running episode, then write what was recorded."""


def student_params(checkpoint: str | None) -> dict[str, list[str]]:
    """Node parameters an RGB student needs (kind, cameras, frame stack, proprioception, and the
    twin rendering at its image size), by node; {} for a state policy or a file not found here
    (the policy node then reports what is wrong)."""
    from omnireset_core.policy.metadata import read_metadata

    if not checkpoint or not Path(checkpoint).is_file():
        return {}
    md = read_metadata(checkpoint)
    if md.vision is None:
        return {}
    v = md.vision
    hw = f"image_hw_px:=[{v.image_hw[0]},{v.image_hw[1]}]"
    return {"policy_node": ["kind:=rgb", hw, f"frames_per_camera:={v.frames_per_camera}",
                            f"cameras:=[{','.join(v.cameras)}]",
                            f"rgb_proprio_terms:=[{','.join(t.name for t in md.observation.terms)}]"],
            "camera_node": [hw]}


def start_nodes(config_dir: Path, checkpoint: str | None, log_dir: Path, peg_pose6=None) -> list[subprocess.Popen]:
    procs = []
    extra = student_params(checkpoint)
    for module in NODES:
        args = [sys.executable, "-m", f"omnireset_ros.{module}", "--ros-args",
                "--params-file", str(config_dir / "ros" / f"{module}.yaml")]
        for value in extra.get(module, []):
            args += ["-p", value]
        if module in ("controller_node", "camera_node"):  # the nodes that read the cell's files
            args += ["-p", f"config_dir:={config_dir}"]
        if module == "policy_node" and checkpoint:
            args += ["-p", f"checkpoint:={checkpoint}"]
        if module == "controller_node" and peg_pose6 is not None:
            args += ["-p", "sim_peg_pose:=[" + ",".join(f"{float(v):.6f}" for v in peg_pose6) + "]"]
        log = open(log_dir / f"{module}.log", "w")
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                      preexec_fn=functools.partial(_in_child, NICE[module], os.getpid())))
    return procs


def _in_child(niceness: int, parent_pid: int) -> None:
    """Between fork and exec: lower priority, and SIGTERM when the demo dies (even by SIGKILL)."""
    os.nice(niceness)
    if not die_with_parent(parent_pid):  # the demo died before the call
        os._exit(1)


def stop_nodes(procs) -> None:
    """SIGTERM: a clean stop for a running node, a silent one for a node still importing."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
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
        from omnireset_core.rotations import pose_in_frame
        from omnireset_core.tasks import is_assembled

        with self.lock:
            ins, rcv = self.poses.get(self.task.insertive_object), self.poses.get(self.task.receptive_object)
        if ins is None or rcv is None:
            return False
        ins_pos_rcv_m, ins_quat_rcv = pose_in_frame(*rcv, *ins)
        return bool(is_assembled(ins_pos_rcv_m, ins_quat_rcv, self.task.goal_poses, self.task.success))

    def frame(self) -> np.ndarray | None:
        with self.lock:
            if len(self.images) < len(CAMERAS):
                return None
            return np.concatenate([self.images[c] for c in CAMERAS], axis=1)


def inputs_usable(diag: dict | None) -> bool:
    """The policy node reports a loaded policy whose last step was accepted (it steps while
    inactive, so its inputs are known to be fresh before the demo activates it)."""
    return (diag is not None and str(diag.get("loaded")) == "True" and not diag.get("refused_inputs")
            and diag.get("step_latency_p50_ms") not in (None, "nan"))


def policy_label(diag: dict) -> str:
    """What drove the arm, as the policy node reports it: learned, scripted or placeholder."""
    truthy = ("true", "1", "yes")
    if str(diag.get("placeholder", "")).lower() in truthy:
        return "placeholder (untrained)"
    if str(diag.get("scripted", "")).lower() in truthy:
        return "scripted reference (privileged, not learned)"
    return "learned"


def episode_peg_poses(config_dir: Path, episodes: int, seed: int, offset_m: float = 0.02, yaw_rad: float = 0.4):
    """Peg start poses (x, y, z, rotation vector) in b: the initial pose of ``config_dir``'s
    cell.yaml first, then that pose shifted by up to ``offset_m`` and turned about z by up to
    ``yaw_rad``."""
    from omnireset_core.rotations import quat_mul, quat_to_rotvec, rotvec_to_quat
    from omnireset_sim.config import load_cell_config

    initial = load_cell_config(config_dir / "cell.yaml").peg.initial_pose_b
    pos, quat = np.asarray(initial.pos_m, dtype=float), np.asarray(initial.quat_wxyz, dtype=float)
    rng = np.random.default_rng(seed)
    poses = []
    for k in range(episodes):
        shift, yaw = (rng.uniform(-offset_m, offset_m, 2), rng.uniform(-yaw_rad, yaw_rad)) if k else (np.zeros(2), 0.0)
        turned = quat_mul(rotvec_to_quat(np.array([0.0, 0.0, yaw])), quat)
        poses.append(np.concatenate((pos + np.r_[shift, 0.0], quat_to_rotvec(turned))))
    return poses


def run_episode(args, config_dir: Path, folder: Path, peg_pose6, stop: threading.Event
                ) -> tuple[dict, list[np.ndarray]]:
    """Start the stack with the peg at ``peg_pose6``, activate the policy, watch for success.
    ``stop`` set (a signal) ends the episode early; the result says so."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions
    from std_srvs.srv import SetBool

    from omnireset_core.tasks import load_task
    from omnireset_ros import topics

    folder.mkdir(parents=True, exist_ok=True)
    procs = start_nodes(config_dir, args.checkpoint, folder, peg_pose6)
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)  # the demo's own handler sets ``stop``
    node = rclpy.create_node("peg_demo_monitor")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinning = threading.Event()
    spinning.set()

    def spin():
        while spinning.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    monitor = Monitor(node, load_task("peg"))
    frames: list = []
    running: dict[str, dict] = {}  # diagnostics name -> its key values, as last seen
    success_s, elapsed, interrupted = None, 0.0, False
    try:
        deadline = time.monotonic() + args.startup_timeout
        while monitor.frame() is None or not inputs_usable(monitor.diagnostics.get("omnireset/policy")):
            if stop.is_set():
                raise Interrupted()
            dead = [NODES[i] for i, p in enumerate(procs) if p.poll() is not None]
            if dead:
                fatal = [line.strip() for name in dead for line in (folder / f"{name}.log").read_text().splitlines()
                         if "[FATAL]" in line]
                raise RuntimeError(f"node(s) exited during start-up: {dead}" + (f" ({'; '.join(fatal)})" if fatal
                                   else "") + f"; see {folder}/<node>.log")
            if time.monotonic() > deadline:
                refusal = (monitor.diagnostics.get("omnireset/policy") or {}).get("last_refusal", "")
                raise RuntimeError(f"stack not up within {args.startup_timeout} s" + (f" (policy: {refusal})" if refusal
                                   else "") + f"; see {folder}/<node>.log")
            time.sleep(0.1)
        client = node.create_client(SetBool, topics.POLICY_ACTIVATE)
        if not client.wait_for_service(timeout_sec=10.0):
            raise RuntimeError("policy activation service not available")
        reply = client.call(SetBool.Request(data=True), timeout_sec=10.0)
        if reply is None:
            raise RuntimeError("policy activation not answered within 10 s")
        if not reply.success:
            raise RuntimeError(f"policy refused to activate: {reply.message}")
        t0 = time.monotonic()
        next_frame = t0
        print(f"[peg-demo] episode {folder.name.removeprefix('episode_')}: policy active", flush=True)
        while time.monotonic() - t0 < args.duration:
            if stop.is_set():
                interrupted = True
                break
            now = time.monotonic()
            if now >= next_frame:
                next_frame += 0.1
                frame = monitor.frame()
                if frame is not None:
                    frames.append(frame)
            if success_s is None and monitor.assembled():
                success_s = now - t0
                if not args.keep_running:
                    break
            if any(p.poll() is not None for p in procs):
                if stop.is_set():  # Ctrl-C in a terminal reaches the nodes too
                    interrupted = True
                    break
                raise RuntimeError("a node exited while running; see the logs in " + str(folder))
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        with monitor.lock:  # as it was while the policy ran, before deactivation
            running = {name: dict(status) for name, status in monitor.diagnostics.items()}
        if not interrupted:
            client.call(SetBool.Request(data=False), timeout_sec=5.0)
    finally:
        stop_nodes(procs)
        spinning.clear()  # the spinner leaves its last spin_once before anything is destroyed
        spinner.join(5.0)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
    ctrl = running.get("omnireset/controller", {})
    result = {
        "peg_start_pose_b": [round(float(v), 4) for v in peg_pose6],
        "success": success_s is not None,
        "interrupted": interrupted,
        "time_to_success_s": None if success_s is None else round(success_s, 2),
        "run_s": round(elapsed, 2),
        "supervisor_interventions": monitor.interventions,
        "policy_targets_received": monitor.targets,
        "policy_rate_hz": round(monitor.targets / elapsed, 2) if elapsed > 0 else 0.0,
        "controller": {k: ctrl.get(k) for k in ("mode", "reason", "overruns", "period_p50_ms", "period_p99_ms")
                       if k in ctrl},
        "policy": running.get("omnireset/policy", {}),
    }
    return result, frames


def run(args) -> int:
    from omnireset_sim.config import config_dir as find_config_dir

    config_dir = (args.config_dir or find_config_dir()).resolve()
    args.output.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.choice(DOMAIN_IDS)))  # the nodes inherit it
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"[peg-demo] {args.episodes} episode(s) of {', '.join(NODES)} against the MuJoCo twin "
          f"(configs: {config_dir}, checkpoint: {args.checkpoint}, ROS domain {os.environ['ROS_DOMAIN_ID']})",
          flush=True)
    episodes: list[dict] = []
    frames: list = []
    for k, pose in enumerate(episode_peg_poses(config_dir, args.episodes, args.seed)):
        try:
            result, episode_frames = run_episode(args, config_dir, args.output / f"episode_{k}", pose, stop)
        except Interrupted:
            break
        label = policy_label(result["policy"])
        episodes.append(result)
        frames += episode_frames
        outcome = (f"assembled after {result['time_to_success_s']:.1f} s" if result["success"]
                   else f"not assembled within {result['run_s']:.0f} s")
        if result["interrupted"]:
            outcome += " (interrupted)"
        print(f"[peg-demo] episode {k}: peg at ({pose[0]:.3f}, {pose[1]:.3f}) m, yaw {pose[5]:+.2f} rad: "
              f"{outcome}; policy: {label}; supervisor interventions {result['supervisor_interventions']}; "
              f"policy targets at {result['policy_rate_hz']} Hz", flush=True)
        if stop.is_set():
            break
    if not episodes:
        print("[peg-demo] interrupted before an episode ran: nothing to report", file=sys.stderr)
        return 130
    label = policy_label(episodes[0]["policy"])
    successes = sum(e["success"] for e in episodes)
    times = [e["time_to_success_s"] for e in episodes if e["success"]]
    summary = {
        "policy": {"label": label, "checkpoint": episodes[0]["policy"].get("checkpoint", args.checkpoint),
                   "notes": episodes[0]["policy"].get("message", "")},
        "episodes": len(episodes),
        "successes": successes,
        "success_rate": successes / len(episodes),
        "mean_time_to_success_s": round(float(np.mean(times)), 2) if times else None,
        "per_episode": episodes,
    }
    (args.output / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    if frames:
        import imageio.v2 as imageio

        imageio.mimsave(args.output / "cameras.mp4", frames, fps=10, macro_block_size=1)
    print(f"[peg-demo] success {successes}/{len(episodes)} episodes"
          + (f", mean time to success {summary['mean_time_to_success_s']:.1f} s" if times else "")
          + f"; policy: {label}")
    if label.startswith("placeholder"):
        print("[peg-demo] NOTE: the checkpoint is a PLACEHOLDER (untrained network with the deployment spec); "
              "expect no success.")
    elif label.startswith("scripted"):
        print("[peg-demo] NOTE: a SCRIPTED reference drove the arm (it reads the true object poses); "
              "pass --checkpoint with a trained export to run a learned policy.")
    print(f"[peg-demo] wrote {args.output}/cameras.mp4, summary.json, episode_<k>/<node>.log")
    if stop.is_set():
        print(f"[peg-demo] interrupted: {len(episodes)} of {args.episodes} episode(s) reported", file=sys.stderr)
        return 130
    return 0 if successes or not args.require_success else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3, help="episodes, each a fresh stack and peg start pose")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per episode to run the activated policy")
    parser.add_argument("--seed", type=int, default=0, help="seed of the peg start poses after the first")
    parser.add_argument("--output", type=Path, default=Path("outputs/peg_stack"))
    parser.add_argument("--config-dir", type=Path, default=None)
    parser.add_argument("--checkpoint", default=DEMO_CHECKPOINT,
                        help="policy checkpoint (default: the scripted reference; policy_node.yaml's is the placeholder)")
    parser.add_argument("--require-success", action="store_true", help="exit 1 if no episode succeeds")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--keep-running", action="store_true", help="keep running after success")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.duration <= 0:
        parser.error("--episodes must be >= 1 and --duration > 0")
    try:
        return run(args)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"[peg-demo] error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
