"""Observation terms of the actor contract (omnireset_core.spec.contract) from the latest
stamped samples. Pure numpy, no ROS.

Poses are (x, y, z [m], rotation vector [rad]); quaternions (w, x, y, z). A relative pose
"A in frame F" is p = R_F^T (p_A - p_F), q = q_F^-1 q_A. A term built from two samples carries
the older of their stamps, so its age is that of its stalest source.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omnireset_core.policy import InvalidInputError, StaleInputError
from omnireset_core.rotations import pose_in_frame, quat_to_rotvec

# term -> the samples it needs: "joints", "fingers", "ee", "insertive", "receptive"
TERM_SOURCES = {
    "joint_pos": ("joints",),
    "finger_travel": ("fingers",),
    "ee_pose_b": ("ee",),
    "insertive_pose_ee": ("ee", "insertive"),
    "receptive_pose_ee": ("ee", "receptive"),
    "insertive_pose_rcv": ("receptive", "insertive"),
}


@dataclass(frozen=True)
class StampedPose:
    stamp_s: float
    pos_m: np.ndarray  # (3,) in the frame of the message (b)
    quat_wxyz: np.ndarray  # (4,)


@dataclass(frozen=True)
class StampedJoints:
    stamp_s: float
    q_rad: np.ndarray  # (6,) arm joints in topics.ARM_JOINTS order
    finger_travel_m: np.ndarray | None = None  # (2,) both fingers, 0 = open; None: not in the message


def unsupported_terms(names) -> list[str]:
    return [n for n in names if n not in TERM_SOURCES]


def pose6(pos_m, quat_wxyz) -> np.ndarray:
    rotvec = quat_to_rotvec(np.asarray(quat_wxyz, dtype=np.float64))
    return np.concatenate((np.asarray(pos_m, dtype=np.float64), rotvec))


def build_terms(names, joints: StampedJoints | None, ee: StampedPose | None,
                insertive: StampedPose | None, receptive: StampedPose | None) -> dict[str, tuple[float, np.ndarray]]:
    """term -> (stamp_s, values (6,)) for the runtime. A sample never received raises
    StaleInputError naming the term(s) and the missing source."""
    fingers = joints if joints is not None and joints.finger_travel_m is not None else None
    samples = {"joints": joints, "fingers": fingers, "ee": ee, "insertive": insertive, "receptive": receptive}
    missing = [n for n in names if any(samples[s] is None for s in TERM_SOURCES[n])]
    if missing:
        why = "; ".join(f"'obs/{n}' never received ({', '.join(s for s in TERM_SOURCES[n] if samples[s] is None)})"
                        for n in missing)
        raise StaleInputError(f"stale policy input: {why}", tuple(f"obs/{n}" for n in missing))
    out = {}
    for name in names:
        if name == "joint_pos":
            out[name] = (joints.stamp_s, joints.q_rad)
        elif name == "finger_travel":
            out[name] = (joints.stamp_s, np.array([np.mean(joints.finger_travel_m)]))
        elif name == "ee_pose_b":
            out[name] = (ee.stamp_s, pose6(ee.pos_m, ee.quat_wxyz))
        else:
            frame, other = (ee, insertive) if name == "insertive_pose_ee" else \
                (ee, receptive) if name == "receptive_pose_ee" else (receptive, insertive)
            relative = pose_in_frame(frame.pos_m, frame.quat_wxyz, other.pos_m, other.quat_wxyz)
            out[name] = (min(frame.stamp_s, other.stamp_s), pose6(*relative))
    return out


def rgb_frame(camera: str, encoding: str, height: int, width: int, step: int, data) -> np.ndarray:
    """An rgb8 sensor_msgs/Image payload as a (height, width, 3) uint8 array (a copy)."""
    if encoding != "rgb8":
        raise InvalidInputError(f"invalid policy input: 'camera/{camera}' encoding {encoding!r}, expected 'rgb8'",
                                (f"camera/{camera}",))
    buf = np.frombuffer(data, dtype=np.uint8)
    if step < 3 * width or buf.size < step * height:
        raise InvalidInputError(f"invalid policy input: 'camera/{camera}' has {buf.size} bytes for "
                                f"{height}x{width} rgb8 with row step {step}", (f"camera/{camera}",))
    return buf[:step * height].reshape(height, step)[:, :3 * width].reshape(height, width, 3).copy()
