"""The twin runtime: one MuJoCo model of the cell and Robot / Gripper backends over it.

``TwinCell`` owns MjModel/MjData and a lock; everything that touches MjData takes the lock, so a
control thread, a gripper command and camera snapshots can interleave safely.

Stepping is lockstep by default: every ``TwinRobot.command_torque`` or ``hold_position`` call
advances physics by exactly one control period (500 Hz: 2 ms), and the caller paces real time.
``TwinRobot(free_running=True)`` instead steps physics on its own thread at the control rate, like
the real arm, and commands only set the torque.
"""
from __future__ import annotations

import collections
import threading
import time

import mujoco
import numpy as np

from omnireset_core.control.pacing import DeadlinePacer
from omnireset_core.interfaces import Gripper, GripperState, HardwareError, JointState, Robot
from omnireset_core.kinematics.ur import UR7E, URKinematics, URParameters
from omnireset_core.rotations import matrix_to_quat, pose_in_frame
from omnireset_sim.assets import robotiq
from omnireset_sim.assets.cell import build_cell_model
from omnireset_sim.assets.objects import HOLE_BODY, PEG_BODY
from omnireset_sim.assets.ur_arm import JOINT_NAMES
from omnireset_sim.config import CamerasConfig, CellConfig, load_cameras_config, load_cell_config


class TwinCell:
    """MuJoCo model + data of the cell, with thread-safe accessors in frame b (SI, quat wxyz)."""

    def __init__(
        self,
        cell: CellConfig | None = None,
        cameras: CamerasConfig | None = None,
        params: URParameters = UR7E,
        timestep_s: float | None = None,
    ):
        self.config = cell or CellConfig()
        self.cameras_config = cameras
        self.params = params
        self.model = build_cell_model(self.config, cameras, params, timestep_s)
        self.data = mujoco.MjData(self.model)
        self.lock = threading.RLock()
        self.kinematics = URKinematics(params, robotiq.FLANGE_T_TCP, self.config.arm.joint_placements())
        m = self.model
        self.arm_qpos_adr = np.array([m.joint(n).qposadr[0] for n in JOINT_NAMES])
        self.arm_dof_adr = np.array([m.joint(n).dofadr[0] for n in JOINT_NAMES])
        self.arm_actuator_ids = np.array([m.actuator(f"{n}_motor").id for n in JOINT_NAMES])
        self.gripper_actuator_id = m.actuator(robotiq.ACTUATOR).id
        self.finger_qpos_adr = np.array([m.joint(n).qposadr[0] for n in (robotiq.LEFT_JOINT, robotiq.RIGHT_JOINT)])
        self.finger_dof_adr = np.array([m.joint(n).dofadr[0] for n in (robotiq.LEFT_JOINT, robotiq.RIGHT_JOINT)])
        self.tcp_site_id = m.site("tcp").id
        self.tool0_site_id = m.site("tool0").id
        peg_joint = m.body(PEG_BODY).jntadr[0]
        self.peg_qpos_adr = m.jnt_qposadr[peg_joint]
        self.peg_dof_adr = m.jnt_dofadr[peg_joint]
        self.hole_mocap_id = m.body(HOLE_BODY).mocapid[0]
        self.torque_limit_Nm = np.asarray(params.torque_limit_Nm, dtype=float)
        self._holding = False
        self.reset()

    @classmethod
    def from_files(cls, cell_yaml=None, cameras_yaml=None, timestep_s: float | None = None) -> "TwinCell":
        """The cell of config/cell.yaml with the cameras of config/cameras.yaml (or given paths)."""
        return cls(load_cell_config(cell_yaml), load_cameras_config(cameras_yaml), timestep_s=timestep_s)

    # --- time and stepping --------------------------------------------------------------------
    @property
    def timestep_s(self) -> float:
        return float(self.model.opt.timestep)

    @property
    def time_s(self) -> float:
        return float(self.data.time)

    def step(self, n: int = 1) -> None:
        with self.lock:
            for _ in range(n):
                mujoco.mj_step(self.model, self.data)

    def forward(self) -> None:
        with self.lock:
            mujoco.mj_forward(self.model, self.data)

    def reset(self, q_rad=None, peg_pose=None, hole_pose=None, gripper_closed: bool = False) -> None:
        """Back to t = 0 at joint configuration ``q_rad`` (default: home), objects at their
        configured (or given ``(pos_m, quat_wxyz)``) poses, gripper open, zero torque."""
        cfg = self.config
        with self.lock:
            mujoco.mj_resetData(self.model, self.data)
            self.set_torque_mode()
            q = np.asarray(cfg.arm.home_q_rad if q_rad is None else q_rad, dtype=float)
            self.data.qpos[self.arm_qpos_adr] = q
            peg = peg_pose or (cfg.peg.initial_pose_b.pos_m, cfg.peg.initial_pose_b.quat_wxyz)
            hole = hole_pose or (cfg.hole.pose_b.pos_m, cfg.hole.pose_b.quat_wxyz)
            self._write_object_pose(PEG_BODY, *peg)
            self._write_object_pose(HOLE_BODY, *hole)
            self.set_gripper(gripper_closed)
            mujoco.mj_forward(self.model, self.data)

    # --- arm ----------------------------------------------------------------------------------
    def joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(q_rad, qd_radps) of the six arm joints, copies."""
        with self.lock:
            return self.data.qpos[self.arm_qpos_adr].copy(), self.data.qvel[self.arm_dof_adr].copy()

    def set_arm_torque(self, tau_Nm) -> None:
        """Motor torques (Nm) on top of the built-in gravity compensation; clipped to the limits."""
        tau = np.clip(np.asarray(tau_Nm, dtype=float).reshape(6), -self.torque_limit_Nm, self.torque_limit_Nm)
        with self.lock:
            self.data.ctrl[self.arm_actuator_ids] = tau

    def set_torque_mode(self) -> None:
        """Arm actuators as plain torque motors (ctrl = Nm)."""
        with self.lock:
            ids = self.arm_actuator_ids
            self.model.actuator_gainprm[ids, 0] = 1.0
            self.model.actuator_biasprm[ids, :3] = 0.0
            self.data.ctrl[ids] = 0.0
            self._holding = False

    def set_hold_mode(self, q_hold_rad) -> None:
        """Arm actuators as stiff joint PD servos toward ``q_hold_rad`` (ctrl = target rad).

        The damping part is a velocity-dependent actuator bias, which the implicit integrators
        treat implicitly, so the hold is stable at 500 Hz and at 120 Hz alike.
        """
        arm = self.config.arm
        kp = np.asarray(arm.hold_kp_Nm_per_rad, dtype=float)
        kd = np.asarray(arm.hold_kd_Nms_per_rad, dtype=float)
        with self.lock:
            ids = self.arm_actuator_ids
            self.model.actuator_gainprm[ids, 0] = kp
            self.model.actuator_biasprm[ids, 0] = 0.0
            self.model.actuator_biasprm[ids, 1] = -kp
            self.model.actuator_biasprm[ids, 2] = -kd
            self.data.ctrl[ids] = np.asarray(q_hold_rad, dtype=float).reshape(6)
            self._holding = True

    @property
    def holding(self) -> bool:
        return self._holding

    def mass_matrix(self) -> np.ndarray:
        """(6, 6) joint-space inertia of the arm (armature included) at the current state."""
        with self.lock:
            mujoco.mj_fwdPosition(self.model, self.data)
            full = np.zeros((self.model.nv, self.model.nv))
            mujoco.mj_fullM(self.model, self.data, full)
        return full[np.ix_(self.arm_dof_adr, self.arm_dof_adr)]

    # --- poses ----------------------------------------------------------------------------------
    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(pos_b_m, quat_b_wxyz) of the tcp site, as of the last step/forward."""
        with self.lock:
            site = self.data.site("tcp")
            return site.xpos.copy(), matrix_to_quat(site.xmat.reshape(3, 3))

    def object_in_tcp(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Pose of body ``name`` in the tcp frame (e.g. how a grasped peg sits in the hand)."""
        return pose_in_frame(*self.tcp_pose(), *self.object_pose(name))

    def object_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(pos_b_m, quat_b_wxyz) of the ``peg`` or ``peg_hole`` frame."""
        with self.lock:
            body = self.data.body(name)
            return body.xpos.copy(), body.xquat.copy()

    def set_object_pose(self, name: str, pos_m, quat_wxyz) -> None:
        """Teleport ``peg`` (velocity zeroed) or place ``peg_hole`` (mocap)."""
        with self.lock:
            self._write_object_pose(name, pos_m, quat_wxyz)
            mujoco.mj_forward(self.model, self.data)

    def relative_pose(self, name: str, frame: str) -> tuple[np.ndarray, np.ndarray]:
        """Pose of body ``name`` in the frame of body ``frame`` (e.g. peg in peg_hole)."""
        return pose_in_frame(*self.object_pose(frame), *self.object_pose(name))

    def _write_object_pose(self, name: str, pos_m, quat_wxyz) -> None:
        pos = np.asarray(pos_m, dtype=float).reshape(3)
        quat = np.asarray(quat_wxyz, dtype=float).reshape(4)
        quat = quat / np.linalg.norm(quat)
        if name == PEG_BODY:
            a, v = self.peg_qpos_adr, self.peg_dof_adr
            self.data.qpos[a:a + 3] = pos
            self.data.qpos[a + 3:a + 7] = quat
            self.data.qvel[v:v + 6] = 0.0
        elif name == HOLE_BODY:
            self.data.mocap_pos[self.hole_mocap_id] = pos
            self.data.mocap_quat[self.hole_mocap_id] = quat
        else:
            raise ValueError(f"unknown object {name!r}; objects are {PEG_BODY!r} and {HOLE_BODY!r}")

    # --- gripper --------------------------------------------------------------------------------
    def set_gripper(self, close: bool, force_N: float | None = None) -> None:
        force = self.config.gripper.grip_force_N if force_N is None else float(force_N)
        with self.lock:
            self.data.ctrl[self.gripper_actuator_id] = force if close else -force

    def finger_travel(self) -> tuple[np.ndarray, np.ndarray]:
        """(travel_m, speed_mps) of both fingers; travel 0 = open, FINGER_TRAVEL_M = closed."""
        with self.lock:
            return self.data.qpos[self.finger_qpos_adr].copy(), self.data.qvel[self.finger_dof_adr].copy()

    # --- rendering support ------------------------------------------------------------------------
    def snapshot(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """(time_s, qpos, mocap_pos, mocap_quat) copies: all a renderer needs, taken under the lock."""
        with self.lock:
            d = self.data
            return float(d.time), d.qpos.copy(), d.mocap_pos.copy(), d.mocap_quat.copy()


class TwinRobot(Robot):
    """UR arm backend on a ``TwinCell``.

    Lockstep (default): each ``command_torque`` or ``hold_position`` call advances physics by one
    control period. ``free_running=True``: a thread steps physics at the control rate in real time;
    commands only set the torque, and a torque older than ``command_timeout_s`` makes the arm hold
    (as the UR does when its torque stream stops).

    ``command_torque`` (re)enters torque control; with ``ArmConfig.motor_delay_steps`` = d, the
    torque that acts is the one commanded d calls before (zero torque until there is one).
    ``hold_position`` latches the joint positions
    of the moment it is first called and holds them with a stiff joint PD (the UR's own position
    control) until the next ``command_torque``; torques are on top of gravity compensation.
    """

    def __init__(
        self,
        cell: TwinCell,
        control_period_s: float | None = None,
        free_running: bool = False,
        command_timeout_s: float = 0.05,
    ):
        self.cell = cell
        period = cell.config.physics.control_period_s if control_period_s is None else control_period_s
        steps = period / cell.timestep_s
        if round(steps) < 1 or abs(steps - round(steps)) > 1e-6:
            raise ValueError(
                f"control_period_s ({period}) must be a whole multiple of the timestep ({cell.timestep_s})"
            )
        self.control_period_s = float(period)
        self.substeps = int(round(steps))
        self.free_running = free_running
        self.command_timeout_s = command_timeout_s
        self._connected = False
        self._delayed_Nm = collections.deque([np.zeros(6)] * cell.config.arm.motor_delay_steps)
        self._last_command_s = -np.inf
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.overruns = 0

    # --- Robot interface ---------------------------------------------------------------------------
    def connect(self) -> None:
        if self._connected:
            return
        self._connected = True
        self._latch_hold()
        if self.free_running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="twin-physics", daemon=True)
            self._thread.start()

    def disconnect(self) -> None:
        if not self._connected:
            return
        self._latch_hold()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        self._connected = False

    def read_state(self) -> JointState:
        self._require_connected()
        q, qd = self.cell.joint_state()
        return JointState(time.monotonic(), q, qd)

    def command_torque(self, tau_Nm) -> None:
        self._require_connected()
        tau = np.asarray(tau_Nm, dtype=float).reshape(6)
        if not np.all(np.isfinite(tau)):
            raise ValueError(f"tau_Nm must be 6 finite numbers, got {tau}")
        with self.cell.lock:
            if self.cell.holding:
                self.cell.set_torque_mode()
            self._delayed_Nm.append(tau)
            self.cell.set_arm_torque(self._delayed_Nm.popleft())
            self._last_command_s = time.monotonic()
            if not self.free_running:
                self.cell.step(self.substeps)

    def hold_position(self) -> None:
        self._require_connected()
        with self.cell.lock:
            self._latch_hold()
            if not self.free_running:
                self.cell.step(self.substeps)

    # --- twin extras ---------------------------------------------------------------------------------
    @property
    def holding(self) -> bool:
        return self.cell.holding

    def _latch_hold(self) -> None:
        with self.cell.lock:
            if not self.cell.holding:
                q, _ = self.cell.joint_state()
                self.cell.set_hold_mode(q)

    def _require_connected(self) -> None:
        if not self._connected:
            raise HardwareError("twin robot: not connected (call connect())")
        if self.free_running and (self._thread is None or not self._thread.is_alive()):
            raise HardwareError("twin robot: physics thread is not running")

    def _run(self) -> None:
        pacer = DeadlinePacer(1.0 / self.control_period_s)
        pacer.start()
        while not self._stop.is_set():
            with self.cell.lock:
                if not self.cell.holding and time.monotonic() - self._last_command_s > self.command_timeout_s:
                    self._latch_hold()
                self.cell.step(self.substeps)
            pacer.wait()
            self.overruns = pacer.overruns


class TwinGripper(Gripper):
    """Binary 2F-85 backend: open/close at the configured force; physics advances with the arm.

    ``object_detected``: closed is commanded and the fingers came to rest more than
    ``detect_margin_m`` before full closure (the 2F-85 reports the same from its fingers stalling).
    """

    def __init__(self, cell: TwinCell, grip_force_N: float | None = None, detect_margin_m: float = 0.002,
                 rest_speed_mps: float = 0.002, settle_s: float = 0.05):
        self.cell = cell
        self.grip_force_N = cell.config.gripper.grip_force_N if grip_force_N is None else float(grip_force_N)
        lo, hi = 20.0, 235.0
        if not lo <= self.grip_force_N <= hi:
            raise ValueError(f"grip_force_N must be within [{lo}, {hi}], got {self.grip_force_N}")
        if grip_force_N is not None:  # keep the configured free closing speed at this force
            damping = robotiq.finger_damping(self.grip_force_N, cell.config.gripper.finger_speed_mps)
            cell.model.dof_damping[cell.finger_dof_adr] = damping
        self.detect_margin_m = detect_margin_m
        self.rest_speed_mps = rest_speed_mps
        self.settle_s = settle_s
        self._closed = False
        self._command_time_s = 0.0
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def command(self, close: bool) -> None:
        if not self._connected:
            raise HardwareError("twin gripper: not connected (call connect())")
        close = bool(close)
        if close != self._closed:
            self._command_time_s = self.cell.time_s
        self._closed = close
        self.cell.set_gripper(close, self.grip_force_N)

    def read_state(self) -> GripperState:
        if not self._connected:
            raise HardwareError("twin gripper: not connected (call connect())")
        travel, speed = self.cell.finger_travel()
        with self.cell.lock:
            closed = bool(self.cell.data.ctrl[self.cell.gripper_actuator_id] > 0)  # survives cell.reset()
        if closed != self._closed or self.cell.time_s < self._command_time_s:
            self._closed, self._command_time_s = closed, 0.0
        frac = float(np.clip(travel.mean() / robotiq.FINGER_TRAVEL_M, 0.0, 1.0))
        at_rest = bool(np.all(np.abs(speed) < self.rest_speed_mps))
        settled = self.cell.time_s - self._command_time_s >= self.settle_s
        stalled = travel.mean() < robotiq.FINGER_TRAVEL_M - self.detect_margin_m
        detected = self._closed and at_rest and settled and stalled
        return GripperState(time.monotonic(), frac, self._closed, detected)
