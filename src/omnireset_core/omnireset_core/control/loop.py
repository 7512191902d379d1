"""The 500 Hz operational-space control loop, on its own thread, over any ``Robot`` backend.

Every period: read joints -> analytic FK/Jacobian -> safety check -> OSC torque -> clip -> send.
- No target, a target older than ``max_target_age_s``, or a refused target (NaN/inf, stamped in
  the future, outside the workspace, too far): the arm holds the pose it had at that moment (OSC
  to that pose).
- Joint speed, joint limit or workspace violation: the loop stops commanding motion and the
  robot holds its joints by its own means, latched until ``reset_fault()``.
- A lost connection ends the loop; the reason is kept in ``status()``.
"""
from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from omnireset_core.control.osc import OscGains, track_target
from omnireset_core.control.pacing import DeadlinePacer
from omnireset_core.control.safety import SafetyLimits, SafetyMonitor
from omnireset_core.interfaces import HardwareError, Robot
from omnireset_core.kinematics.ur import URKinematics
from omnireset_core.rotations import matrix_to_quat


class LoopMode(str, enum.Enum):
    TRACKING = "tracking"  # following a fresh target
    HOLDING = "holding"  # OSC holding the pose of the moment the target went missing
    STOPPED = "stopped"  # safety stop: the robot holds its joints, no torques are commanded
    FAILED = "failed"  # the robot connection failed; the loop has ended


class HoldCause(str, enum.Enum):
    """Why a HOLDING loop holds; the reason text adds the details."""

    NO_TARGET = "no target yet"
    CLEARED = "target cleared"
    FAULT_RESET = "fault reset"
    REFUSED = "refused target"  # a warning: the sender sends something the loop will not track
    STALE = "stale target"  # a warning: the sender stopped

    @property
    def is_warning(self) -> bool:
        return self in (HoldCause.REFUSED, HoldCause.STALE)


@dataclass(frozen=True)
class LoopStatus:
    mode: LoopMode
    reason: str
    stamp_s: float
    q_rad: np.ndarray
    qd_radps: np.ndarray
    tcp_pos_b_m: np.ndarray
    tcp_quat_b_wxyz: np.ndarray
    target_pos_b_m: np.ndarray | None
    target_quat_b_wxyz: np.ndarray | None
    tau_Nm: np.ndarray
    ticks: int
    overruns: int
    refused_targets: int
    hold_cause: HoldCause | None  # set while mode is HOLDING


@dataclass(frozen=True)
class _Target:
    pos_b_m: np.ndarray
    quat_b_wxyz: np.ndarray
    stamp_s: float


class ControlLoop:
    def __init__(
        self,
        robot: Robot,
        kinematics: URKinematics,
        gains: OscGains,
        limits: SafetyLimits = SafetyLimits(),
        rate_hz: float = 500.0,
        clock=time.monotonic,
        history: int = 60_000,
    ):
        robot_limit = np.asarray(kinematics.params.torque_limit_Nm)
        if np.any(np.asarray(gains.torque_limit_Nm) > robot_limit):
            raise ValueError(
                f"OscGains.torque_limit_Nm {gains.torque_limit_Nm} exceeds the robot's limits {tuple(robot_limit)}"
            )
        self.robot = robot
        self.kinematics = kinematics
        self.gains = gains
        self.limits = limits
        self._monitor = SafetyMonitor(limits, kinematics.params)
        self._clock = clock
        self.pacer = DeadlinePacer(rate_hz, clock=clock)
        self._lock = threading.Lock()
        self._target: _Target | None = None
        self._hold: _Target | None = None
        self._fault: str | None = None
        # Why the loop holds when it has no target: written by the inputs only, read by the tick.
        self._cause, self._reason = HoldCause.NO_TARGET, HoldCause.NO_TARGET.value
        self._refused = 0
        self._ticks = 0
        self._status: LoopStatus | None = None
        self.on_tick: Callable[[LoopStatus], None] | None = None  # called with every tick's status (a recorder)
        self._wake_s = np.full(history, np.nan)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- inputs (any thread) ---------------------------------------------------------------
    def set_target(self, pos_b_m, quat_b_wxyz, stamp_s: float | None = None) -> str | None:
        """Offer a TCP target in frame b; returns why it was refused, or None if accepted.

        A refused target also drops the current one, so the arm holds where it is.
        """
        pos = np.array(pos_b_m, dtype=float).reshape(3)
        quat = np.array(quat_b_wxyz, dtype=float).reshape(4)
        stamp = self._clock() if stamp_s is None else float(stamp_s)
        status = self._status
        tcp = status.tcp_pos_b_m if status is not None else pos
        problem = self._monitor.target_problem(pos, quat, tcp, self._clock() - stamp)
        with self._lock:
            if problem is None:
                self._target = _Target(pos, quat / np.linalg.norm(quat), stamp)
            else:
                self._target = None
                self._refused += 1
                self._cause, self._reason = HoldCause.REFUSED, f"refused target: {problem}"
        return problem

    def clear_target(self) -> None:
        with self._lock:
            self._target, self._cause, self._reason = None, HoldCause.CLEARED, HoldCause.CLEARED.value

    def reset_fault(self) -> None:
        """Operator acknowledgement after a safety stop: resume by holding the current pose."""
        with self._lock:
            self._fault, self._target, self._hold = None, None, None
            self._cause, self._reason = HoldCause.FAULT_RESET, HoldCause.FAULT_RESET.value  # not the stop's

    # --- one period ------------------------------------------------------------------------
    def tick(self) -> LoopStatus:
        state = self.robot.read_state()
        now = self._clock()
        b_T_tcp, jac = self.kinematics.tcp_pose_and_jacobian(state.q_rad)
        pos, quat = b_T_tcp[:3, 3], matrix_to_quat(b_T_tcp[:3, :3])
        with self._lock:
            if self._fault is None:
                self._fault = self._monitor.violation(state.q_rad, state.qd_radps, pos)
            fault, target, reason, cause = self._fault, self._target, self._reason, self._cause
        tau = np.zeros(6)
        if fault is not None:
            mode, reason, goal = LoopMode.STOPPED, f"safety stop: {fault}", None
            self.robot.hold_position()
        else:
            if target is not None and now - target.stamp_s <= self.limits.max_target_age_s:
                mode, goal, self._hold = LoopMode.TRACKING, target, None
                reason = "tracking target"
            else:
                if self._hold is None:
                    self._hold = _Target(pos.copy(), quat.copy(), now)
                mode, goal = LoopMode.HOLDING, self._hold
                if target is not None:
                    cause, reason = HoldCause.STALE, f"target older than {self.limits.max_target_age_s} s"
            tau = track_target(pos, quat, jac, state.qd_radps, goal.pos_b_m, goal.quat_b_wxyz, self.gains)  # clipped
            if np.all(np.isfinite(tau)):
                self.robot.command_torque(tau)
            else:
                with self._lock:
                    self._fault = "non-finite torque"
                mode, reason, tau = LoopMode.STOPPED, "safety stop: non-finite torque", np.zeros(6)
                self.robot.hold_position()
        with self._lock:
            self._ticks += 1
            self._status = LoopStatus(
                mode, reason, now, state.q_rad, state.qd_radps, pos, quat,
                None if goal is None else goal.pos_b_m, None if goal is None else goal.quat_b_wxyz,
                tau, self._ticks, self.pacer.overruns, self._refused,
                cause if mode is LoopMode.HOLDING else None,
            )
            status = self._status
        if self.on_tick is not None:
            self.on_tick(status)
        return status

    # --- thread ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("control loop already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="omnireset-control-500hz", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        self.pacer.start()
        i = 0
        try:
            while not self._stop.is_set():
                self.tick()
                self._wake_s[i % self._wake_s.size] = self.pacer.wait()
                i += 1
        except HardwareError as exc:
            if self._status is not None:
                self._status = replace(self._status, mode=LoopMode.FAILED, reason=f"robot connection lost: {exc}")
                if self.on_tick is not None:
                    self.on_tick(self._status)

    def status(self) -> LoopStatus | None:
        return self._status

    def periods_s(self) -> np.ndarray:
        """Measured periods between consecutive wake-ups (most recent ``history`` of them)."""
        wake = self._wake_s[np.isfinite(self._wake_s)]
        return np.diff(np.sort(wake))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

