"""Twin throughput on this machine (not a test): physics rate, real-time factor with background
cameras, render times. Offscreen GL backend from MUJOCO_GL (egl by default).

    MUJOCO_GL=egl python src/omnireset_sim/benchmarks/bench_twin.py [--seconds 3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

from omnireset_core.control.osc import osc_torque, pose_error  # noqa: E402
from omnireset_core.rotations import matrix_to_quat  # noqa: E402
from omnireset_sim.camera import TwinCamera  # noqa: E402
from omnireset_sim.scripted import SCRIPTED_GAINS  # noqa: E402
from omnireset_sim.twin import TwinCell, TwinGripper, TwinRobot  # noqa: E402

CAMERAS = ("front", "side", "wrist")


def physics_steps_per_s(cell: TwinCell, seconds: float) -> float:
    cell.reset()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        cell.step(50)
        n += 50
    return n / (time.perf_counter() - t0)


def control_loop_rtf(cell: TwinCell, seconds: float, cameras: list[TwinCamera]) -> tuple[float, float]:
    """Lockstep 500 Hz OSC loop as fast as it goes: (real-time factor, control ticks/s)."""
    cell.reset()
    robot, gripper = TwinRobot(cell), TwinGripper(cell)
    robot.connect()
    gripper.connect()
    kin = cell.kinematics
    target_T = kin.tcp_pose(robot.read_state().q_rad)
    target_pos, target_quat = target_T[:3, 3] + [0.0, 0.05, -0.05], matrix_to_quat(target_T[:3, :3])
    for cam in cameras:
        cam.connect()
    ticks, sim0, t0 = 0, cell.time_s, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        state = robot.read_state()
        T, J = kin.tcp_pose_and_jacobian(state.q_rad)
        err = pose_error(T[:3, 3], matrix_to_quat(T[:3, :3]), target_pos, target_quat)
        robot.command_torque(osc_torque(J, state.qd_radps, err, SCRIPTED_GAINS))
        ticks += 1
    wall = time.perf_counter() - t0
    for cam in cameras:
        cam.disconnect()
    return (cell.time_s - sim0) / wall, ticks / wall


def render_times_ms(cell: TwinCell, n: int) -> dict[str, np.ndarray]:
    cams = [TwinCamera(cell, name, background=False) for name in CAMERAS]
    for cam in cams:
        cam.read()  # context creation and first upload
    out = {name: [] for name in CAMERAS}
    out["all three"] = []
    for _ in range(n):
        t_all = time.perf_counter()
        for cam in cams:
            t0 = time.perf_counter()
            cam.read()
            out[cam.name].append(time.perf_counter() - t0)
        out["all three"].append(time.perf_counter() - t_all)
        cell.step(5)
    for cam in cams:
        cam.disconnect()
    return {k: 1e3 * np.asarray(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="OmniReset twin benchmark")
    parser.add_argument("--seconds", type=float, default=3.0, help="wall time per throughput measurement")
    parser.add_argument("--renders", type=int, default=200, help="synchronous renders per camera")
    args = parser.parse_args()
    cell = TwinCell.from_files()
    print(f"MuJoCo twin benchmark  (MUJOCO_GL={os.environ['MUJOCO_GL']}, {os.cpu_count()} CPUs, "
          f"dt={cell.timestep_s * 1e3:g} ms, nv={cell.model.nv}, ngeom={cell.model.ngeom})")
    rows = [("physics steps/s (mj_step only, dt 2 ms)", f"{physics_steps_per_s(cell, args.seconds):,.0f}")]
    rtf, tps = control_loop_rtf(cell, args.seconds, [])
    rows.append(("500 Hz OSC loop, no cameras: real-time factor", f"{rtf:.2f}x  ({tps:,.0f} ticks/s)"))
    cams = [TwinCamera(cell, name, rate_hz=10.0) for name in CAMERAS]
    rtf_cam, tps_cam = control_loop_rtf(cell, args.seconds, cams)
    rows.append(("500 Hz OSC loop + 3 cameras @ 10 Hz (thread)", f"{rtf_cam:.2f}x  ({tps_cam:,.0f} ticks/s)"))
    bg = np.concatenate([np.asarray(c.render_times_s) for c in cams]) * 1e3
    if bg.size:
        rows.append(("  background render, per camera (mean / p99)",
                     f"{bg.mean():.2f} / {np.percentile(bg, 99):.2f} ms  ({bg.size} frames)"))
    for name, ms in render_times_ms(cell, args.renders).items():
        rows.append((f"render {name} 224x224 (mean / p99)", f"{ms.mean():.2f} / {np.percentile(ms, 99):.2f} ms"))
    width = max(len(r[0]) for r in rows)
    print("-" * (width + 32))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
