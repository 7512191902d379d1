"""A privileged scripted pick-and-insert for the peg task, behind the state-policy interface.

Not learned: a memoryless rule on the newest step of the actor observation (the true object
poses the state policy reads), exported as TorchScript with the same metadata and spec as a PPO
expert, so the policy node, the runtime and the demo run it unchanged. Its metadata ``notes``
start with ``SCRIPTED_NOTE`` and every consumer reports it as scripted.

The rule, per environment (frames: b robot base, z up; TCP z points along the approach):
- part assembled: open the gripper and back the TCP off upwards;
- part held (fingers stopped by the part, the part between the pads): carry it over the hole,
  tilt it upright, turn it to the nearest quarter turn, descend, push it in, and open once it is
  aligned inside the opening or seated;
- otherwise: open, go above the part tool-down with the part's yaw (mod 90 degrees), descend to
  the grasp height and close.
Actions are the scaled pose delta to the sub-goal, clipped to one unit per axis.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from omnireset_core.kinematics.robotiq import FINGER_TRAVEL_M
from omnireset_core.rotations import matrix_to_quat, quat_to_matrix, quat_to_rotvec, rotvec_to_quat
from omnireset_core.spec.contract import ActionSpec, ObservationSpec, default_actor_observation

SCRIPTED_NOTE = "scripted reference, not learned"  # start of PolicyMetadata.notes of such files


@dataclass(frozen=True)
class PegScriptGeometry:
    """Distances of the script [m]; defaults for the twin's 80 mm peg and 40 mm deep hole."""

    grasp_height_m: float = 0.062  # TCP above the peg's bottom face: pads clear of the fixture
    approach_m: float = 0.05  # above the grasp / above the hole before descending
    hole_depth_m: float = 0.04
    press_m: float = 0.003  # push this far below seated
    finger_full_travel_m: float = FINGER_TRAVEL_M  # closed on nothing
    finger_margin_m: float = 0.002
    grip_min_travel_m: float = 0.025  # fingers this far in: touching the 20 mm part (open width 85 mm)
    lateral_tol_m: float = 0.0015  # aligned enough to descend
    tilt_tol_rad: float = 0.03
    grasp_tol_m: float = 0.004  # TCP at the grasp pose: close
    held_tol_m: float = 0.015  # part frame this close to the pads' mid-plane: between the pads
    part_length_m: float = 0.08
    retreat_m: float = 0.08

    @classmethod
    def from_cell(cls, cell) -> PegScriptGeometry:
        """The defaults with the hole depth and peg length of a cell config (``omnireset_sim``'s
        ``CellConfig``: ``cell.hole.depth_m``, ``cell.peg.length_m``)."""
        return cls(hole_depth_m=cell.hole.depth_m, part_length_m=cell.peg.length_m)


def _pose(x: Tensor) -> tuple[Tensor, Tensor]:
    """(position, rotation matrix) of (..., 6) poses (xyz, rotation vector)."""
    return x[..., :3], quat_to_matrix(rotvec_to_quat(x[..., 3:6]))


def _rotvec(R: Tensor) -> Tensor:
    return quat_to_rotvec(matrix_to_quat(R))


def _rot_z(angle: Tensor) -> Tensor:
    c, s, z, o = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack((torch.stack((c, -s, z), -1), torch.stack((s, c, z), -1), torch.stack((z, z, o), -1)), -2)


def _yaw(R: Tensor) -> Tensor:
    return torch.atan2(R[..., 1, 0], R[..., 0, 0])


def _nearest_quarter_turn(yaw: Tensor, reference: Tensor) -> Tensor:
    """The yaw + k pi/2 nearest to ``reference`` (the square part's symmetry; no flip at 45 deg)."""
    return reference + torch.remainder(yaw - reference + math.pi / 4, math.pi / 2) - math.pi / 4


class ScriptedPegPolicy(nn.Module):
    """forward(obs (B, history * step_dim)) -> actions (B, 7); see the module docstring."""

    scale: Tensor  # buffers: the action scale (7,), the tool-down rotation (3, 3)
    down: Tensor

    def __init__(self, observation: ObservationSpec | None = None, action: ActionSpec = ActionSpec(),
                 geometry: PegScriptGeometry = PegScriptGeometry()):
        super().__init__()
        observation = observation or default_actor_observation()
        offsets, start = {}, (observation.history - 1) * observation.step_dim  # the newest step
        for term in observation.terms:
            offsets[term.name] = (start, start + term.dim)
            start += term.dim
        needed = ("finger_travel", "ee_pose_b", "insertive_pose_ee", "insertive_pose_rcv")
        missing = [n for n in needed if n not in offsets]
        if missing:
            raise ValueError(f"the scripted peg policy needs observation term(s) {missing}")
        self.offsets, self.geometry = offsets, geometry
        self.register_buffer("scale", torch.tensor(action.scale, dtype=torch.float32))
        # tool-down orientation: TCP z = -z_b, TCP x = x_b
        self.register_buffer("down", torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]))

    def _term(self, obs: Tensor, name: str) -> Tensor:
        lo, hi = self.offsets[name]
        return obs[:, lo:hi]

    def forward(self, obs: Tensor) -> Tensor:
        g = self.geometry
        obs = obs.double()
        travel = self._term(obs, "finger_travel")[:, 0]
        tcp_p, tcp_R = _pose(self._term(obs, "ee_pose_b"))
        part_in_tcp_p, part_in_tcp_R = _pose(self._term(obs, "insertive_pose_ee"))
        part_in_hole_p, part_in_hole_R = _pose(self._term(obs, "insertive_pose_rcv"))
        part_p = tcp_p + (tcp_R @ part_in_tcp_p[..., None])[..., 0]
        part_R = tcp_R @ part_in_tcp_R
        hole_R = part_R @ part_in_hole_R.transpose(-1, -2)
        hole_p = part_p - (hole_R @ part_in_hole_p[..., None])[..., 0]
        up = torch.zeros_like(tcp_p)
        up[:, 2] = 1.0

        # Grasp sub-goal: tool down with the part's yaw, grasp height above its bottom face.
        down = self.down.double()
        tcp_yaw = _yaw(tcp_R @ down.transpose(-1, -2))
        grasp_R = _rot_z(_nearest_quarter_turn(_yaw(part_R), tcp_yaw)) @ down
        grasp_p = part_p + up * g.grasp_height_m
        lateral_to_grasp = torch.linalg.vector_norm((tcp_p - grasp_p)[:, :2], dim=-1)
        rot_to_grasp = torch.linalg.vector_norm(_rotvec(grasp_R @ tcp_R.transpose(-1, -2)), dim=-1)
        over_part = (lateral_to_grasp < g.grasp_tol_m) & (rot_to_grasp < 0.05)
        reach_p = torch.where(over_part[:, None], grasp_p, grasp_p + up * g.approach_m)
        at_grasp = over_part & (torch.linalg.vector_norm(tcp_p - grasp_p, dim=-1) < g.grasp_tol_m)

        # Insertion sub-goal: the part upright over the hole at the nearest quarter turn.
        part_goal_R = hole_R @ _rot_z(_nearest_quarter_turn(torch.zeros_like(tcp_yaw), _yaw(part_in_hole_R)))
        fix_R = part_goal_R @ part_R.transpose(-1, -2)  # rotation in b that puts the part upright
        lateral = torch.linalg.vector_norm(part_in_hole_p[:, :2], dim=-1)
        tilt = torch.linalg.vector_norm(_rotvec(fix_R), dim=-1)
        aligned = (lateral < g.lateral_tol_m) & (tilt < g.tilt_tol_rad)
        inside = (part_in_hole_p[:, 2] < g.hole_depth_m - 0.005) & (lateral < 2.0 * g.lateral_tol_m)
        height = torch.where(aligned | inside, torch.full_like(lateral, -g.press_m),
                             torch.full_like(lateral, g.hole_depth_m + g.approach_m))
        # Seated, or aligned inside the opening: let go (it slides home on its own; with a low
        # grasp the fingers would meet the fixture before the part is seated).
        seated = (inside & (part_in_hole_p[:, 2] < 0.002)) | (inside & aligned)
        # Lift clear of the fixture before moving sideways: keep the part's lateral offset until then.
        clear = (part_in_hole_p[:, 2] > g.hole_depth_m + 0.01) | inside
        offset = torch.where(clear[:, None], torch.zeros_like(part_in_hole_p[:, :2]), part_in_hole_p[:, :2])
        part_goal_p = hole_p + (hole_R[:, :, :2] @ offset[..., None])[..., 0] + hole_R[:, :, 2] * height[:, None]
        carry_p = part_goal_p + (fix_R @ (tcp_p - part_p)[..., None])[..., 0]
        carry_R = fix_R @ tcp_R

        # From the measured travel alone (at an episode start the last action is zero): fingers
        # closed on nothing, or stopped by a part between them.
        missed = travel > g.finger_full_travel_m - g.finger_margin_m
        gripping = (travel > g.grip_min_travel_m) & ~missed
        # Between the pads (they close along TCP y) in any grasp: the part's frame near the pads'
        # plane and within a part length of the TCP.
        in_hand = ((part_in_tcp_p[:, 1].abs() < g.held_tol_m)
                   & (torch.linalg.vector_norm(part_in_tcp_p, dim=-1) < g.part_length_m))
        held = gripping & in_hand & ~seated
        close = held | (at_grasp & ~missed & ~seated)

        goal_p = torch.where(held[:, None], carry_p, reach_p)
        goal_R = torch.where(held[:, None, None], carry_R, grasp_R)
        # Seated: let go and back off upwards, to a fixed height above the hole.
        retreat_p = tcp_p.clone()
        retreat_p[:, 2] = hole_p[:, 2] + g.hole_depth_m + g.grasp_height_m + g.retreat_m
        goal_p = torch.where(seated[:, None], retreat_p, goal_p)
        goal_R = torch.where(seated[:, None, None], tcp_R, goal_R)

        delta = torch.cat((goal_p - tcp_p, _rotvec(goal_R @ tcp_R.transpose(-1, -2))), -1)
        arm = (delta / self.scale[:6].double()).clamp(-1.0, 1.0)
        gripper = torch.where(close, -torch.ones_like(lateral), torch.ones_like(lateral))
        return torch.cat((arm, gripper[:, None]), -1).float()

    def describe(self) -> dict:
        return {"scripted": True, "privileged": True, "task": "peg", **asdict(self.geometry)}
