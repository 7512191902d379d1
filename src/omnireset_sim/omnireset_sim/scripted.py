"""Scripted (no learning) operational-space motions on the twin: the core OSC law driven by
straight-line TCP targets, and the pick-and-insert routine that proves the peg task is feasible.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from omnireset_core.control.loop import ControlLoop, LoopMode, LoopStatus
from omnireset_core.control.osc import OscGains
from omnireset_core.control.safety import SafetyLimits
from omnireset_core.interfaces import Gripper, Robot
from omnireset_core.kinematics.ur import URKinematics
from omnireset_core.rotations import matrix_to_quat, pose_from_frame, pose_in_frame, quat_mul, quat_to_matrix
from omnireset_sim.assets.objects import HOLE_BODY, PEG_BODY
from omnireset_sim.twin import TwinCell, TwinRobot

TOOL_DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])  # tcp z = -z_b, tcp x = x_b

# The core's default gains pass the scripted insertion at 500 Hz and 120 Hz (see OscGains).
SCRIPTED_GAINS = OscGains()


class OscDriver:
    """Lockstep driver of the core ``ControlLoop``: one ``tick`` = one target + one control period.

    Time is the driver's own count of periods, so targets never go stale however slowly the
    simulation runs; every tick goes through the same loop (and safety checks) as real time.
    """

    def __init__(self, robot: Robot, kinematics: URKinematics, gains: OscGains, period_s: float,
                 limits: SafetyLimits = SafetyLimits()):
        self.robot, self.kinematics, self.period_s = robot, kinematics, period_s
        self.time_s = 0.0
        self.loop = ControlLoop(robot, kinematics, gains, limits, rate_hz=1.0 / period_s, clock=lambda: self.time_s)
        self.target_pos_b_m: np.ndarray | None = None
        self.target_quat_b_wxyz: np.ndarray | None = None

    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        T = self.kinematics.tcp_pose(self.robot.read_state().q_rad)
        return T[:3, 3], matrix_to_quat(T[:3, :3])

    def tick(self, target_pos_b_m, target_quat_b_wxyz) -> LoopStatus:
        problem = self.loop.set_target(target_pos_b_m, target_quat_b_wxyz, self.time_s)
        if problem is not None:
            raise ValueError(f"scripted target refused: {problem}")
        status = self.loop.tick()
        self.time_s += self.period_s
        if status.mode is not LoopMode.TRACKING:
            raise RuntimeError(f"control loop left tracking: {status.reason}")
        return status

    def hold(self, duration_s: float, on_tick=None) -> None:
        for _ in range(max(1, round(duration_s / self.period_s))):
            status = self.tick(self.target_pos_b_m, self.target_quat_b_wxyz)
            if on_tick is not None:
                on_tick(status)

    def move_to(self, pos_b_m, quat_b, speed_mps: float = 0.1, settle_s: float = 0.3, on_tick=None) -> None:
        """Straight line from the current target (or tcp) at ``speed_mps``, orientation slerped."""
        if self.target_pos_b_m is None or self.target_quat_b_wxyz is None:
            self.target_pos_b_m, self.target_quat_b_wxyz = self.tcp_pose()
        p0, q0 = self.target_pos_b_m.copy(), self.target_quat_b_wxyz.copy()
        p1, q1 = np.asarray(pos_b_m, dtype=float), np.asarray(quat_b, dtype=float)
        if np.dot(q0, q1) < 0:
            q1 = -q1
        n = max(1, int(np.ceil(np.linalg.norm(p1 - p0) / speed_mps / self.period_s)))
        for k in range(1, n + 1):
            s = k / n
            quat = (1 - s) * q0 + s * q1  # nlerp: fine for the small rotations of a script
            self.target_pos_b_m, self.target_quat_b_wxyz = p0 + s * (p1 - p0), quat / np.linalg.norm(quat)
            status = self.tick(self.target_pos_b_m, self.target_quat_b_wxyz)
            if on_tick is not None:
                on_tick(status)
        self.hold(settle_s, on_tick)


@dataclass
class InsertionPlan:
    """Heights are of the tcp above the peg frame (grasp) or of the peg frame above the hole frame."""

    grasp_height_m: float = 0.062  # pads span 51..73 mm of the 80 mm peg: clear of the 40 mm fixture
    approach_height_m: float = 0.10
    above_hole_m: float = 0.06
    slow_from_m: float = 0.01
    settle_above_s: float = 1.0  # let the lateral error decay before the peg enters the hole
    press_m: float = 0.003  # target this far below the seated pose: ~kp_z * 3 mm down force
    speed_mps: float = 0.1
    insert_speed_mps: float = 0.02
    close_s: float = 0.6
    release_s: float = 0.5
    log: list = field(default_factory=list)


def _yaw_rad(quat_wxyz: np.ndarray) -> float:
    R = quat_to_matrix(quat_wxyz)
    return float(np.arctan2(R[1, 0], R[0, 0]))


def _quat_about_z(angle_rad: float) -> np.ndarray:
    return np.array([np.cos(angle_rad / 2), 0.0, 0.0, np.sin(angle_rad / 2)])


def _nearest_quarter_turn_rad(angle_rad: float) -> float:
    """The multiple of 90 degrees nearest to ``angle_rad``: the square peg fits every quarter turn."""
    return float(np.round(angle_rad / (np.pi / 2)) * (np.pi / 2))


def _yaw_aligned_down(quat_obj_b: np.ndarray) -> np.ndarray:
    """Tool-down orientation whose yaw matches the object's, modulo the square's 90 degrees."""
    yaw = _yaw_rad(quat_obj_b)
    return quat_mul(_quat_about_z(yaw - _nearest_quarter_turn_rad(yaw)), TOOL_DOWN_QUAT)


def grasp_and_lift(cell: TwinCell, robot: TwinRobot, gripper: Gripper, gains: OscGains, lift_m: float = 0.1,
                   plan: InsertionPlan | None = None, on_tick=None) -> OscDriver:
    """Grasp the peg where it stands and lift it by ``lift_m``; returns the driver (holding)."""
    plan = plan or InsertionPlan()
    drv = OscDriver(robot, cell.kinematics, gains, robot.control_period_s)
    gripper.command(False)
    peg_pos, peg_quat = cell.object_pose(PEG_BODY)
    down = _yaw_aligned_down(peg_quat)
    up = np.array([0.0, 0.0, 1.0])
    drv.move_to(peg_pos + up * plan.approach_height_m, down, plan.speed_mps, 0.3, on_tick)
    drv.move_to(peg_pos + up * plan.grasp_height_m, down, plan.speed_mps, 0.3, on_tick)
    gripper.command(True)
    drv.hold(plan.close_s, on_tick)
    drv.move_to(peg_pos + up * (plan.grasp_height_m + lift_m), down, plan.speed_mps, 0.3, on_tick)
    return drv


def pick_and_insert(cell: TwinCell, robot: TwinRobot, gripper: Gripper, gains: OscGains, plan: InsertionPlan | None = None,
                    on_tick=None) -> dict:
    """Pick the peg from the table and insert it into the hole with OSC targets; release and back off.

    Object poses come from the simulator (perfect perception). Returns the final peg pose in the
    hole frame and phase timing.
    """
    plan = plan or InsertionPlan()
    up = np.array([0.0, 0.0, 1.0])
    plan.log.append(("grasp_and_lift", cell.time_s))
    drv = grasp_and_lift(cell, robot, gripper, gains, 0.1, plan, on_tick)

    def phase(name):
        plan.log.append((name, cell.time_s))

    # Peg in tcp frame as actually held; aim the peg (not the tcp) at the hole.
    peg_pos, peg_quat = cell.object_pose(PEG_BODY)
    tcp_in_peg = pose_in_frame(peg_pos, peg_quat, *cell.tcp_pose())
    hole_pos, hole_quat = cell.object_pose(HOLE_BODY)
    # The goal yaw in the hole frame: the quarter turn nearest to the held peg's.
    goal_yaw_rad = _nearest_quarter_turn_rad(_yaw_rad(pose_in_frame(hole_pos, hole_quat, peg_pos, peg_quat)[1]))

    def tcp_target(height_m: float) -> tuple[np.ndarray, np.ndarray]:
        peg_goal = pose_from_frame(hole_pos, hole_quat, np.array([0.0, 0.0, height_m]), _quat_about_z(goal_yaw_rad))
        return pose_from_frame(*peg_goal, *tcp_in_peg)

    phase("above_hole")
    drv.move_to(*tcp_target(plan.above_hole_m), plan.speed_mps, 0.5, on_tick)
    phase("descend_hole")
    drv.move_to(*tcp_target(plan.slow_from_m), plan.speed_mps, plan.settle_above_s, on_tick)
    phase("insert")
    drv.move_to(*tcp_target(-plan.press_m), plan.insert_speed_mps, 0.5, on_tick)
    phase("release")
    gripper.command(False)
    drv.hold(plan.release_s, on_tick)
    phase("retreat")
    pos, quat = drv.target_pos_b_m, drv.target_quat_b_wxyz
    assert pos is not None  # set by the moves above
    drv.move_to(pos + up * 0.08, quat, plan.speed_mps, 0.3, on_tick)
    phase("done")
    rel_pos, rel_quat = cell.relative_pose(PEG_BODY, HOLE_BODY)
    return {"peg_pos_hole_m": rel_pos, "peg_quat_hole": rel_quat, "phases": list(plan.log)}
