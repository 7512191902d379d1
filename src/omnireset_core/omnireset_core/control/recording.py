"""A run of the 500 Hz control loop, one row per tick: what system identification fits.

Row k holds the joint state read at tick k and the target and torque that tick k commanded, so a
replay starts from row 0's state and is compared with row k+1 after applying row k's target.
File: ``<name>.npz`` (the arrays) with ``<name>.json`` (format, rate, gains, source, the
excitation's settings if one was run, sha256), each written atomically.

``TickRecorder`` collects the rows from the loop's statuses (the controller node's record
service); ``omnireset_training.sysid.recording.record_chirp`` runs a chirp and records it.
"""
from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnireset_core.config import from_dict
from omnireset_core.control.loop import LoopMode, LoopStatus
from omnireset_core.control.osc import OscGains
from omnireset_core.files import atomic_write_bytes, atomic_write_text, load_npz, npz_bytes, sha256_bytes

FORMAT = "omnireset-sysid-recording"
VERSION = 2
ARRAYS = {
    "t_s": (),
    "q_rad": (6,),
    "qd_radps": (6,),
    "tau_Nm": (6,),
    "target_pos_b_m": (3,),
    "target_quat_b_wxyz": (4,),
    "tcp_pos_b_m": (3,),
}


@dataclass(frozen=True)
class Recording:
    arrays: dict  # name -> (N, ...) float64 as in ARRAYS
    rate_hz: float
    gains: OscGains
    source: str  # what produced it, e.g. "twin" or the robot's address
    excitation: dict | None = None  # the settings of the excitation run (e.g. the chirp's), None: any motion

    @property
    def ticks(self) -> int:
        return len(self.arrays["t_s"])

    def save(self, path: str | Path) -> Path:
        """Writes ``path`` (.npz) and its .json manifest; returns the .npz path."""
        path = Path(path).with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = npz_bytes(self.arrays)
        atomic_write_bytes(path, data)
        manifest = {"format": FORMAT, "version": VERSION, "rate_hz": self.rate_hz, "source": self.source,
                    "ticks": self.ticks, "gains": dataclasses.asdict(self.gains), "excitation": self.excitation,
                    "sha256": sha256_bytes(data)}
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
        rows = _check_arrays(arrays, str(path))
        if rows < 2:
            raise ValueError(f"{path}: a recording needs at least 2 ticks")
        gains = from_dict(OscGains, manifest["gains"], f"{manifest_path.name} gains")
        return cls(arrays, float(manifest["rate_hz"]), gains, manifest["source"], manifest.get("excitation"))


def _check_arrays(arrays: dict, where: str) -> int:
    if set(arrays) != set(ARRAYS):
        raise ValueError(f"{where}: arrays {sorted(arrays)}, expected {sorted(ARRAYS)}")
    rows = len(arrays["t_s"])
    for name, shape in ARRAYS.items():
        value = arrays[name]
        if value.dtype != np.float64 or value.shape != (rows, *shape) or not np.all(np.isfinite(value)):
            raise ValueError(f"{where}: {name} must be finite float64 ({rows}, {', '.join(map(str, shape))}), "
                             f"got {value.dtype} {value.shape}")
    return rows


class TickRecorder:
    """Rows from the loop's status at every tick while started (``add`` from the loop thread,
    ``start``/``stop`` from any other). A safety stop or a failure ends the rows: a stopped arm is
    not under the OSC law a replay applies. At most ``max_ticks`` rows (then it stops by itself).
    The rows go into arrays allocated at ``start``, so neither a tick nor ``stop`` builds them
    from Python objects while the loop runs."""

    def __init__(self, max_ticks: int = 60 * 500):
        self.max_ticks = max_ticks
        self._lock = threading.Lock()
        self._arrays: dict[str, np.ndarray] | None = None  # set from start to stop
        self._rows = 0
        self.ended_by = ""  # why the last recording stopped before stop() was called, if it did

    @property
    def recording(self) -> bool:
        return self._arrays is not None and not self.ended_by

    def start(self) -> None:
        with self._lock:
            if self._arrays is not None:
                raise RuntimeError(f"a run ended by {self.ended_by} is waiting: stop it first" if self.ended_by
                                   else "already recording")
            self._arrays = {name: np.empty((self.max_ticks, *shape)) for name, shape in ARRAYS.items()}
            self._rows, self.ended_by = 0, ""

    def add(self, status: LoopStatus) -> None:
        with self._lock:
            if self._arrays is None or self.ended_by:
                return
            if status.mode in (LoopMode.STOPPED, LoopMode.FAILED) or status.target_pos_b_m is None:
                self.ended_by = f"the loop stopped: {status.reason}"
            elif self._rows >= self.max_ticks:
                self.ended_by = f"the limit of {self.max_ticks} ticks"
            else:
                for name, column in self._arrays.items():
                    column[self._rows] = status.stamp_s if name == "t_s" else getattr(status, name)
                self._rows += 1

    def stop(self, rate_hz: float, gains: OscGains, source: str) -> Recording:
        """The rows since ``start`` as a Recording (ValueError if fewer than 2); recording ends."""
        with self._lock:
            arrays, rows, self._arrays = self._arrays, self._rows, None
        if arrays is None:
            raise RuntimeError("not recording")
        if rows < 2:
            raise ValueError(f"only {rows} tick(s) recorded" + (f" ({self.ended_by})" if self.ended_by else ""))
        out = {name: column[:rows].copy() for name, column in arrays.items()}
        out["t_s"] -= out["t_s"][0]
        return Recording(out, rate_hz, gains, source)
