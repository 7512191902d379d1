"""A deployed policy without ROS: config checks, loading the bundled TorchScript checkpoints (the
placeholder and the scripted reference) and the status a node reports."""
import time

import pytest

torch = pytest.importorskip("torch")

from omnireset_core.policy import CheckpointError, StaleInputError  # noqa: E402
from omnireset_core.policy.deployment import (  # noqa: E402
    DEPLOYED_AGE_LIMITS,
    DeployedPolicyConfig,
    load_deployed,
    policy_status,
    provenance,
)
from omnireset_core.policy.scripted import SCRIPTED_NOTE  # noqa: E402
from omnireset_core.spec.terms import TERM_SOURCES  # noqa: E402

pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")


def test_config_refuses_a_bad_kind_or_rate():
    with pytest.raises(ValueError, match="kind must be one of"):
        DeployedPolicyConfig(kind="depth")
    with pytest.raises(ValueError, match="rate_hz"):
        DeployedPolicyConfig(rate_hz=0.0)
    assert DeployedPolicyConfig().ages == DEPLOYED_AGE_LIMITS


def test_provenance_from_the_notes():
    assert provenance("Placeholder checkpoint, not trained: random init") == "placeholder"
    assert provenance(f"{SCRIPTED_NOTE}: privileged") == "scripted"
    assert provenance("PPO, near-goal, iteration 446") == provenance("") == "learned"


def test_the_placeholder_loads_and_says_so(placeholder):
    policy = load_deployed(placeholder, "peg", DeployedPolicyConfig(), TERM_SOURCES)
    assert policy.provenance == "placeholder"
    level, message, values = policy_status(policy, "")
    assert (level, values["placeholder"], values["loaded"], values["active"]) == ("warn", True, True, False)
    assert "not trained" in message


def test_a_checkpoint_for_another_task_rate_or_kind_is_refused(placeholder):
    with pytest.raises(CheckpointError, match="task"):
        load_deployed(placeholder, "leg_twisting", DeployedPolicyConfig(), TERM_SOURCES)
    with pytest.raises(CheckpointError, match="policy_rate_hz|rate"):
        load_deployed(placeholder, "peg", DeployedPolicyConfig(rate_hz=20.0), TERM_SOURCES)
    with pytest.raises(CheckpointError, match="kind"):
        load_deployed(placeholder, "peg", DeployedPolicyConfig(kind="rgb"), TERM_SOURCES)


def test_terms_the_caller_cannot_produce_are_refused(placeholder):
    produced = set(TERM_SOURCES) - {"finger_travel"}
    with pytest.raises(CheckpointError, match="finger_travel"):
        load_deployed(placeholder, "peg", DeployedPolicyConfig(), produced)


def test_status_follows_the_session(placeholder):
    policy = load_deployed(placeholder.parent / "peg_scripted_reference.pt", "peg", DeployedPolicyConfig(),
                           TERM_SOURCES)
    session = policy.session
    assert policy_status(policy, "")[:2] == ("ok", f"loaded, inactive ({SCRIPTED_NOTE})")
    session.activate(0.0)
    assert policy_status(policy, "")[:2] == ("ok", f"active ({SCRIPTED_NOTE})")
    assert policy_status(policy, "")[2]["step_latency_p50_ms"] == "nan"
    session.tick(0.01, lambda now_s: time.sleep(0.002), False)  # an accepted step
    assert 2.0 <= float(policy_status(policy, "")[2]["step_latency_p50_ms"]) < 1000.0
    session.tick(0.05, lambda now_s: None, True)  # the runtime is not stepped while overridden
    assert policy_status(policy, "")[:2] == ("ok", "overridden by the supervisor")

    def robot_state_stale(now_s):
        raise StaleInputError("stale policy input: 'obs/joint_pos' 0.5 s old", ("obs/joint_pos",))

    session.tick(0.1, robot_state_stale, False)
    level, message, values = policy_status(policy, "")
    assert level == "warn" and message.startswith("no controller") and values["refused_inputs"] == "obs/joint_pos"

    def an_object_stale(now_s):
        raise StaleInputError("stale policy input: 'obs/insertive_pose_rcv' 0.5 s old", ("obs/insertive_pose_rcv",))

    session.tick(0.2, an_object_stale, False)
    assert policy_status(policy, "")[:2] == ("warn", "inputs refused: stale policy input: 'obs/insertive_pose_rcv' "
                                                     "0.5 s old")
    assert policy_status(policy, "")[2]["refusals"] == 2


def test_no_policy_is_an_error_with_the_reason():
    level, message, values = policy_status(None, "checkpoint file not found: x.pt")
    assert (level, values["loaded"], values["load_error"]) == ("error", False, "checkpoint file not found: x.pt")
    assert message == "no policy: checkpoint file not found: x.pt"
