"""Observation terms ``<quantity>_<kernel>(state) -> (N, dim)`` and the actor / critic builders.

The actor observation follows ``omnireset_core.spec.default_actor_observation`` term by term,
each computed by the core's ``spec.terms`` as the policy node does, so the exported policy reads
exactly what ``PolicyRuntime`` assembles at deployment. Poses are (x, y, z [m], rotation vector [rad]).
"""
from __future__ import annotations

import torch

from omnireset_core.spec.contract import ObservationSpec, default_actor_observation
from omnireset_core.spec.history import push_history
from omnireset_core.spec.terms import term_value
from omnireset_training.mdp.state import CellState


def term_sources(s: CellState) -> dict:
    """The measured quantities the core's term functions read (``omnireset_core.spec.terms``)."""
    return {"joints": s.q_arm_rad, "fingers": s.finger_travel_m, "ee": (s.tcp_pos_b_m, s.tcp_quat_b_wxyz),
            "insertive": (s.insertive_pos_b_m, s.insertive_quat_b),
            "receptive": (s.receptive_pos_b_m, s.receptive_quat_b)}


def actor_term(s: CellState, name: str, sources: dict | None = None) -> torch.Tensor:
    """Term ``name`` (N, dim). ``last_action`` is the raw action applied at the previous policy
    step (the runtime feeds its own back); every other term is the core's ``term_value``."""
    if name == "last_action":
        return s.action
    return term_value(name, sources or term_sources(s))


def actor_step(s: CellState, spec: ObservationSpec | None = None) -> torch.Tensor:
    """One history step (N, spec.step_dim) in the spec's term order."""
    spec = spec or default_actor_observation()
    sources = term_sources(s)
    parts = []
    for term in spec.terms:
        value = actor_term(s, term.name, sources)
        if value.shape[-1] != term.dim:
            raise ValueError(f"observation term {term.name!r} gives {value.shape[-1]} values, spec says {term.dim}")
        parts.append(value)
    return torch.cat(parts, -1)


def time_left_s(s: CellState) -> torch.Tensor:
    return s.time_left_s[:, None]


def joint_vel_radps(s: CellState) -> torch.Tensor:
    return s.qd_arm_radps


def ee_vel_b(s: CellState) -> torch.Tensor:
    return torch.cat((s.tcp_lin_vel_b_mps, s.tcp_ang_vel_b_radps), -1)


def insertive_vel_b(s: CellState) -> torch.Tensor:
    return torch.cat((s.insertive_lin_vel_b_mps, s.insertive_ang_vel_b_radps), -1)


def gripper_state(s: CellState) -> torch.Tensor:
    return torch.stack((s.gripper_closed.to(s.finger_travel_m.dtype), s.finger_travel_m), -1)


CRITIC_EXTRA_TERMS = (time_left_s, joint_vel_radps, ee_vel_b, insertive_vel_b, gripper_state)


def critic_obs(s: CellState, privileged: torch.Tensor, spec: ObservationSpec | None = None) -> torch.Tensor:
    """No history: the actor's newest step, velocities, time left and the randomised physics
    parameters ``privileged`` (N, P)."""
    return torch.cat([actor_step(s, spec)] + [f(s) for f in CRITIC_EXTRA_TERMS] + [privileged], -1)


class ObservationHistory:
    """(N, history, step_dim) stack, oldest first; a reset row is filled with its first sample
    (as ``PolicyRuntime`` does after ``reset()``)."""

    def __init__(self, num_envs: int, history: int, step_dim: int, dtype=torch.float32, device="cpu"):
        self.buffer = torch.zeros(num_envs, history, step_dim, dtype=dtype, device=device)

    def push(self, sample: torch.Tensor, reset_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Append ``sample`` (N, step_dim); rows in ``reset_ids`` start over. Returns (N, history * step_dim)."""
        restart = torch.zeros(self.buffer.shape[0], dtype=torch.bool, device=self.buffer.device)
        if reset_ids is not None:
            restart[reset_ids] = True
        self.buffer = push_history(self.buffer, sample, restart)
        return self.flat()

    def flat(self) -> torch.Tensor:
        """A copy: the learner keeps the observation of step t, which must never be a view of a
        buffer the next ``push`` can change (it would hand it o_{t+1}, whose last action is a_t)."""
        return self.buffer.reshape(self.buffer.shape[0], -1).clone()
