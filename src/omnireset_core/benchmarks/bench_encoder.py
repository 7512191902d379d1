"""What it costs to encode one policy step's new frames (three cameras, one ResNet-18 GroupNorm
each) on this CPU, and what a practitioner can do about it. Each row encodes the same three
224 x 224 frames; the goal is the 60 ms the authors name as the edge of smooth control.

Variants, at 224, 96 and 64 px (the cameras rendered smaller): the exported student's
``encode`` one frame at a time (what ``PolicyRuntime`` runs; channels-last), the same ResNet-18
scripted with contiguous tensors (PyTorch then takes its generic convolutions for one small
image), the three cameras on three threads at once; at 224 px also eager PyTorch,
``torch.compile`` (inductor) and ONNX Runtime (fp32, and int8 with dynamic quantisation) when
``onnxruntime`` is installed. Random weights; latency does not depend on them. Prints a table.

    OMP_WAIT_POLICY=PASSIVE python src/omnireset_core/benchmarks/bench_encoder.py [--threads 2] [--repeats 30]
    # on a GPU machine: add --device cuda (TorchScript and eager rows)
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP

import argparse  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from omnireset_core.policy import VisionSpec, export_policy, new_metadata  # noqa: E402
from omnireset_core.policy.vision import IMAGENET_MEAN, IMAGENET_STD, ResNet18GN, RgbStudent  # noqa: E402
from omnireset_core.spec import default_actor_observation  # noqa: E402

GOAL_MS = 60.0
N_CAMERAS = 3


def timed(fn, repeats: int, warmup: int = 3, sync=lambda: None) -> np.ndarray:
    for _ in range(warmup):
        fn()
    sync()
    out = np.empty(repeats)
    for k in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        out[k] = time.perf_counter() - t0
    return out * 1e3


def normalised(images_u8: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images_u8.float() / 255.0 - mean.to(images_u8.device)) / std.to(images_u8.device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-compile", action="store_true", help="torch.compile takes minutes on 2 cores")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    encoders = [ResNet18GN().eval().to(dev) for _ in range(N_CAMERAS)]
    rng = np.random.default_rng(0)
    rows = []

    def frames(hw):
        return torch.from_numpy(rng.integers(0, 256, (N_CAMERAS, 3, hw, hw), dtype=np.uint8)).to(dev)

    student = RgbStudent(N_CAMERAS, 1, 1).eval().to(dev)  # its encoders and channels-last encode()
    with tempfile.TemporaryDirectory() as tmp:
        md = new_metadata("rgb", "peg", default_actor_observation().select(("joint_pos",)), {},
                          vision=VisionSpec(frames_per_camera=1))
        exported = torch.jit.load(str(export_policy(student, Path(tmp) / "s.pt", md)), map_location=dev)
    x224 = normalised(frames(224))
    with torch.no_grad():
        reference = torch.stack([e(x224[i:i + 1])[0] for i, e in enumerate(encoders)])
        scripted = [torch.jit.script(e) for e in encoders]
        for hw in (224, 96, 64):
            u8 = frames(hw)
            x = normalised(u8)
            cams = [torch.tensor([i], device=dev) for i in range(N_CAMERAS)]
            rows.append(("exported student (channels-last), per frame", hw,
                         timed(lambda: [exported.encode(u8[i:i + 1], cams[i]) for i in range(N_CAMERAS)],
                               args.repeats, sync=sync)))
            rows.append(("TorchScript ResNet-18, contiguous", hw,
                         timed(lambda: [s(x[i:i + 1]) for i, s in enumerate(scripted)], args.repeats, sync=sync)))
            if args.threads > 1 and dev.type == "cpu":
                pool = ThreadPoolExecutor(N_CAMERAS)
                rows.append(("exported student, 3 cameras on 3 threads", hw,
                             timed(lambda: list(pool.map(lambda i: exported.encode(u8[i:i + 1], cams[i]),
                                                         range(N_CAMERAS))), args.repeats)))
        rows.append(("eager PyTorch, contiguous", 224,
                     timed(lambda: [e(x224[i:i + 1]) for i, e in enumerate(encoders)], args.repeats, sync=sync)))
        if not args.skip_compile:
            compiled = [torch.compile(e) for e in encoders]
            t0 = time.perf_counter()
            for i, c in enumerate(compiled):
                c(x224[i:i + 1])
            compile_s = time.perf_counter() - t0
            rows.append((f"torch.compile (inductor; compile {compile_s:.0f} s)", 224,
                         timed(lambda: [c(x224[i:i + 1]) for i, c in enumerate(compiled)], args.repeats, sync=sync)))
    errors = onnx_rows(encoders, x224, reference, args, rows) if dev.type == "cpu" else {}

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, device {dev}, "
          f"torch {torch.__version__}, threads {args.threads}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"| {'encode 3 new frames (one per camera)':44s} | {'px':>4s} | {'p50 ms':>8s} | {'p99 ms':>8s} "
          f"| {'<= 60 ms':>8s} |")
    print(f"|{'-' * 46}|{'-' * 6}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for name, hw, s in rows:
        p50, p99 = np.percentile(s, [50, 99])
        print(f"| {name:44s} | {hw:4d} | {p50:8.2f} | {p99:8.2f} | {'yes' if p99 <= GOAL_MS else 'no':>8s} |")
    for name, err in errors.items():
        print(f"{name}: max |feature - PyTorch| = {err:.2e}")


def onnx_rows(encoders, x224, reference, args, rows) -> dict:
    """ONNX Runtime fp32 and dynamically quantised int8 rows, with their feature error."""
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        print("onnxruntime not installed: no ONNX Runtime rows (pip install onnxruntime onnx)")
        return {}
    errors = {}
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        for precision in ("fp32", "int8"):
            sessions = []
            for i, e in enumerate(encoders):
                path = Path(tmp) / f"encoder{i}.onnx"
                torch.onnx.export(e, (x224[i:i + 1].cpu(),), str(path), input_names=["x"], output_names=["f"],
                                  dynamo=False)
                if precision == "int8":
                    quantized = Path(tmp) / f"encoder{i}.int8.onnx"
                    quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
                    path = quantized
                sessions.append(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))
            inputs = [x224[i:i + 1].cpu().numpy() for i in range(len(encoders))]

            def run(sessions=sessions, inputs=inputs):
                return [s.run(None, {"x": x})[0] for s, x in zip(sessions, inputs)]

            out = np.concatenate(run())
            errors[f"ONNX Runtime {precision}"] = float(np.abs(out - reference.cpu().numpy()).max())
            rows.append((f"ONNX Runtime {precision}", 224, timed(run, args.repeats)))
    return errors


if __name__ == "__main__":
    main()
