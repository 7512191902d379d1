"""Observation terms of the actor contract (omnireset_core.spec.contract) from the latest
stamped samples. Pure numpy, no ROS.

Poses are (x, y, z [m], rotation vector [rad]); quaternions (w, x, y, z). A relative pose
"A in frame F" is p = R_F^T (p_A - p_F), q = q_F^-1 q_A. A term built from two samples carries
the older of their stamps, so its age is that of its stalest source.
"""
from __future__ import annotations

from dataclasses import dataclass

from typing import Any

import numpy as np

from omnireset_core.policy import InvalidInputError, StaleInputError
from omnireset_core.spec.terms import TERM_SOURCES, term_value


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
    values: dict[str, Any] = {n: (p.pos_m, p.quat_wxyz) for n, p in (("ee", ee), ("insertive", insertive),
                                                                      ("receptive", receptive)) if p is not None}
    if joints is not None:
        values["joints"] = joints.q_rad
        if joints.finger_travel_m is not None:
            values["fingers"] = np.asarray(np.mean(joints.finger_travel_m))
    stamps_s = {s: sample.stamp_s for s, sample in samples.items() if sample is not None}
    return {name: (min(stamps_s[s] for s in TERM_SOURCES[name]),
                   np.asarray(term_value(name, values), dtype=np.float64)) for name in names}


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
