"""Reset datasets on disk, shared by every training backend.

One folder per dataset:

- ``manifest.json``: format name and version, task, seed, the generator config, the cell config,
  software versions, created/updated times (UTC, ISO 8601), target and actual counts per reset
  type, and ``{"count", "sha256"}`` for every shard and auxiliary file.
- shards ``<type>_<index:05d>.npz`` (types ``reaching, near_object, stable_grasp, near_goal``)::

      q_arm_rad         (N, 6) float64  arm joint positions (settled)
      gripper_closed    (N,)   bool     gripper command
      insertive_pose_b  (N, 7) float64  insertive object pose in frame b: pos m, quat (w, x, y, z)
      receptive_pose_b  (N, 7) float64  receptive object pose in frame b
      finger_travel_m   (N,)   float64  optional: settled travel of each finger, 0 = open (restore
                                        it with the state: a closed grasp needs its fingers in contact)

  All states are at rest (zero velocities).
- ``grasps.npz``: ``tcp_pose_obj (M, 7)``, the TCP pose in the insertive object's frame.
- ``partial_assemblies.npz``: ``insertive_pose_rcv (K, 7)``, insertive pose in the receptive frame.

Every file is written atomically (temporary file + ``os.replace``), then the manifest is rewritten
atomically, so a killed writer leaves only complete, listed files (resumable).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from omnireset_core.files import (
    atomic_write_bytes,
    atomic_write_text,
    load_npz,
    npz_bytes,
    read_json_manifest,
    remove_stale_temporaries,
    sha256_bytes,
    sha256_file,
    software_versions,
    utc_now,
)

FORMAT_NAME = "omnireset-reset-dataset"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
RESET_TYPES = ("reaching", "near_object", "stable_grasp", "near_goal")
GRASPS_FILE = "grasps.npz"
PARTIAL_ASSEMBLIES_FILE = "partial_assemblies.npz"

# name -> (per-row shape, dtype); rows are the leading axis.
SHARD_ARRAYS = {
    "q_arm_rad": ((6,), np.float64),
    "gripper_closed": ((), np.bool_),
    "insertive_pose_b": ((7,), np.float64),
    "receptive_pose_b": ((7,), np.float64),
}
OPTIONAL_SHARD_ARRAYS = {"finger_travel_m": ((), np.float64)}
AUX_ARRAYS = {
    GRASPS_FILE: {"tcp_pose_obj": ((7,), np.float64)},
    PARTIAL_ASSEMBLIES_FILE: {"insertive_pose_rcv": ((7,), np.float64)},
}
_POSE_ARRAYS = ("insertive_pose_b", "receptive_pose_b", "tcp_pose_obj", "insertive_pose_rcv")


def shard_name(reset_type: str, index: int) -> str:
    check_reset_type(reset_type)
    if not isinstance(index, (int, np.integer)) or index < 0 or index > 99_999:
        raise ValueError(f"shard index must be an integer in [0, 99999], got {index!r}")
    return f"{reset_type}_{int(index):05d}.npz"


def check_reset_type(reset_type: str) -> None:
    if reset_type not in RESET_TYPES:
        raise ValueError(f"unknown reset type {reset_type!r}; types are {RESET_TYPES}")


# --- array checks -------------------------------------------------------------------------------
def validate_arrays(arrays: dict, spec: dict, where: str, optional: dict | None = None) -> int:
    """Row count of ``arrays`` after checking names, shapes, dtypes, finiteness and unit quaternions."""
    optional = optional or {}
    missing = sorted(set(spec) - set(arrays))
    if missing:
        raise ValueError(f"{where}: missing array(s) {missing}")
    rows = None
    for name, value in arrays.items():
        if name not in spec and name not in optional:
            raise ValueError(f"{where}: unexpected array {name!r}; expected {sorted(spec) + sorted(optional)}")
        shape, dtype = spec.get(name) or optional[name]
        value = np.asarray(value)
        if value.dtype != dtype or value.ndim != 1 + len(shape) or tuple(value.shape[1:]) != shape:
            raise ValueError(f"{where}: {name} must be (N, {', '.join(map(str, shape))}) {np.dtype(dtype).name}, "
                             f"got {value.shape} {value.dtype}")
        if rows is None:
            rows = value.shape[0]
        elif value.shape[0] != rows:
            raise ValueError(f"{where}: {name} has {value.shape[0]} rows, other arrays {rows}")
        if value.dtype != np.bool_ and not np.all(np.isfinite(value)):
            raise ValueError(f"{where}: {name} has non-finite values")
        if name in _POSE_ARRAYS and rows:
            norms = np.linalg.norm(value[:, 3:], axis=1)
            if np.any(np.abs(norms - 1.0) > 1e-6):
                raise ValueError(f"{where}: {name} quaternions must be unit (w, x, y, z)")
    return int(rows or 0)


# --- manifest -----------------------------------------------------------------------------------
def read_manifest(folder: str | Path) -> dict:
    manifest = read_json_manifest(folder, FORMAT_NAME, FORMAT_VERSION, "reset dataset", MANIFEST_NAME)
    for key in ("shards", "files", "counts"):
        if not isinstance(manifest.get(key), dict):
            raise ValueError(f"{Path(folder) / MANIFEST_NAME}: '{key}' must be a mapping")
    return manifest


def write_manifest(folder: str | Path, manifest: dict) -> None:
    manifest = dict(manifest)
    manifest["updated_utc"] = utc_now()
    counts = {t: 0 for t in RESET_TYPES}
    for entry in manifest["shards"].values():
        counts[entry["type"]] += int(entry["count"])
    manifest["counts"] = counts
    atomic_write_text(Path(folder) / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=False) + "\n")


def config_differences(old, new, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two nested configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += config_differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def open_dataset_folder(folder: str | Path, *, task: str, seed: int, generator_config: dict,
                        cell_config: dict | None = None, resumable_keys: tuple[str, ...] = ("states_per_type",),
                        overwrite: bool = False) -> dict:
    """The manifest of ``folder``, created if absent. An existing dataset made with a different
    generator config (apart from ``resumable_keys``) is refused unless ``overwrite``, which
    empties the folder's dataset files first."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    if (folder / MANIFEST_NAME).exists():
        manifest = read_manifest(folder)
        if overwrite:
            _remove_dataset_files(folder, manifest)
        else:
            old = {k: v for k, v in manifest.get("generator_config", {}).items() if k not in resumable_keys}
            new = {k: v for k, v in generator_config.items() if k not in resumable_keys}
            diff = config_differences(old, new)
            if manifest.get("cell_config") != cell_config:
                diff.append("cell_config")
            if diff or manifest.get("task") != task or manifest.get("seed") != seed:
                raise ValueError(f"{folder} holds a dataset generated with a different config "
                                 f"({', '.join(diff) or 'task/seed'}); use a new folder or overwrite")
            manifest["generator_config"] = generator_config
            manifest["cell_config"] = cell_config
            write_manifest(folder, manifest)
            return manifest
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "task": task,
        "seed": seed,
        "created_utc": utc_now(),
        "updated_utc": utc_now(),
        "generator_config": generator_config,
        "cell_config": cell_config,
        "software": software_versions(),
        "targets": {},
        "counts": {t: 0 for t in RESET_TYPES},
        "shards": {},
        "files": {},
    }
    write_manifest(folder, manifest)
    return manifest


def _remove_dataset_files(folder: Path, manifest: dict) -> None:
    for name in list(manifest["shards"]) + list(manifest["files"]):
        (folder / name).unlink(missing_ok=True)
    (folder / MANIFEST_NAME).unlink(missing_ok=True)


def write_shard(folder: str | Path, reset_type: str, index: int, arrays: dict, info: dict | None = None) -> dict:
    """Write one shard atomically and list it in the manifest (with ``info``, e.g. generation
    statistics); returns its manifest entry."""
    name = shard_name(reset_type, index)
    count = validate_arrays(arrays, SHARD_ARRAYS, name, OPTIONAL_SHARD_ARRAYS)
    data = npz_bytes(arrays)
    atomic_write_bytes(Path(folder) / name, data)
    manifest = read_manifest(folder)
    entry = {"type": reset_type, "index": int(index), "count": count, "sha256": sha256_bytes(data)}
    if info:
        entry["info"] = info
    manifest["shards"][name] = entry
    manifest["shards"] = dict(sorted(manifest["shards"].items()))
    write_manifest(folder, manifest)
    return entry


def write_aux_file(folder: str | Path, name: str, arrays: dict, info: dict | None = None) -> dict:
    """Write ``grasps.npz`` or ``partial_assemblies.npz`` atomically and list it in the manifest."""
    if name not in AUX_ARRAYS:
        raise ValueError(f"unknown auxiliary file {name!r}; expected one of {sorted(AUX_ARRAYS)}")
    count = validate_arrays(arrays, AUX_ARRAYS[name], name)
    data = npz_bytes(arrays)
    atomic_write_bytes(Path(folder) / name, data)
    manifest = read_manifest(folder)
    entry = {"count": count, "sha256": sha256_bytes(data), "info": info or {}}
    manifest["files"][name] = entry
    write_manifest(folder, manifest)
    return entry


def set_targets(folder: str | Path, targets: dict) -> None:
    manifest = read_manifest(folder)
    manifest["targets"] = dict(targets)
    write_manifest(folder, manifest)


def complete_shards(folder: str | Path, reset_type: str) -> dict[int, int]:
    """index -> row count of the shards of ``reset_type`` that are listed, intact and well-formed."""
    folder = Path(folder)
    out = {}
    for name, entry in read_manifest(folder).get("shards", {}).items():
        if entry.get("type") != reset_type:
            continue
        try:
            arrays = load_npz(folder / name, entry.get("sha256"))
            count = validate_arrays(arrays, SHARD_ARRAYS, name, OPTIONAL_SHARD_ARRAYS)
        except ValueError:
            continue
        if count == entry.get("count"):
            out[int(entry["index"])] = count
    return out


def aux_file_intact(folder: str | Path, name: str) -> bool:
    folder = Path(folder)
    entry = read_manifest(folder)["files"].get(name)
    return entry is not None and (folder / name).is_file() and sha256_file(folder / name) == entry.get("sha256")


def load_aux_file(folder: str | Path, name: str) -> dict:
    folder = Path(folder)
    entry = read_manifest(folder)["files"].get(name)
    if entry is None:
        raise ValueError(f"{folder}: {name} is not listed in the manifest")
    arrays = load_npz(folder / name, entry.get("sha256"))
    validate_arrays(arrays, AUX_ARRAYS[name], str(folder / name))
    return arrays


# --- reading ------------------------------------------------------------------------------------
class ResetDataset:
    """All shards of a dataset folder, checksums verified, concatenated per reset type."""

    def __init__(self, folder: Path, manifest: dict, arrays: dict[str, dict[str, np.ndarray]], aux: dict):
        self.folder = folder
        self.manifest = manifest
        self._arrays = arrays
        self._aux = aux

    @classmethod
    def load(cls, folder: str | Path, types: tuple[str, ...] = RESET_TYPES) -> "ResetDataset":
        """Raises ValueError naming the file on a missing, corrupt or malformed file."""
        folder = Path(folder)
        manifest = read_manifest(folder)
        for reset_type in types:
            check_reset_type(reset_type)
        parts: dict[str, list[tuple[int, dict]]] = {t: [] for t in types}
        for name, entry in manifest["shards"].items():
            if entry.get("type") not in parts:
                continue
            arrays = load_npz(folder / name, entry.get("sha256"))
            count = validate_arrays(arrays, SHARD_ARRAYS, str(folder / name), OPTIONAL_SHARD_ARRAYS)
            if count != entry.get("count"):
                raise ValueError(f"dataset file {folder / name} has {count} rows, the manifest says {entry.get('count')}")
            parts[entry["type"]].append((int(entry["index"]), arrays))
        merged = {}
        for reset_type, shards in parts.items():
            shards.sort(key=lambda item: item[0])
            merged[reset_type] = _concatenate([a for _, a in shards], reset_type)
        aux = {name: load_aux_file(folder, name) for name in manifest["files"] if name in AUX_ARRAYS}
        return cls(folder, manifest, merged, aux)

    @property
    def counts(self) -> dict[str, int]:
        return {t: int(a["q_arm_rad"].shape[0]) for t, a in self._arrays.items()}

    @property
    def is_complete(self) -> bool:
        targets = self.manifest.get("targets") or {}
        return bool(targets) and all(self.counts.get(t, 0) >= n for t, n in targets.items())

    def arrays(self, reset_type: str) -> dict[str, np.ndarray]:
        """All states of one type (read-only views)."""
        if reset_type not in self._arrays:
            check_reset_type(reset_type)
            raise ValueError(f"reset type {reset_type!r} was not loaded")
        return self._arrays[reset_type]

    def sample(self, reset_type: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` states of ``reset_type`` drawn uniformly with replacement (copies)."""
        arrays = self.arrays(reset_type)
        count = arrays["q_arm_rad"].shape[0]
        if count == 0:
            raise ValueError(f"{self.folder}: no {reset_type} states to sample from")
        idx = rng.integers(0, count, size=int(n))
        return {name: value[idx] for name, value in arrays.items()}

    @property
    def grasps(self) -> np.ndarray | None:
        """tcp_pose_obj (M, 7), or None when the folder has no grasps file."""
        aux = self._aux.get(GRASPS_FILE)
        return None if aux is None else aux["tcp_pose_obj"]

    @property
    def partial_assemblies(self) -> np.ndarray | None:
        aux = self._aux.get(PARTIAL_ASSEMBLIES_FILE)
        return None if aux is None else aux["insertive_pose_rcv"]


def _concatenate(shards: list[dict], reset_type: str) -> dict[str, np.ndarray]:
    if not shards:
        return {name: np.empty((0,) + shape, dtype=dtype) for name, (shape, dtype) in SHARD_ARRAYS.items()}
    names = set(shards[0])
    if any(set(s) != names for s in shards):
        raise ValueError(f"{reset_type} shards do not all hold the same arrays")
    out = {name: np.concatenate([s[name] for s in shards]) for name in sorted(names)}
    for value in out.values():
        value.setflags(write=False)
    return out
