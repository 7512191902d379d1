"""Cost of one OSC tick: analytic FK + Jacobian + control law, single robot (numpy, the 500 Hz
path) and batched (torch, the training path). Prints a table; figures go to docs/benchmarks.md.

    python src/omnireset_core/benchmarks/bench_control.py
"""
import platform
import time

import numpy as np

from omnireset_core.control.osc import OscGains, osc_torque, pose_error
from omnireset_core.kinematics import URKinematics
from omnireset_core.rotations import matrix_to_quat


def per_call_us(fn, repeats: int) -> np.ndarray:
    samples = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples[i] = time.perf_counter() - t0
    return samples * 1e6


def main():
    kin, gains = URKinematics(), OscGains()
    rng = np.random.default_rng(0)
    q, qd = rng.uniform(-2, 2, 6), rng.normal(size=6) * 0.1
    tpos, tquat = np.array([0.45, 0.0, 0.3]), np.array([0.0, 1.0, 0.0, 0.0])

    def kinematics():
        return kin.tcp_pose_and_jacobian(q)

    def tick():
        T, J = kin.tcp_pose_and_jacobian(q)
        return osc_torque(J, qd, pose_error(T[:3, 3], matrix_to_quat(T[:3, :3]), tpos, tquat), gains)

    T, J = kinematics()
    pos, quat = T[:3, 3], matrix_to_quat(T[:3, :3])

    def law():
        return osc_torque(J, qd, pose_error(pos, quat, tpos, tquat), gains)

    rows = []
    for name, fn in (("FK + Jacobian (numpy)", kinematics), ("OSC law (numpy)", law), ("full tick (numpy)", tick)):
        per_call_us(fn, 200)
        s = per_call_us(fn, 5000)
        rows.append((name, 1, np.median(s), np.percentile(s, 99)))
    try:
        import torch

        torch.set_num_threads(1)
        for n in (1024, 16384):
            Jt = torch.as_tensor(np.broadcast_to(J, (n, 6, 6)).copy())
            args = [torch.as_tensor(np.broadcast_to(x, (n,) + x.shape).copy()) for x in (qd, pos, quat, tpos, tquat)]

            qt = torch.as_tensor(rng.uniform(-2, 2, (n, 6)))

            def batched():
                return osc_torque(Jt, args[0], pose_error(*args[1:]), gains)

            def batched_kinematics():
                return kin.tcp_pose_and_jacobian(qt)

            for name, fn in (("FK + Jacobian", batched_kinematics), ("OSC law", batched)):
                per_call_us(fn, 5)
                s = per_call_us(fn, 50)
                rows.append((f"{name} (torch, {n} envs)", n, np.median(s), np.percentile(s, 99)))
    except ImportError:
        pass
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"| {'what':32s} | {'robots':>6s} | {'median us':>10s} | {'p99 us':>8s} | {'us/robot':>8s} |")
    print(f"|{'-' * 34}|{'-' * 8}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    for name, n, med, p99 in rows:
        print(f"| {name:32s} | {n:6d} | {med:10.1f} | {p99:8.1f} | {med / n:8.2f} |")


if __name__ == "__main__":
    main()
