"""Bringup of the OmniReset cell: URDF from the core's DH table, launch plans, launch helpers."""
from __future__ import annotations

from pathlib import Path

PACKAGE = "omnireset_bringup"


def default_config_dir() -> Path:
    """share/omnireset_bringup/config of the sourced workspace, else the source tree's config/."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
        try:
            return Path(get_package_share_directory(PACKAGE)) / "config"
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    for parent in Path(__file__).resolve().parents:
        if (parent / "config" / "robot.yaml").is_file():
            return parent / "config"
    raise ValueError(f"cannot find the config directory: {PACKAGE} is not installed and no config/ "
                     f"holding robot.yaml lies above {__file__}")
