"""Latency of one 10 Hz policy step on CPU: (a) a state expert, MLP [512, 256, 128, 64], and
(b) an RGB student, 3 cameras x 5 frames, one ResNet-18 (GroupNorm) per camera + MLP 4 x 512:
naive (all 15 frames encoded every step) vs cached (only the 3 new frames encoded).
Random weights; latency does not depend on them. Prints a table.

    OMP_WAIT_POLICY=PASSIVE python src/omnireset_core/benchmarks/bench_policy.py [--threads 2]
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP

import argparse  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from omnireset_core.policy import ExpectedSpec, PolicyRuntime, VisionSpec, export_policy, new_metadata  # noqa: E402
from omnireset_core.policy.vision import RgbStudent, mlp  # noqa: E402
from omnireset_core.spec import default_actor_observation  # noqa: E402

EE_POS_B, EE_QUAT_B = np.array([0.45, 0.0, 0.3]), np.array([0.0, 1.0, 0.0, 0.0])
POLICY_PERIOD_MS = 100.0


def latencies_ms(fn, repeats: int, warmup: int) -> np.ndarray:
    for k in range(warmup):
        fn(k)
    samples = np.empty(repeats)
    for k in range(repeats):
        t0 = time.perf_counter()
        fn(warmup + k)
        samples[k] = time.perf_counter() - t0
    return samples * 1e3


class StateMlp(torch.nn.Module):
    def __init__(self, dim_in: int):
        super().__init__()
        self.net = mlp(dim_in, (512, 256, 128, 64), 7)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


def stamped_obs(spec, now_s, rng):
    return {t.name: (now_s, rng.normal(size=t.dim)) for t in spec.terms if t.name != "last_action"}


def bench_state(tmp: Path, repeats: int, rows: list):
    spec = default_actor_observation()
    path = export_policy(StateMlp(spec.dim), tmp / "state.pt", new_metadata("state", "peg", spec, {}))
    rt = PolicyRuntime.load(path, ExpectedSpec.state())
    rng = np.random.default_rng(0)

    def step(k):
        now_s = 0.1 * k
        rt.step(now_s, stamped_obs(spec, now_s, rng), None, EE_POS_B, EE_QUAT_B, now_s)

    obs = torch.zeros(1, spec.dim)

    def network(_):
        with torch.no_grad():
            rt.module(obs)

    rows.append(("state MLP, network only", 0, latencies_ms(network, repeats, 50)))
    rows.append(("state MLP, PolicyRuntime.step", 0, latencies_ms(step, repeats, 50)))


def bench_rgb(tmp: Path, repeats_cached: int, repeats_naive: int, rows: list):
    proprio = default_actor_observation().select(("last_action", "joint_pos", "ee_pose_b"))
    vision = VisionSpec()
    n_cam, frames = len(vision.cameras), vision.frames_per_camera
    torch.manual_seed(0)
    student = RgbStudent(n_cam, frames, proprio.dim)
    md = new_metadata("rgb", "peg", proprio, {}, vision=vision)
    path = export_policy(student, tmp / "student.pt", md)
    t0 = time.perf_counter()
    rt = PolicyRuntime.load(path, ExpectedSpec.rgb(proprio))
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(8)]

    def cached(k):
        now_s = 0.1 * k
        shots = {cam: (now_s - 0.03, images[(k + i) % len(images)]) for i, cam in enumerate(vision.cameras)}
        rt.step(now_s, stamped_obs(proprio, now_s, rng), shots, EE_POS_B, EE_QUAT_B, now_s)

    all_frames = torch.from_numpy(np.stack([images[i % len(images)] for i in range(n_cam * frames)]))
    camera = torch.arange(n_cam).repeat_interleave(frames)
    proprio_vec = torch.zeros(1, proprio.dim)

    def naive(_):
        # the same module, every frame of every stack encoded again each step
        with torch.no_grad():
            batch = all_frames.permute(0, 3, 1, 2).contiguous()
            features = rt.module.encode(batch, camera).reshape(1, n_cam, frames, -1)
            rt.module(features, proprio_vec)

    new_frames = all_frames[:n_cam].permute(0, 3, 1, 2).contiguous()
    stack = torch.zeros(1, n_cam, frames, vision.feature_dim)

    def head_only(_):
        with torch.no_grad():
            rt.module(stack, proprio_vec)

    def encode_new(_):
        with torch.no_grad():
            rt.module.encode(new_frames, torch.arange(n_cam))

    rows.append(("RGB, MLP head only", 0, latencies_ms(head_only, repeats_cached, 5)))
    rows.append(("RGB, encode 3 new frames only", n_cam, latencies_ms(encode_new, repeats_cached, 3)))
    rows.append(("RGB cached, PolicyRuntime.step", n_cam, latencies_ms(cached, repeats_cached, 3)))
    rows.append(("RGB naive, encode all + head", n_cam * frames, latencies_ms(naive, repeats_naive, 2)))
    return load_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=60, help="timed RGB cached steps (naive: a third)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bench_state(Path(tmp), 2000, rows)
        load_s = bench_rgb(Path(tmp), args.repeats, max(10, args.repeats // 3), rows)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"RGB student load + validation + warm-up: {load_s:.2f} s")
    print(f"| {'one policy step':32s} | {'frames encoded':>14s} | {'n':>5s} | {'p50 ms':>8s} | {'p99 ms':>8s} "
          f"| {'max ms':>8s} | {'fits 100 ms':>11s} |")
    print(f"|{'-' * 34}|{'-' * 16}|{'-' * 7}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 13}|")
    for name, n_frames, s in rows:
        p50, p99 = np.percentile(s, 50), np.percentile(s, 99)
        fits = "yes" if p99 < POLICY_PERIOD_MS else "no"
        print(f"| {name:32s} | {n_frames:14d} | {len(s):5d} | {p50:8.2f} | {p99:8.2f} | {s.max():8.2f} | {fits:>11s} |")


if __name__ == "__main__":
    main()
