"""omnireset_bringup: launch files, URDF, rviz config and the deploy-time config of the cell.

launch/ and config/ are symlinks to the repository's top-level launch/ and config/, so both are
installed from one place: share/omnireset_bringup/launch and share/omnireset_bringup/config.
"""
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "omnireset_bringup"
HERE = Path(__file__).resolve().parent


def tree(folder: str, patterns: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """data_files entries installing ``folder`` (relative to this file) under share/<package>/."""
    by_dir: dict[str, list[str]] = {}
    for pattern in patterns:
        for path in sorted((HERE / folder).rglob(pattern)):
            if path.is_file():
                rel = path.relative_to(HERE)  # keeps the symlinked folder's name, not its target
                by_dir.setdefault(str(Path("share") / PACKAGE / rel.parent), []).append(str(rel))
    if not by_dir:
        raise SystemExit(f"{PACKAGE}: nothing to install under {HERE / folder}")
    return sorted(by_dir.items())


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}/hook", ["hook/commands_path.dsv", "hook/commands_path.sh"]),  # commands on PATH
        (f"share/{PACKAGE}", ["package.xml"]),
        *tree("launch", ("*.launch.py",)),
        *tree("config", ("*.yaml", "*.rviz")),
    ],
    python_requires=">=3.11",
    install_requires=["omnireset_core", "numpy"],
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ["omnireset-urdf = omnireset_bringup.urdf:main"]},
    zip_safe=True,
    maintainer="OmniReset Engineering",
    maintainer_email="eng@omnireset.dev",
    description="Launch files, URDF and rviz config of the OmniReset cell.",
    license="Apache-2.0",
)
