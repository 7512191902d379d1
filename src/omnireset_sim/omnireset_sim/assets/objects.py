"""Peg (insertive, free body) and hole fixture (receptive, mocap body) of the peg task.

Both frames sit at the object's bottom-face centre, z up. Assembled: peg frame == hole frame,
the peg standing on the table inside the opening.
"""
from __future__ import annotations

from omnireset_sim.assets.mjcf import CONTACT_OBJECT, CONTACT_WORLD, fmt
from omnireset_sim.config import HoleConfig, PegConfig

PEG_BODY, PEG_GEOM, HOLE_BODY = "peg", "peg_geom", "peg_hole"
TWIN_OBJECTS = (PEG_BODY, HOLE_BODY)  # the movable parts of the twin, whose ground-truth poses it publishes


def peg_body_xml(peg: PegConfig) -> str:
    half = (peg.side_m / 2, peg.side_m / 2, peg.length_m / 2)
    pose = peg.initial_pose_b
    return f"""
<body name="{PEG_BODY}" pos="{fmt(pose.pos_m)}" quat="{fmt(pose.quat_wxyz)}">
  <freejoint name="peg_joint"/>
  <geom name="{PEG_GEOM}" type="box" size="{fmt(half)}" pos="0 0 {half[2]:.17g}" mass="{peg.mass_kg:g}"
        {CONTACT_OBJECT} condim="3" friction="{peg.friction:g} 0.005 0.0001" rgba="0.85 0.45 0.1 1"/>
  <site name="peg_frame" size="0.003" group="4"/>
</body>"""


def hole_geometry(peg: PegConfig, hole: HoleConfig) -> list[tuple[tuple[float, float, float], tuple[float, float, float]]]:
    """(centre, half size) of the four wall boxes around the square opening, in the hole frame."""
    inner = (peg.side_m + hole.clearance_m) / 2  # half opening
    outer = hole.outer_side_m / 2
    wall = (outer - inner) / 2  # half wall thickness
    hz = hole.depth_m / 2
    mid = inner + wall
    return [
        ((0.0, mid, hz), (outer, wall, hz)),
        ((0.0, -mid, hz), (outer, wall, hz)),
        ((mid, 0.0, hz), (wall, inner, hz)),
        ((-mid, 0.0, hz), (wall, inner, hz)),
    ]


def hole_body_xml(peg: PegConfig, hole: HoleConfig) -> str:
    pose = hole.pose_b
    geoms = "\n".join(
        f'  <geom name="peg_hole_wall{i}" type="box" pos="{fmt(c)}" size="{fmt(h)}" {CONTACT_WORLD} '
        f'condim="3" friction="{hole.friction:g} 0.005 0.0001" rgba="0.2 0.45 0.75 1"/>'
        for i, (c, h) in enumerate(hole_geometry(peg, hole))
    )
    return f"""
<body name="{HOLE_BODY}" mocap="true" pos="{fmt(pose.pos_m)}" quat="{fmt(pose.quat_wxyz)}">
{geoms}
  <site name="peg_hole_frame" size="0.003" group="4"/>
</body>"""
