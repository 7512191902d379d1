"""A chirp run through the core's 500 Hz control loop, recorded one row per tick.

Row k holds the joint state read at tick k and the target and torque that tick k commanded, so a
replay starts from row 0's state and is compared with row k+1 after applying row k's target.
File: ``<name>.npz`` (the arrays) with ``<name>.json`` (rate, gains, chirp, source, sha256).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnireset_core.control.chirp import ChirpConfig, chirp_targets
from omnireset_core.control.loop import ControlLoop, LoopMode
from omnireset_core.control.osc import OscGains
from omnireset_training.files import atomic_write_bytes, atomic_write_text, load_npz, npz_bytes, sha256_bytes
from omnireset_training.datasets import validate_arrays

FORMAT = "omnireset-sysid-recording"
VERSION = 1
ARRAYS = {
    "t_s": ((), np.float64),
    "q_rad": ((6,), np.float64),
    "qd_radps": ((6,), np.float64),
    "tau_Nm": ((6,), np.float64),
    "target_pos_b_m": ((3,), np.float64),
    "target_quat_b_wxyz": ((4,), np.float64),
    "tcp_pos_b_m": ((3,), np.float64),
}


@dataclass(frozen=True)
class Recording:
    arrays: dict  # name -> (N, ...) as in ARRAYS
    rate_hz: float
    gains: OscGains
    chirp: ChirpConfig
    source: str  # what produced it, e.g. "twin" or the robot's address

    @property
    def ticks(self) -> int:
        return len(self.arrays["t_s"])

    def save(self, path: str | Path) -> Path:
        """Writes ``path`` (.npz) and its .json manifest, each atomically; returns the .npz path."""
        path = Path(path).with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = npz_bytes(self.arrays)
        atomic_write_bytes(path, data)
        manifest = {"format": FORMAT, "version": VERSION, "rate_hz": self.rate_hz, "source": self.source,
                    "ticks": self.ticks, "gains": dataclasses.asdict(self.gains),
                    "chirp": dataclasses.asdict(self.chirp), "sha256": sha256_bytes(data)}
        atomic_write_text(path.with_suffix(".json"), json.dumps(manifest, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        path = Path(path).with_suffix(".npz")
        manifest_path = path.with_suffix(".json")
        if not manifest_path.is_file():
            raise FileNotFoundError(f"sysid recording {path}: its manifest {manifest_path.name} is missing")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise ValueError(f"{manifest_path}: not a {FORMAT} v{VERSION} manifest")
        arrays = load_npz(path, manifest["sha256"])
        if validate_arrays(arrays, ARRAYS, str(path)) < 2:
            raise ValueError(f"{path}: a recording needs at least 2 ticks")
        gains = manifest["gains"]
        gains = OscGains(**{k: tuple(v) if isinstance(v, list) else v for k, v in gains.items()})
        return cls(arrays, float(manifest["rate_hz"]), gains, ChirpConfig(**manifest["chirp"]), manifest["source"])


def record_chirp(loop: ControlLoop, chirp: ChirpConfig, source: str, wait=None) -> Recording:
    """Runs the chirp about the TCP pose of the first tick, one ``loop.tick()`` per period.

    ``wait``: called after each tick to pace it (the loop's ``pacer.wait`` on a robot); None for a
    lockstep twin, whose every tick advances the physics by one period. A safety stop or a refused
    target ends the run with ValueError: such a recording does not describe the free arm.
    """
    period_s = loop.pacer.period_s
    first = loop.tick()
    n = int(round(chirp.duration_s / period_s))
    t_s = period_s * np.arange(n)
    target_pos, target_quat = chirp_targets(t_s, first.tcp_pos_b_m, first.tcp_quat_b_wxyz, chirp)
    rows = {name: np.zeros((n, *shape)) for name, (shape, _) in ARRAYS.items()}
    if wait is not None:
        loop.pacer.start()
    for k in range(n):
        problem = loop.set_target(target_pos[k], target_quat[k])
        if problem is not None:
            raise ValueError(f"chirp target {k} refused: {problem}")
        status = loop.tick()
        if status.mode is not LoopMode.TRACKING:
            raise ValueError(f"chirp stopped at {t_s[k]:.3f} s: {status.reason}")
        for name, value in (("t_s", t_s[k]), ("q_rad", status.q_rad), ("qd_radps", status.qd_radps),
                            ("tau_Nm", status.tau_Nm), ("target_pos_b_m", target_pos[k]),
                            ("target_quat_b_wxyz", target_quat[k]), ("tcp_pos_b_m", status.tcp_pos_b_m)):
            rows[name][k] = value
        if wait is not None:
            wait()
    return Recording(rows, 1.0 / period_s, loop.gains, chirp, source)
