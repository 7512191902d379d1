"""Stability of the twin holding a grasped peg, across physics timesteps (not a test).

For each timestep: grasp the peg, lift it 10 cm, then hold for ``--hold-s`` seconds either with
the core OSC law (500 Hz gains, per-step control) or with the joint hold (hold_position). Prints the
tcp drift, peg slip in the hand, peak joint speed, and the step at which the state went non-finite
(if it did).

    MUJOCO_GL=egl python src/omnireset_sim/benchmarks/stability_sweep.py
"""
from __future__ import annotations

import argparse

import numpy as np

from omnireset_core.control.osc import OscGains
from omnireset_sim.assets.objects import PEG_BODY
from omnireset_sim.config import CellConfig, PhysicsConfig
from omnireset_sim.scripted import TOOL_DOWN_QUAT, OscDriver
from omnireset_sim.twin import TwinCell, TwinGripper, TwinRobot


def hold_run(dt: float, mode: str, hold_s: float, gains: OscGains) -> dict:
    cell = TwinCell(CellConfig(physics=PhysicsConfig(timestep_s=dt, control_period_s=dt)))
    robot, gripper = TwinRobot(cell), TwinGripper(cell)
    robot.connect()
    gripper.connect()
    drv = OscDriver(robot, cell.kinematics, gains, dt)
    peg_pos, _ = cell.object_pose(PEG_BODY)
    drv.move_to(peg_pos + [0, 0, 0.062], TOOL_DOWN_QUAT)
    gripper.command(True)
    drv.hold(0.6)
    drv.move_to(peg_pos + [0, 0, 0.162], TOOL_DOWN_QUAT, settle_s=0.5)
    tcp0_pos_b_m = cell.tcp_pose()[0]
    peg_in_tcp0_m = cell.object_in_tcp(PEG_BODY)[0]
    blowup, qd_max, tcp_drift, slip = None, 0.0, 0.0, 0.0
    for k in range(int(round(hold_s / dt))):
        if mode == "osc":
            drv.tick(drv.target_pos_b_m, drv.target_quat_b_wxyz)
        else:
            robot.hold_position()
        q, qd = cell.joint_state()
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(cell.data.qpos))):
            blowup = k
            break
        qd_max = max(qd_max, float(np.abs(qd).max()))
        tcp_drift = max(tcp_drift, float(np.linalg.norm(cell.tcp_pose()[0] - tcp0_pos_b_m)))
        slip = max(slip, float(np.linalg.norm(cell.object_in_tcp(PEG_BODY)[0] - peg_in_tcp0_m)))
    return {"blowup_step": blowup, "qd_max": qd_max, "tcp_drift_m": tcp_drift, "peg_slip_m": slip}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold-s", type=float, default=10.0)
    parser.add_argument("--dts", type=float, nargs="*", default=[0.002, 0.005, 1 / 120, 0.01, 0.0125, 0.02])
    args = parser.parse_args()
    gains = {"osc zeta_pos=1": OscGains(damping_ratio_pos=1.0), "osc zeta_pos=3": OscGains(damping_ratio_pos=3.0)}
    print(f"{'dt [ms]':>8} {'mode':>16} {'blow-up step':>13} {'max |qd| rad/s':>15} {'tcp drift mm':>13} {'peg slip mm':>12}")
    for dt in args.dts:
        for label, mode, g in [(k, "osc", v) for k, v in gains.items()] + [("joint hold", "hold", gains["osc zeta_pos=1"])]:
            r = hold_run(dt, mode, args.hold_s, g)
            print(f"{dt * 1e3:8.3f} {label:>16} {str(r['blowup_step']):>13} {r['qd_max']:15.3g} "
                  f"{r['tcp_drift_m'] * 1e3:13.3f} {r['peg_slip_m'] * 1e3:12.3f}")


if __name__ == "__main__":
    main()
