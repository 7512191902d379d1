"""The twin demo: the 500 Hz controller drives the scripted peg pick-and-insert in real time.

Every control period goes through the core ControlLoop (the same code as on the robot), paced to
wall-clock 500 Hz in lockstep with the physics; three cameras render in the background at their
own rate. Writes a tracking plot, a video of the three cameras and a JSON summary.

    omnireset-twin-demo --output outputs/demo
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from omnireset_core.policy.metadata import DEFAULT_CAMERAS
from omnireset_core.control.config import load_controller_config
from omnireset_core.control.pacing import DeadlinePacer
from omnireset_core.tasks import is_assembled, load_task
from omnireset_sim.config import config_dir
from omnireset_sim.scripted import pick_and_insert

VIDEO_FPS = 10


def run_demo(output: Path, configs: Path, realtime: bool = True, video: bool = True) -> dict:
    from omnireset_sim.camera import TwinCamera
    from omnireset_sim.twin import TwinCell, TwinGripper, TwinRobot

    controller = load_controller_config(configs / "controller.yaml")
    cell = TwinCell.from_files(configs / "cell.yaml", configs / "cameras.yaml")
    robot, gripper = TwinRobot(cell), TwinGripper(cell)
    cameras = [TwinCamera(cell, name, rate_hz=VIDEO_FPS) for name in DEFAULT_CAMERAS] if video else []
    pacer = DeadlinePacer(controller.rate_hz)
    log: dict[str, list] = {"t_s": [], "tcp": [], "target": [], "wake_s": []}
    frames: list = []
    next_frame_s = [0.0]

    def on_tick(status):
        log["t_s"].append(cell.time_s)
        log["tcp"].append(status.tcp_pos_b_m)
        log["target"].append(status.target_pos_b_m)
        if cameras and cell.time_s >= next_frame_s[0]:
            next_frame_s[0] += 1.0 / VIDEO_FPS
            frames.append(np.concatenate([c.read().rgb for c in cameras], axis=1))
        if realtime:
            log["wake_s"].append(pacer.wait())

    with robot, gripper:
        for c in cameras:
            c.connect()
        try:
            pacer.start()
            t0 = time.monotonic()
            result = pick_and_insert(cell, robot, gripper, controller.gains, on_tick=on_tick)
            wall_s = time.monotonic() - t0
        finally:
            for c in cameras:
                c.disconnect()

    task = load_task("peg")
    inserted = bool(is_assembled(result["peg_pos_hole_m"], result["peg_quat_hole"], task.goal_poses, task.success))
    tcp, target = np.array(log["tcp"]), np.array(log["target"])
    err_mm = 1e3 * np.linalg.norm(tcp - target, axis=1)
    periods_ms = 1e3 * np.diff(log["wake_s"]) if realtime else np.array([])
    summary = {
        "inserted": inserted,
        "peg_pos_in_hole_mm": (1e3 * result["peg_pos_hole_m"]).round(3).tolist(),
        "sim_time_s": round(cell.time_s, 3),
        "wall_time_s": round(wall_s, 3),
        "control_ticks": len(tcp),
        "tracking_error_mm": {"median": float(np.median(err_mm)), "p99": float(np.percentile(err_mm, 99))},
        "phases": [(name, round(t, 3)) for name, t in result["phases"]],
    }
    if realtime:
        summary["loop_period_ms"] = {
            "p50": float(np.median(periods_ms)), "p99": float(np.percentile(periods_ms, 99)),
            "max": float(periods_ms.max()), "overruns": pacer.overruns,
        }
    output.mkdir(parents=True, exist_ok=True)
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    _plot(output / "tracking.png", np.array(log["t_s"]), tcp, target, err_mm, periods_ms, result["phases"])
    if frames:
        import imageio.v2 as imageio

        imageio.mimsave(output / "cameras.mp4", frames, fps=VIDEO_FPS, macro_block_size=1)
    return summary


def _plot(path: Path, t_s, tcp, target, err_mm, periods_ms, phases) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 9), constrained_layout=True)
    for i, (axis, colour) in enumerate(zip("xyz", ("tab:red", "tab:green", "tab:blue"))):
        axes[0].plot(t_s, target[:, i], "--", color=colour, lw=1, label=f"target {axis}")
        axes[0].plot(t_s, tcp[:, i], color=colour, lw=1.5, label=f"TCP {axis}")
    for name, t in phases:
        axes[0].axvline(t, color="0.8", lw=0.8)
        axes[0].text(t, axes[0].get_ylim()[1], name, rotation=90, va="top", fontsize=7, color="0.4")
    axes[0].set(ylabel="position in base frame [m]", title="Scripted peg pick-and-insert on the twin, 500 Hz OSC")
    axes[0].legend(ncol=6, fontsize=8, loc="lower left")
    axes[1].semilogy(t_s, np.maximum(err_mm, 1e-3), color="k", lw=1)
    axes[1].set(ylabel="|target - TCP| [mm]", xlabel="simulated time [s]")
    if len(periods_ms):
        axes[2].hist(periods_ms, bins=np.linspace(0, max(6.0, periods_ms.max()), 120), color="tab:purple")
        axes[2].set_yscale("log")
        axes[2].axvline(2.0, color="k", lw=0.8)
        axes[2].set(xlabel="control period [ms] (nominal 2.000)", ylabel="count",
                    title=f"loop period: p50 {np.median(periods_ms):.3f} ms, p99 {np.percentile(periods_ms, 99):.3f} ms")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("outputs/demo"), help="folder for plot, video, summary")
    parser.add_argument("--config-dir", type=Path, default=None, help="folder with cell/cameras/controller.yaml")
    parser.add_argument("--fast", action="store_true", help="run as fast as possible instead of real time")
    parser.add_argument("--no-video", action="store_true", help="skip camera rendering and the video")
    args = parser.parse_args(argv)
    try:
        configs = args.config_dir or config_dir()
        print(f"[demo] twin of the UR7e + 2F-85 peg cell, configs from {configs}", flush=True)
        summary = run_demo(args.output, configs, realtime=not args.fast, video=not args.no_video)
    except (ValueError, OSError) as exc:
        print(f"[demo] error: {exc}", file=sys.stderr)
        return 2
    print(f"[demo] peg inserted: {summary['inserted']}  (peg in hole frame, mm: {summary['peg_pos_in_hole_mm']})")
    print(f"[demo] {summary['control_ticks']} control periods, {summary['sim_time_s']} s simulated in "
          f"{summary['wall_time_s']} s wall time")
    e = summary["tracking_error_mm"]
    print(f"[demo] tracking error: median {e['median']:.2f} mm, p99 {e['p99']:.2f} mm")
    if "loop_period_ms" in summary:
        p = summary["loop_period_ms"]
        print(f"[demo] loop period: p50 {p['p50']:.3f} ms, p99 {p['p99']:.3f} ms, max {p['max']:.2f} ms, "
              f"overruns {p['overruns']}")
    print(f"[demo] wrote {args.output}/tracking.png, summary.json" + ("" if args.no_video else ", cameras.mp4"))
    return 0 if summary["inserted"] else 1


if __name__ == "__main__":
    sys.exit(main())
