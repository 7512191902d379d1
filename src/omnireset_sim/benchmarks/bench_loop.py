"""500 Hz loop timing: the ControlLoop thread driving the twin, next to a bare paced loop
measured in the same run (same pacer, no work). Prints a table for docs/benchmarks.md.

    python src/omnireset_sim/benchmarks/bench_loop.py [--seconds 15] [--cameras]
"""
import argparse
import os
import platform
import threading
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

from omnireset_core.control.config import load_controller_config  # noqa: E402
from omnireset_core.control.loop import ControlLoop, LoopMode  # noqa: E402
from omnireset_core.control.pacing import DeadlinePacer  # noqa: E402
from omnireset_sim.config import config_dir  # noqa: E402
from omnireset_sim.twin import TwinCell, TwinRobot  # noqa: E402


def bare_loop(seconds: float, rate_hz: float) -> tuple[np.ndarray, int]:
    pacer = DeadlinePacer(rate_hz)
    wake = [pacer.start()]
    for _ in range(int(seconds * rate_hz)):
        wake.append(pacer.wait())
    return np.diff(wake), pacer.overruns


def control_loop(seconds: float, configs, cameras: bool) -> tuple[np.ndarray, int, float]:
    controller = load_controller_config(configs / "controller.yaml")
    cell = TwinCell.from_files(configs / "cell.yaml", configs / "cameras.yaml")
    robot = TwinRobot(cell)
    cams = []
    if cameras:
        from omnireset_sim.camera import TwinCamera

        cams = [TwinCamera(cell, n, rate_hz=10.0) for n in ("front", "side", "wrist")]
    with robot:
        for c in cams:
            c.connect()
        loop = ControlLoop(robot, cell.kinematics, controller.gains, controller.safety, controller.rate_hz,
                           history=int(seconds * controller.rate_hz) + 10)
        loop.start()
        time.sleep(0.05)
        home = loop.status()
        stop = threading.Event()

        def sender():  # a 10 Hz policy stand-in: a 5 cm circle in the horizontal plane
            t0 = time.monotonic()
            while not stop.wait(0.1):
                a = 2 * np.pi * 0.25 * (time.monotonic() - t0)
                loop.set_target(home.tcp_pos_b_m + 0.05 * np.array([np.cos(a) - 1, np.sin(a), 0.0]),
                                home.tcp_quat_b_wxyz)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        t0, sim0 = time.monotonic(), cell.time_s
        time.sleep(seconds)
        stop.set()
        rtf = (cell.time_s - sim0) / (time.monotonic() - t0)
        loop.stop()
        thread.join()
        for c in cams:
            c.disconnect()
        assert loop.status().mode is not LoopMode.FAILED, loop.status().reason
        return loop.periods_s(), loop.pacer.overruns, rtf


def row(name, periods_s, overruns, extra=""):
    ms = periods_s * 1e3
    return (f"| {name:36s} | {np.median(ms):7.3f} | {np.percentile(ms, 99):7.3f} | {ms.max():7.2f} | "
            f"{100 * np.mean(ms > 3.0):6.2f} | {overruns:8d} | {extra:>8s} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    configs = config_dir()
    bare, bare_over = bare_loop(args.seconds, 500.0)
    ctl, ctl_over, rtf = control_loop(args.seconds, configs, cameras=False)
    cam, cam_over, cam_rtf = control_loop(args.seconds, configs, cameras=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"{args.seconds:.0f} s each")
    print(f"| {'loop (500 Hz)':36s} | p50 ms  | p99 ms  | max ms  | >3 ms% | overruns | RTF      |")
    print(f"|{'-' * 38}|---------|---------|---------|--------|----------|----------|")
    print(row("bare paced loop (no work)", bare, bare_over))
    print(row("ControlLoop on the twin", ctl, ctl_over, f"{rtf:.3f}"))
    print(row("ControlLoop on the twin + 3 cameras", cam, cam_over, f"{cam_rtf:.3f}"))
    print(f"p99 ratio control/bare: {np.percentile(ctl, 99) / np.percentile(bare, 99):.3f}; "
          f"with cameras: {np.percentile(cam, 99) / np.percentile(bare, 99):.3f}")


if __name__ == "__main__":
    main()
