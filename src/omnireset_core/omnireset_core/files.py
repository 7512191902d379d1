"""Durable files for datasets and recordings: atomic writes (temporary file, fsync, rename),
SHA-256 checksums, .npz to and from bytes, and the software versions a manifest records."""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import uuid
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(folder: str | Path) -> None:
    """Temporary files left by a killed writer."""
    for tmp in Path(folder).glob(".*.tmp.*"):
        tmp.unlink(missing_ok=True)


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    contiguous: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    np.savez(buffer, **contiguous)
    return buffer.getvalue()


def load_npz(path: Path, expected_sha256: str | None) -> dict:
    if not path.is_file():
        raise ValueError(f"dataset file {path} is listed in the manifest but missing")
    data = path.read_bytes()
    if expected_sha256 is not None and sha256_bytes(data) != expected_sha256:
        raise ValueError(f"dataset file {path} is corrupt: sha256 does not match the manifest")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"dataset file {path} is not a readable .npz: {exc}") from None


def read_json_manifest(folder: str | Path, format_name: str, format_version: int, what: str,
                  name: str = "manifest.json") -> dict:
    """The JSON manifest of a dataset folder, checked to be ``format_name`` at ``format_version``;
    ValueError naming the problem (``what``: the kind of folder, e.g. "reset dataset")."""
    path = Path(folder) / name
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{folder} is not a {what}: {name} is missing") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        raise ValueError(f"{path} is not a {format_name} manifest")
    if manifest.get("format_version") != format_version:
        raise ValueError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                         f"(this reader: {format_version})")
    return manifest


def software_versions() -> dict:
    out: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform(),
                                  "numpy": np.__version__}
    for dist in ("mujoco", "omnireset_core", "omnireset_sim", "omnireset_training"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=5)
        out["git_commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out
