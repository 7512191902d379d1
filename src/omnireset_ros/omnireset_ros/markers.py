"""What the policy is aiming at, as rviz2 markers on MARKERS (frame "base"): the last target it sent,
the task's goal pose(s) placed on the receptive object with the success region around each, and
the two objects. Markers expire after ``LIFETIME_S``: a policy that stops stops showing them."""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration, Time
from visualization_msgs.msg import Marker, MarkerArray

from omnireset_core.rotations import quat_mul, quat_to_matrix
from omnireset_core.tasks.definition import TaskDefinition
from omnireset_ros import topics

LIFETIME_S = 0.5
TARGET_DIAMETER_M = 0.012
OBJECT_DIAMETER_M = 0.008
TARGET_RGBA = (0.1, 0.9, 0.2, 1.0)
GOAL_RGBA = (1.0, 0.8, 0.0, 0.35)
OBJECT_RGBA = (0.2, 0.5, 1.0, 1.0)


def _sphere(ns: str, marker_id: int, stamp: Time, pos_b_m, quat_b_wxyz, diameter_m: float, rgba) -> Marker:
    m = Marker(ns=ns, id=marker_id, type=Marker.SPHERE, action=Marker.ADD)
    m.header.stamp, m.header.frame_id = stamp, topics.BASE_FRAME
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in pos_b_m)
    q = m.pose.orientation
    q.w, q.x, q.y, q.z = (float(v) for v in quat_b_wxyz)
    m.scale.x = m.scale.y = m.scale.z = float(diameter_m)
    m.color.r, m.color.g, m.color.b, m.color.a = (float(v) for v in rgba)
    m.lifetime = Duration(sec=0, nanosec=int(LIFETIME_S * 1e9))
    return m


def goal_poses_b(task: TaskDefinition, receptive_pos_b_m, receptive_quat_b_wxyz) -> list[tuple[np.ndarray, np.ndarray]]:
    """Where the insertive object is assembled, in frame b, for each of the task's goal poses."""
    rotation = quat_to_matrix(np.asarray(receptive_quat_b_wxyz, dtype=float))
    return [(rotation @ np.asarray(g.pos_m) + np.asarray(receptive_pos_b_m),
             quat_mul(np.asarray(receptive_quat_b_wxyz, dtype=float), np.asarray(g.quat_wxyz)))
            for g in task.goal_poses]


def scene_markers(stamp: Time, task: TaskDefinition, target: tuple[np.ndarray, np.ndarray] | None = None,
                  objects: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> MarkerArray:
    """``target``: (pos_b_m, quat_b_wxyz) of the last command or None; ``objects``: name ->
    (pos_b_m, quat_b_wxyz) of the poses known (the twin's ground truth)."""
    markers = []
    if target is not None:
        markers.append(_sphere("target", 0, stamp, *target, TARGET_DIAMETER_M, TARGET_RGBA))
    objects = objects or {}
    receptive = objects.get(task.receptive_object)
    if receptive is not None:
        region_m = 2.0 * task.success.max_pos_error_m  # success: within max_pos_error_m of a goal
        for k, (pos, quat) in enumerate(goal_poses_b(task, *receptive)):
            markers.append(_sphere("goal_region", k, stamp, pos, quat, region_m, GOAL_RGBA))
    for k, name in enumerate(sorted(objects)):
        markers.append(_sphere(f"object/{name}", k, stamp, *objects[name], OBJECT_DIAMETER_M, OBJECT_RGBA))
    return MarkerArray(markers=markers)
