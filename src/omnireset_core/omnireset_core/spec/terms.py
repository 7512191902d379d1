"""The values of the actor contract's observation terms, written once for numpy (one robot, the
policy node) and torch (all worlds, training), from the measured quantities they read.

Inputs, by source name (``TERM_SOURCES``), each batched over leading axes:
- ``joints``: arm joint positions (..., 6) [rad], ``topics.ARM_JOINTS`` order;
- ``fingers``: mean finger travel (...,) [m], 0 = open;
- ``ee``, ``insertive``, ``receptive``: (position (..., 3) [m], quaternion (..., 4) w, x, y, z)
  of the TCP and the two parts in base frame b.
``last_action`` is not here: the runtime and the training env feed the raw action back themselves.
Poses are (x, y, z [m], rotation vector [rad]).
"""
from __future__ import annotations

from collections.abc import Mapping

from array_api_compat import array_namespace

from omnireset_core.rotations import pose_in_frame, quat_to_rotvec

# term -> the sources it reads; for a pose of one thing in the frame of another: (frame, thing)
TERM_SOURCES = {
    "joint_pos": ("joints",),
    "finger_travel": ("fingers",),
    "ee_pose_b": ("ee",),
    "insertive_pose_ee": ("ee", "insertive"),
    "receptive_pose_ee": ("ee", "receptive"),
    "insertive_pose_rcv": ("receptive", "insertive"),
}


def pose6(pos_m, quat_wxyz):
    """(..., 6): position and rotation vector."""
    xp = array_namespace(pos_m, quat_wxyz)
    return xp.concat((pos_m, quat_to_rotvec(quat_wxyz)), axis=-1)


def term_value(name: str, sources: Mapping):
    """The value (..., dim) of term ``name`` from ``sources`` (see the module docstring)."""
    if name not in TERM_SOURCES:
        raise ValueError(f"observation term {name!r} has no implementation; known: {sorted(TERM_SOURCES)}")
    if name == "joint_pos":
        return sources["joints"]
    if name == "finger_travel":
        return sources["fingers"][..., None]
    if name == "ee_pose_b":
        return pose6(*sources["ee"])
    frame, thing = TERM_SOURCES[name]
    return pose6(*pose_in_frame(*sources[frame], *sources[thing]))
