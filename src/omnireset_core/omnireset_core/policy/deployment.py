"""A deployed policy without ROS: its settings, loading a checkpoint against them, and the status
line a node reports. The policy node declares ``DeployedPolicyConfig``'s fields as parameters
with these defaults, calls ``load_deployed`` on every (re)load and ``policy_status`` for its
diagnostics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omnireset_core.config import check_positive
from omnireset_core.policy.metadata import VisionSpec
from omnireset_core.policy.runtime import (
    CheckpointError,
    ExpectedSpec,
    InputAgeLimits,
    PolicyInputError,
    PolicyRuntime,
)
from omnireset_core.policy.scripted import SCRIPTED_NOTE
from omnireset_core.policy.session import PolicySession, SessionLimits
from omnireset_core.spec.contract import ActionSpec, default_actor_observation

PLACEHOLDER_NOTE = "placeholder checkpoint, not trained"  # start of PolicyMetadata.notes of such files
KINDS = ("state", "rgb")
# Over DDS the newest TCP pose (100 Hz) and camera frame (10 Hz) arrive older than in one process
# (InputAgeLimits' defaults): with the controller, policy and supervisor on two shared cores,
# 26-43 ms old poses were seen at policy ticks. A frame at a tick is up to one camera period
# (0.1 s) older than when its features were ready; from its stamp to then (rendering or capture,
# DDS, encoding) 63-105 ms median and 128-257 ms p99 were measured for the 64 px student in the
# twin stack on this 2-core machine (the policy node's frame_pipeline_*_ms). 0.25 s is one period
# plus a typical p99 (0.15 s); a frame older than that missed a period: refused.
DEPLOYED_AGE_LIMITS = InputAgeLimits(frame_s=0.25, ee_pose_s=0.05)
# Inputs published by the controller: refused together, the controller is not running.
ROBOT_STATE_INPUTS = ("obs/joint_pos", "obs/finger_travel", "obs/ee_pose_b", "ee_pose")


def provenance(notes: str) -> str:
    """'placeholder', 'scripted' or 'learned', from a checkpoint's metadata notes."""
    text = notes.strip().lower()
    if text.startswith(PLACEHOLDER_NOTE):
        return "placeholder"
    return "scripted" if text.startswith(SCRIPTED_NOTE) else "learned"


@dataclass(frozen=True)
class DeployedPolicyConfig:
    kind: str = "state"  # 'state' (PPO expert) or 'rgb' (student)
    rate_hz: float = 10.0  # must equal the checkpoint's policy_rate_hz
    ages: InputAgeLimits = DEPLOYED_AGE_LIMITS
    session: SessionLimits = SessionLimits()
    vision: VisionSpec = VisionSpec()  # kind rgb
    proprio_terms: tuple[str, ...] = ("last_action", "joint_pos", "ee_pose_b")  # kind rgb
    override_timeout_s: float = 0.5  # a true gripper override counts this long after receipt

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"DeployedPolicyConfig.kind must be one of {list(KINDS)}, got {self.kind!r}")
        check_positive("DeployedPolicyConfig.rate_hz", self.rate_hz)
        check_positive("DeployedPolicyConfig.override_timeout_s", self.override_timeout_s)

    def expected(self, task: str) -> ExpectedSpec:
        """What a checkpoint must declare to run here for ``task``."""
        action = ActionSpec(policy_rate_hz=self.rate_hz)
        if self.kind == "rgb":
            try:
                proprio = default_actor_observation().select(self.proprio_terms)
            except ValueError as exc:
                raise CheckpointError(f"rgb_proprio_terms: {exc}") from None
            return ExpectedSpec.rgb(proprio, task=task, vision=self.vision, action=action)
        return ExpectedSpec(kind="state", observation=default_actor_observation(), task=task, action=action)


@dataclass
class DeployedPolicy:
    session: PolicySession
    path: Path
    provenance: str = field(init=False)

    def __post_init__(self):
        self.provenance = provenance(self.session.runtime.metadata.notes)


def load_deployed(path: Path, task: str, config: DeployedPolicyConfig, produced_terms) -> DeployedPolicy:
    """Load ``path`` for ``task`` under ``config``; the caller builds ``produced_terms`` (names) and
    nothing else. Raises CheckpointError saying why a checkpoint cannot run here."""
    runtime = PolicyRuntime.load(path, config.expected(task), config.ages)
    unsupported = [t.name for t in runtime.caller_terms if t.name not in set(produced_terms)]
    if unsupported:
        raise CheckpointError(f"{path}: observation term(s) {unsupported} are not produced by this node")
    return DeployedPolicy(PolicySession(runtime, config.session), path)


def refusal_status(refusal: PolicyInputError) -> tuple[str, str]:
    """('warn' | 'error', message) of a refused step, saying whose fault it is."""
    if refusal.inputs == ("action",):
        return "error", f"policy output refused: {refusal}"
    if any(name in ROBOT_STATE_INPUTS for name in refusal.inputs):
        return "warn", f"no controller (robot state not fresh): inputs refused: {refusal}"
    return "warn", f"inputs refused: {refusal}"


def percentiles_ms(key: str, samples_ms) -> dict[str, str]:
    """``{key}_p50_ms`` and ``{key}_p99_ms`` of ``samples_ms`` for a diagnostics array ("nan" if none)."""
    samples = np.asarray(samples_ms)
    p50, p99 = np.percentile(samples, [50, 99]) if samples.size else (float("nan"),) * 2
    return {f"{key}_p50_ms": f"{p50:.3f}", f"{key}_p99_ms": f"{p99:.3f}"}


def policy_status(policy: DeployedPolicy | None, load_error: str) -> tuple[str, str, dict[str, object]]:
    """('ok' | 'warn' | 'error', message, values): no policy, a refusal in force, overridden, or
    what is loaded; the values name the session's state (and, over the accepted steps, the step
    latency in the input building and runtime step, and the oldest camera frame's age) for a
    diagnostics array."""
    session = policy.session if policy is not None else None
    refusal = session.refusal if session is not None else None
    kind = policy.provenance if policy is not None else ""
    values = {"loaded": session is not None, "placeholder": kind == "placeholder", "scripted": kind == "scripted",
              "active": session is not None and session.active,
              "overridden": session is not None and session.overridden, "load_error": load_error,
              "refused_inputs": ",".join(refusal.inputs) if refusal is not None else "",
              "last_refusal": session.last_refusal if session is not None else "",
              "refusals": session.refusals if session is not None else 0,
              "notes": session.runtime.metadata.notes if session is not None else ""}
    for key, series in (("step_latency", "step_ms"), ("frame_age", "frame_age_ms")):
        values.update(percentiles_ms(key, getattr(session, series) if session is not None else []))
    if session is None:
        return "error", f"no policy: {load_error}", values
    if refusal is not None:
        return (*refusal_status(refusal), values)
    if session.overridden:
        return "ok", "overridden by the supervisor", values
    if kind == "placeholder":
        return "warn", PLACEHOLDER_NOTE, values
    state = "active" if session.active else "loaded, inactive"
    return "ok", f"{state} ({SCRIPTED_NOTE})" if kind == "scripted" else state, values
