import os
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported anywhere

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture(scope="session")
def config_dir() -> Path:
    assert (REPO_CONFIG / "cell.yaml").is_file(), REPO_CONFIG
    return REPO_CONFIG
