"""Coverage plots of a reset dataset folder, written to ``<folder>/plots/``:

- ``object_positions.png``: insertive-object positions per reset type (x-y, coloured by z) with
  the fixture positions, and the object height distribution per type;
- ``end_effector.png``: tcp positions per type (x-y) and the tcp tilt from straight down;
- ``grasps.png``: tcp positions and approach directions in the object frame;
- ``partial_assemblies.png``: insertive offsets in the receptive frame (lateral, depth, tilt).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from omnireset_core.kinematics.ur import UR7E, URKinematics
from omnireset_core.rotations import quat_to_matrix
from omnireset_sim.assets.robotiq import FLANGE_T_TCP
from omnireset_training import datasets
from omnireset_training.resets.physics import quat_angle


def _types(ds: datasets.ResetDataset) -> list[str]:
    return [t for t in datasets.RESET_TYPES if ds.counts.get(t, 0) > 0]


def plot_object_positions(ds: datasets.ResetDataset, path: Path) -> Path:
    types = _types(ds)
    fig = Figure(figsize=(4.2 * max(len(types), 1), 8), layout="constrained")
    axes = fig.subplots(2, max(len(types), 1), squeeze=False)
    for col, reset_type in enumerate(types):
        arrays = ds.arrays(reset_type)
        ins, rcv = arrays["insertive_pose_b"], arrays["receptive_pose_b"]
        ax = axes[0, col]
        ax.scatter(rcv[:, 0], rcv[:, 1], s=4, c="0.75", marker="s", label="fixture")
        sc = ax.scatter(ins[:, 0], ins[:, 1], s=3, c=ins[:, 2], cmap="viridis", label="object")
        ax.set(title=f"{reset_type} (N={len(ins)})", xlabel="x_b [m]", ylabel="y_b [m]", aspect="equal")
        fig.colorbar(sc, ax=ax, label="object z [m]", shrink=0.7)
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
        axes[1, col].hist(ins[:, 2], bins=50, color="C0")
        axes[1, col].set(xlabel="object z_b [m]", ylabel="states")
    fig.savefig(path, dpi=110)
    return path


def plot_end_effector(ds: datasets.ResetDataset, path: Path) -> Path:
    types = _types(ds)
    kin = URKinematics(UR7E, FLANGE_T_TCP)
    fig = Figure(figsize=(4.2 * max(len(types), 1), 8), layout="constrained")
    axes = fig.subplots(2, max(len(types), 1), squeeze=False)
    for col, reset_type in enumerate(types):
        arrays = ds.arrays(reset_type)
        T = kin.tcp_pose(arrays["q_arm_rad"])
        closed = arrays["gripper_closed"]
        ax = axes[0, col]
        for mask, label, color in ((~closed, "open", "C0"), (closed, "closed", "C3")):
            ax.scatter(T[mask, 0, 3], T[mask, 1, 3], s=3, c=color, label=label)
        ax.set(title=f"{reset_type}: tcp", xlabel="x_b [m]", ylabel="y_b [m]", aspect="equal")
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
        tilt = np.degrees(np.arccos(np.clip(-T[:, 2, 2], -1.0, 1.0)))
        axes[1, col].hist(tilt, bins=45, range=(0, 90), color="C2")
        axes[1, col].set(xlabel="tcp tilt from straight down [deg]", ylabel="states")
    fig.savefig(path, dpi=110)
    return path


def plot_grasps(grasps: np.ndarray, path: Path, object_half_m=None) -> Path:
    """``object_half_m``: half sizes of the object's box (frame at its bottom-face centre)."""
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    axes = fig.subplots(1, 3)
    pos = grasps[:, :3]
    approach = quat_to_matrix(grasps[:, 3:])[:, :, 2]
    for ax, (i, j), names in zip(axes[:2], ((0, 2), (1, 2)), (("x", "z"), ("y", "z"))):
        if object_half_m is not None:
            hx, hy, hz = object_half_m
            h = (hx, hy)[i]
            ax.plot([-h, h, h, -h, -h], [0, 0, 2 * hz, 2 * hz, 0], c="k", lw=1)
        ax.quiver(pos[:, i], pos[:, j], approach[:, i], approach[:, j], color="C1", angles="xy",
                  scale_units="xy", scale=60, width=0.002, alpha=0.5)
        ax.scatter(pos[:, i], pos[:, j], s=3, c="C0")
        ax.set(xlabel=f"tcp {names[0]}_obj [m]", ylabel=f"tcp {names[1]}_obj [m]", aspect="equal",
               title=f"grasps (N={len(grasps)}): tcp and approach")
    axes[2].hist(np.degrees(np.arccos(np.clip(approach[:, 2], -1, 1))), bins=36, range=(0, 180))
    axes[2].set(xlabel="approach angle from the object's +z [deg]", ylabel="grasps")
    fig.savefig(path, dpi=110)
    return path


def plot_partial_assemblies(poses: np.ndarray, path: Path) -> Path:
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    axes = fig.subplots(1, 3)
    mm = poses[:, :3] * 1000.0
    tilt = np.degrees(quat_angle(poses[:, 3:], np.array([1.0, 0.0, 0.0, 0.0])))
    axes[0].scatter(mm[:, 0], mm[:, 1], s=3, c=mm[:, 2], cmap="viridis")
    axes[0].set(xlabel="x_rcv [mm]", ylabel="y_rcv [mm]", aspect="equal", title=f"offsets (N={len(poses)})")
    axes[1].hist(mm[:, 2], bins=50)
    axes[1].set(xlabel="height above the assembled pose z_rcv [mm]", ylabel="poses")
    axes[2].scatter(mm[:, 2], tilt, s=3)
    axes[2].set(xlabel="z_rcv [mm]", ylabel="rotation from assembled [deg]")
    fig.savefig(path, dpi=110)
    return path


def plot_dataset(folder: str | Path) -> list[Path]:
    """Every plot that the folder's contents allow; returns the written paths."""
    folder = Path(folder)
    ds = datasets.ResetDataset.load(folder)
    out_dir = folder / "plots"
    out_dir.mkdir(exist_ok=True)
    paths = []
    if _types(ds):
        paths.append(plot_object_positions(ds, out_dir / "object_positions.png"))
        paths.append(plot_end_effector(ds, out_dir / "end_effector.png"))
    if ds.grasps is not None:
        peg = (ds.manifest.get("cell_config") or {}).get("peg") or {}
        half = (peg["side_m"] / 2, peg["side_m"] / 2, peg["length_m"] / 2) if "side_m" in peg else None
        paths.append(plot_grasps(ds.grasps, out_dir / "grasps.png", half))
    if ds.partial_assemblies is not None:
        paths.append(plot_partial_assemblies(ds.partial_assemblies, out_dir / "partial_assemblies.png"))
    return paths
