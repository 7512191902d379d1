"""PolicySession on a real TorchScript checkpoint (the bundled placeholder), no ROS."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from omnireset_core.policy import ExpectedSpec, PolicyRuntime, StaleInputError  # noqa: E402
from omnireset_core.policy.session import PolicySession, SessionLimits  # noqa: E402

EE_POS_B, EE_QUAT_B = np.array([0.45, 0.05, 0.3]), np.array([0.0, 1.0, 0.0, 0.0])
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")


@pytest.fixture
def session(placeholder):
    runtime = PolicyRuntime.load(placeholder, ExpectedSpec.state("peg"))
    return PolicySession(runtime, SessionLimits(history_reset_gap_s=0.3, deactivate_after_s=1.0))


class Inputs:
    """The step a node would run: fresh samples, or refused as stale while ``stale``."""

    def __init__(self, session):
        self.runtime, self.stale, self.calls = session.runtime, False, 0

    def __call__(self, now_s):
        self.calls += 1
        if self.stale:
            raise StaleInputError("stale policy input: 'obs/joint_pos' 0.5 s old", ("obs/joint_pos",))
        obs = {t.name: (now_s, np.full(t.dim, 0.01)) for t in self.runtime.caller_terms}
        return self.runtime.step(now_s, obs, None, EE_POS_B, EE_QUAT_B, now_s)


def run(session, inputs, start_s, seconds, override=False):
    results = [session.tick(start_s + 0.1 * k, inputs, override) for k in range(int(round(seconds / 0.1)))]
    return results, start_s + seconds


def texts(results):
    return [n.text for r in results for n in r.notices]


def test_inactive_steps_without_commanding_until_activated(session):
    inputs = Inputs(session)
    results, t = run(session, inputs, 0.0, 0.5)
    assert inputs.calls == 5 and all(r.command is None for r in results)
    session.activate(t)
    results, t = run(session, inputs, t, 0.3)
    assert all(r.command is not None and np.all(np.isfinite(r.command.target_pos_b_m)) for r in results)


def test_a_short_refusal_keeps_the_history_a_longer_one_resets_it(session):
    inputs = Inputs(session)
    session.activate(0.0)
    _, t = run(session, inputs, 0.0, 0.5)
    inputs.stale = True
    refused, t = run(session, inputs, t, 0.2)
    assert [r.changed for r in refused] == [True, False]  # reported once, when it starts
    assert refused[0].notices[0].level == "warn" and all(r.command is None for r in refused)
    inputs.stale = False
    back, t = run(session, inputs, t, 0.1)
    assert "history kept" in texts(back)[0] and back[0].command is not None and back[0].changed
    inputs.stale = True
    _, t = run(session, inputs, t, 0.5)
    inputs.stale = False
    back, t = run(session, inputs, t, 0.1)
    assert "history reset" in texts(back)[0]
    assert session.refusals == 7 and session.refusal is None and "0.5 s old" in session.last_refusal


def test_an_outage_after_commanding_deactivates_a_slow_start_does_not(session):
    inputs = Inputs(session)
    inputs.stale = True
    session.activate(0.0)
    results, t = run(session, inputs, 0.0, 2.0)  # refused from activation on: a slow start
    assert session.active and not any(n.level == "error" for r in results for n in r.notices)
    inputs.stale = False
    _, t = run(session, inputs, t, 0.3)
    inputs.stale = True
    results, t = run(session, inputs, t, 1.5)
    assert not session.active
    errors = [n.text for r in results for n in r.notices if n.level == "error"]
    assert len(errors) == 1 and "deactivated" in errors[0]
    inputs.stale = False
    results, t = run(session, inputs, t, 0.3)  # inputs back: still inactive until activated
    assert all(r.command is None for r in results)


def test_an_override_stops_stepping_and_ends_with_a_reset_history(session):
    inputs = Inputs(session)
    session.activate(0.0)
    _, t = run(session, inputs, 0.0, 0.5)
    calls = inputs.calls
    held, t = run(session, inputs, t, 0.5, override=True)
    assert inputs.calls == calls and all(r.command is None for r in held) and session.overridden
    assert texts(held) == ["supervisor override: no targets, the controller holds"]
    after, t = run(session, inputs, t, 0.1)
    assert after[0].command is not None and "resuming from a reset history" in texts(after)[0]
    history = session.runtime.history
    assert np.allclose(history[0], history[-1])  # first-sample padding: a fresh history


def test_limits_are_checked():
    with pytest.raises(ValueError, match="deactivate_after_s"):
        SessionLimits(deactivate_after_s=0.0)
