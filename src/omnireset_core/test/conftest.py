"""Shared fixtures of the core tests."""
from pathlib import Path

import pytest

CHECKPOINTS = Path(__file__).resolve().parents[3] / "checkpoints"


@pytest.fixture
def placeholder():
    """The bundled untrained placeholder checkpoint (torch single-threaded, as a node runs it)."""
    torch = pytest.importorskip("torch")
    path = CHECKPOINTS / "peg_state_placeholder.pt"
    if not path.is_file():
        pytest.skip("the bundled checkpoint is not in this tree")
    torch.set_num_threads(1)
    return path
