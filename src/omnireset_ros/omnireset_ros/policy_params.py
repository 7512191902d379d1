"""The policy node's parameters: ``DeployedPolicyConfig``'s fields (defaults from the core) plus
the checkpoint, the task and start-up options. config/ros/policy_node.yaml documents each."""
from __future__ import annotations

from dataclasses import dataclass

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node

from omnireset_core.policy import InputAgeLimits, VisionSpec
from omnireset_core.policy.deployment import KINDS, DeployedPolicyConfig
from omnireset_core.policy.session import SessionLimits
from omnireset_ros import params
from omnireset_ros.policy_paths import DEFAULT_CHECKPOINT

DYNAMIC = ("checkpoint", "task")  # setting either reloads the policy


@dataclass(frozen=True)
class PolicyNodeParams:
    config: DeployedPolicyConfig
    autostart: bool
    torch_threads: int
    error: str = ""  # parameters that make no valid config (kind rgb's vision): the node loads nothing


def declare_policy_params(node: Node) -> PolicyNodeParams:
    d = DeployedPolicyConfig()
    p = lambda *a, **k: params.declare(node, *a, **k)  # noqa: E731
    p("checkpoint", DEFAULT_CHECKPOINT, "Policy checkpoint (TorchScript + metadata). Relative paths are tried "
      "against the working directory, the workspace root, then share/omnireset_ros. Dynamic: setting it "
      "reloads (deactivating first).", read_only=False)
    p("task", "peg", "Task name (omnireset_core.tasks) or task YAML path; the checkpoint must be for it and "
      "its objects' twin poses are observed. Dynamic, like checkpoint.", read_only=False)
    ages = InputAgeLimits(
        observation_s=p("max_observation_age_s", d.ages.observation_s,
                        "Oldest usable observation term sample at a step [s]", 0.001, 10.0),
        frame_s=p("max_frame_age_s", d.ages.frame_s, "Oldest usable camera frame at a step [s]: one 10 Hz "
                  "camera period plus rendering or capture, transport and encoding (frame_pipeline_p99_ms)", 0.001, 10.0),
        ee_pose_s=p("max_ee_pose_age_s", d.ages.ee_pose_s, "Oldest usable measured TCP pose at a step [s] (the "
                    "target is built from it): room for the DDS hop and executor latency", 0.001, 10.0))
    session = SessionLimits(
        history_reset_gap_s=p("history_reset_gap_s", d.session.history_reset_gap_s, "After refused steps, resume "
                              "from a reset history if the last accepted step is older than this [s]", 0.0, 60.0),
        deactivate_after_s=p("deactivate_after_s", d.session.deactivate_after_s, "Refused steps for longer than "
                             "this after an accepted step since activation deactivate the node (a controller that "
                             "died or restarted): resuming needs an activation [s]", 0.2, 60.0))
    kind = p("kind", d.kind, "Expected policy kind: 'state' (PPO expert) or 'rgb' (student)", choices=KINDS)
    cameras = tuple(p("cameras", list(d.vision.cameras), "kind rgb: camera names, in the checkpoint's order"))
    image_hw = tuple(p("image_hw_px", list(d.vision.image_hw), "kind rgb: image height and width [px]"))
    frames = p("frames_per_camera", d.vision.frames_per_camera, "kind rgb: frames stacked per camera", 1, 100)
    vision, error = d.vision, ""
    if kind == "rgb":  # a state policy does not read them
        try:
            vision = VisionSpec(cameras=cameras, image_hw=image_hw, frames_per_camera=frames)
        except ValueError as exc:
            error = f"vision parameters: {exc}"
    config = DeployedPolicyConfig(
        kind=kind,
        rate_hz=p("rate_hz", d.rate_hz, "Policy step rate [Hz]; must equal the checkpoint's policy_rate_hz",
                  1.0, 100.0),
        ages=ages, session=session, vision=vision,
        proprio_terms=tuple(p("rgb_proprio_terms", list(d.proprio_terms), "kind rgb: proprioceptive observation "
                              "terms (names of the actor contract)")),
        override_timeout_s=p("override_timeout_s", d.override_timeout_s, "A true GRIPPER_OVERRIDE counts for this "
                             "long after it was received [s] (the supervisor repeats it at 10 Hz)", 0.05, 10.0))
    return PolicyNodeParams(config,
                            autostart=p("autostart", False, "Activate as soon as the checkpoint has loaded"),
                            torch_threads=p("torch_threads", 1, "torch intra-op threads", 1, 64), error=error)


def check_dynamic(parameters) -> SetParametersResult:
    """Refuse an empty or non-string checkpoint or task (an on-set-parameters callback)."""
    for param in parameters:
        if param.name in DYNAMIC and (not isinstance(param.value, str) or not param.value.strip()):
            return SetParametersResult(successful=False, reason=f"{param.name} must be a non-empty string")
    return SetParametersResult(successful=True)
