"""USD assets of the cell, converted from the project's own MJCF (``omnireset_sim.assets.parts``),
so the Isaac Lab scene simulates the twin's geometry, masses and joints. Nothing is downloaded.

Assets are cached under a folder named by a hash of the MJCF text: changing the cell (a config
value, a link shape) produces a new folder, an unchanged cell reuses the old one.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from omnireset_sim.assets.parts import PART_NAMES, part_xmls
from omnireset_sim.config import CellConfig, load_cell_config

DEFAULT_CACHE = Path(os.environ.get("OMNIRESET_ASSET_DIR", Path.home() / ".cache" / "omnireset" / "usd"))


class MissingAssetError(FileNotFoundError):
    pass


def asset_folder(cell: CellConfig | None = None, root: Path | str = DEFAULT_CACHE) -> Path:
    """The cache folder of ``cell``'s parts (default: the workspace's cell, ``load_cell_config``)."""
    xmls = part_xmls(cell or load_cell_config())
    digest = hashlib.sha256("".join(xmls[n] for n in PART_NAMES).encode()).hexdigest()[:16]
    return Path(root) / digest


def usd_paths(folder: Path | str) -> dict[str, Path]:
    """``{part: .usda}`` inside ``folder``; raises ``MissingAssetError`` naming what is missing and
    how to make it."""
    folder = Path(folder)
    paths = {name: folder / name / f"omnireset_{name}.usda" for name in PART_NAMES}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise MissingAssetError(
            f"USD assets {missing} missing in {folder}; generate them with `omnireset-train isaaclab-assets` "
            f"(converts the project's MJCF, no download)")
    return paths


def build_usd_assets(cell: CellConfig | None = None, root: Path | str = DEFAULT_CACHE, force: bool = False) -> dict[str, Path]:
    """Convert each part's MJCF to USD (mujoco-usd-converter) into the cache; returns the paths.
    Each part is written to a temporary folder and moved into place, so an interrupted run leaves
    no half-written asset behind; processes building the same folder at once (the ranks of a
    torchrun) take turns on a lock file, and the later ones find the assets made."""
    cell = cell or load_cell_config()
    folder = asset_folder(cell, root)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        _convert_parts(folder, part_xmls(cell), force)
    return usd_paths(folder)


def _convert_parts(folder: Path, xmls: dict[str, str], force: bool) -> None:
    from mujoco_usd_converter import Converter  # the converter registers its USD schema plugin

    for name in PART_NAMES:
        target = folder / name
        if target.is_dir() and not force:
            continue
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            mjcf = Path(tmp) / f"omnireset_{name}.xml"
            mjcf.write_text(xmls[name])
            Converter().convert(str(mjcf), str(Path(tmp) / "usd"))
            (Path(tmp) / "usd" / f"omnireset_{name}.usda").stat()  # the converter names it after the model
            shutil.copy(mjcf, Path(tmp) / "usd" / mjcf.name)
            _author_newton_attributes(Path(tmp) / "usd", xmls[name])
            if target.exists():
                shutil.rmtree(target)
            os.replace(Path(tmp) / "usd", target)


def _author_newton_attributes(folder: Path, mjcf: str) -> None:
    """Write what the converter leaves out or names differently from Newton's MuJoCo importer:
    ``mjc:gravcomp`` (written as ``mjc:body:gravcomp``; the UR compensates gravity, so does the
    twin) and the contact filter bits ``mjc:contype``/``mjc:conaffinity`` (not written). The bits
    are the OR over the part's geoms: every part's geoms share one role (arm and gripper never
    touch each other, and collide with the world and objects), so this keeps the twin's pairs."""
    import mujoco
    from pxr import Sdf, Usd

    model = mujoco.MjModel.from_xml_string(mjcf)
    contype = int(np.bitwise_or.reduce(model.geom_contype))
    conaffinity = int(np.bitwise_or.reduce(model.geom_conaffinity))
    if len(set(model.geom_bodyid)) > 1 and contype & conaffinity:
        raise ValueError("a part with several bodies whose geoms collide with each other cannot share one "
                         "contype/conaffinity pair")
    layer = folder / "Payload" / "Physics.usda"
    stage = Usd.Stage.Open(str(layer))
    for prim in stage.TraverseAll():  # the geometry prims are overs in this layer
        gravcomp = prim.GetAttribute("mjc:body:gravcomp")
        if gravcomp and gravcomp.HasAuthoredValue():
            prim.CreateAttribute("mjc:gravcomp", Sdf.ValueTypeNames.Float, custom=False).Set(float(gravcomp.Get()))
        schemas = prim.GetMetadata("apiSchemas")
        if schemas is not None and "MjcCollisionAPI" in schemas.GetAddedOrExplicitItems():
            prim.CreateAttribute("mjc:contype", Sdf.ValueTypeNames.Int, custom=False).Set(contype)
            prim.CreateAttribute("mjc:conaffinity", Sdf.ValueTypeNames.Int, custom=False).Set(conaffinity)
    stage.GetRootLayer().Save()
