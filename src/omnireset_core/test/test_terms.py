import math

import numpy as np
import pytest

from omnireset_core.rotations import quat_to_rotvec, rotvec_to_quat
from omnireset_core.spec import default_actor_observation
from omnireset_core.spec.terms import TERM_SOURCES, term_value


def sources(rng, n=None):
    shape = () if n is None else (n,)
    quat = lambda: rotvec_to_quat(rng.normal(scale=0.5, size=shape + (3,)))  # noqa: E731
    return {"joints": rng.normal(size=shape + (6,)), "fingers": rng.uniform(0, 0.04, size=shape),
            "ee": (rng.normal(size=shape + (3,)), quat()), "insertive": (rng.normal(size=shape + (3,)), quat()),
            "receptive": (rng.normal(size=shape + (3,)), quat())}


def test_every_contract_term_but_the_fed_back_action_has_a_value_of_its_dimension():
    src = sources(np.random.default_rng(0))
    for term in default_actor_observation().terms:
        if term.name == "last_action":
            assert term.name not in TERM_SOURCES
            continue
        assert term_value(term.name, src).shape == (term.dim,)
    with pytest.raises(ValueError, match="no implementation"):
        term_value("peg_velocity", src)


def test_a_pose_term_is_the_thing_in_the_frame_of_the_first_source():
    yaw = lambda a: np.array([math.cos(a / 2), 0.0, 0.0, math.sin(a / 2)])  # noqa: E731
    src = {"ee": (np.array([1.0, 0.0, 0.0]), yaw(math.pi / 2)), "insertive": (np.array([1.0, 1.0, 0.0]), yaw(0.0)),
           "receptive": (np.zeros(3), yaw(0.3))}
    np.testing.assert_allclose(term_value("insertive_pose_ee", src), [1.0, 0.0, 0.0, 0.0, 0.0, -math.pi / 2], atol=1e-12)
    np.testing.assert_allclose(term_value("insertive_pose_rcv", src)[3:], quat_to_rotvec(yaw(-0.3)), atol=1e-12)


def test_numpy_one_robot_and_torch_batch_agree():
    torch = pytest.importorskip("torch")
    batch = sources(np.random.default_rng(1), 5)
    batch_t = {k: tuple(torch.as_tensor(x) for x in v) if isinstance(v, tuple) else torch.as_tensor(v)
               for k, v in batch.items()}
    for name in TERM_SOURCES:
        values_t = term_value(name, batch_t).numpy()
        for i in range(5):
            one = {k: tuple(x[i] for x in v) if isinstance(v, tuple) else v[i] for k, v in batch.items()}
            np.testing.assert_allclose(term_value(name, one), values_t[i], atol=1e-12, err_msg=name)
