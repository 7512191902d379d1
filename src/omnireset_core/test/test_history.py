"""push_history: oldest first, first-sample padding on restart, per row, numpy and torch alike."""
import numpy as np
import pytest

from omnireset_core.spec.history import push_history


def test_appends_newest_last_and_drops_the_oldest():
    stack = np.arange(6.0).reshape(3, 2)  # 3 steps of 2
    out = push_history(stack, np.array([10.0, 11.0]), False)
    np.testing.assert_array_equal(out, [[2, 3], [4, 5], [10, 11]])
    np.testing.assert_array_equal(stack, np.arange(6.0).reshape(3, 2))  # a new array


def test_a_restart_fills_every_slot_with_the_first_sample():
    out = push_history(np.zeros((4, 3)), np.array([1.0, 2.0, 3.0]), True)
    np.testing.assert_array_equal(out, np.tile([1.0, 2.0, 3.0], (4, 1)))


def test_restart_per_row_and_torch_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    stack, newest = rng.normal(size=(5, 3, 2)), rng.normal(size=(5, 2))
    restart = np.array([False, True, False, False, True])
    out = push_history(stack, newest, restart)
    for i in range(5):
        want = np.tile(newest[i], (3, 1)) if restart[i] else np.vstack((stack[i, 1:], newest[i]))
        np.testing.assert_array_equal(out[i], want)
    got = push_history(torch.as_tensor(stack), torch.as_tensor(newest), torch.as_tensor(restart))
    np.testing.assert_array_equal(got.numpy(), out)
    half = push_history(torch.zeros(5, 3, 2, dtype=torch.float32), torch.as_tensor(newest), torch.as_tensor(restart))
    assert half.dtype == torch.float32  # the stack's dtype
