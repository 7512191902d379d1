"""Message <-> core conversions. Quaternions in the core are (w, x, y, z); ROS messages are x, y, z, w."""
from __future__ import annotations

import time

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped


def stamp_to_s(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def s_to_stamp(seconds: float) -> Time:
    sec = int(seconds // 1)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)) % 1_000_000_000)


def ros_now_s(node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


def to_monotonic_s(node, stamp: Time) -> float:
    """A message stamp (ROS clock) as a time.monotonic() stamp on this host: now minus its age."""
    return time.monotonic() - (ros_now_s(node) - stamp_to_s(stamp))


def pose_msg(pos_m, quat_wxyz, stamp: Time, frame_id: str) -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in pos_m)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def pose_from_msg(msg: PoseStamped) -> tuple[np.ndarray, np.ndarray]:
    p, q = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z])
