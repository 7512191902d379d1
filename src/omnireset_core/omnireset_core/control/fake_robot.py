"""A stand-in arm behind the ``Robot`` interface, for testing the control loop without a physics
engine or a UR: six decoupled joints, each a rotor with inertia and viscous damping, gravity
compensated (as the UR's own controller is under direct torque). Not a model of the UR's
dynamics: the twin (omnireset_sim) is that.

Lockstep: every ``command_torque`` or ``hold_position`` advances the arm by one control period
and the fake's ``time_s`` by the same, so a loop driven with ``clock=robot.clock`` sees target
ages in simulated time. Like the twin and the UR: ``hold_position`` anchors the joints of the
moment it is first called and holds them with a stiff joint PD until the next torque command;
a non-finite torque is refused; a robot that is not connected (or whose link was cut with
``drop_link``) raises ``HardwareError``.
"""
from __future__ import annotations

import numpy as np

from omnireset_core.interfaces import HardwareError, JointState, Robot

DEFAULT_INERTIA_KGM2 = (4.0, 4.0, 1.5, 0.1, 0.1, 0.05)  # about a UR7e's links seen from each joint
DEFAULT_DAMPING_NMSPRAD = (2.0, 2.0, 1.0, 0.2, 0.2, 0.1)
HOLD_KP, HOLD_KD = 4000.0, 150.0  # joint PD of the position hold [Nm/rad, Nm s/rad], times the inertia ratio


class FakeArm(Robot):
    def __init__(self, q0_rad, period_s: float = 0.002, inertia_kgm2=DEFAULT_INERTIA_KGM2,
                 damping_Nmsprad=DEFAULT_DAMPING_NMSPRAD, substeps: int = 4):
        self.q_rad = np.asarray(q0_rad, dtype=float).reshape(6).copy()
        self.qd_radps = np.zeros(6)
        self.inertia = np.asarray(inertia_kgm2, dtype=float)
        self.damping = np.asarray(damping_Nmsprad, dtype=float)
        self.period_s, self.substeps = float(period_s), int(substeps)
        self.time_s = 0.0
        self.external_Nm = np.zeros(6)  # a push from outside (a person, a collision), on top of the command
        self.holding = True
        self.last_torque_Nm = np.zeros(6)
        self._anchor = self.q_rad.copy()
        self._connected = False
        self._link_up = True

    def clock(self) -> float:
        return self.time_s

    def connect(self) -> None:
        if not self._link_up:
            raise HardwareError("fake arm: link down")
        self._connected = True
        self._hold()

    def disconnect(self) -> None:
        self._hold()
        self._connected = False

    def drop_link(self) -> None:
        """The connection is lost: every call from now on raises HardwareError."""
        self._link_up = False

    def read_state(self) -> JointState:
        self._require_connected()
        return JointState(self.time_s, self.q_rad.copy(), self.qd_radps.copy())

    def command_torque(self, tau_Nm) -> None:
        self._require_connected()
        tau = np.asarray(tau_Nm, dtype=float).reshape(6)
        if not np.all(np.isfinite(tau)):
            raise ValueError(f"tau_Nm must be 6 finite numbers, got {tau}")
        self.holding, self.last_torque_Nm = False, tau.copy()
        self._advance(lambda: tau)

    def hold_position(self) -> None:
        self._require_connected()
        self._hold()
        scale = self.inertia / self.inertia.max()
        self._advance(lambda: scale * (HOLD_KP * (self._anchor - self.q_rad) - HOLD_KD * self.qd_radps))

    def _hold(self) -> None:
        if not self.holding:
            self.holding, self._anchor = True, self.q_rad.copy()

    def _advance(self, torque) -> None:
        dt = self.period_s / self.substeps
        for _ in range(self.substeps):  # semi-implicit Euler
            qdd = (torque() + self.external_Nm - self.damping * self.qd_radps) / self.inertia
            self.qd_radps = self.qd_radps + dt * qdd
            self.q_rad = self.q_rad + dt * self.qd_radps
        self.time_s += self.period_s

    def _require_connected(self) -> None:
        if not self._link_up:
            raise HardwareError("fake arm: connection lost")
        if not self._connected:
            raise HardwareError("fake arm: not connected (call connect())")
