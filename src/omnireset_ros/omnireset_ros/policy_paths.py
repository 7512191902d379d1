"""Where relative data paths (checkpoints, schedules) are looked up.

A relative path is tried, in order, against:
1. the current working directory;
2. the workspace root: the first directory above this module holding ``config/cell.yaml`` (as
   ``omnireset_sim.config.config_dir`` finds it): the repository when running from the source
   tree (editable install), the colcon workspace when installed into its ``install/`` (``make
   test``, the deploy image's /workspace);
3. the package's share directory (``<prefix>/share/omnireset_ros``), for an install that carries
   ``checkpoints/`` there.
The first existing file wins; if none exists the path is returned against the first root after
the working directory, and the loader reports it missing with every place tried.
No ROS imports here, so scripts can use it.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = "omnireset_ros"
DEFAULT_CHECKPOINT = "checkpoints/peg_state_placeholder.pt"  # relative: resolved as above


def workspace_root() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        if (parent / "config" / "cell.yaml").is_file():
            return parent
    return None


def share_dir() -> Path | None:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, ValueError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH
        return None


def search_roots() -> list[Path]:
    roots = [Path(os.getcwd())]
    roots += [r for r in (workspace_root(), share_dir()) if r is not None]
    return roots


def resolve(path: str) -> tuple[Path, list[Path]]:
    """(resolved path, every candidate tried). Absolute paths (and ``~``) are taken as given."""
    given = Path(os.path.expanduser(path))
    if given.is_absolute():
        return given, [given]
    candidates = list(dict.fromkeys(root / given for root in search_roots()))  # cwd may be the repo root
    for candidate in candidates:
        if candidate.is_file():
            return candidate, candidates
    return candidates[min(1, len(candidates) - 1)], candidates


def resolve_checkpoint(path: str) -> Path:
    """``resolve(path)``'s file; a relative path found nowhere raises FileNotFoundError naming
    every place tried (an absolute one is left to the loader)."""
    found, tried = resolve(path)
    if not found.is_file() and not Path(os.path.expanduser(path)).is_absolute():
        raise FileNotFoundError(f"checkpoint file not found: {path} (looked in: {', '.join(map(str, tried))})")
    return found
