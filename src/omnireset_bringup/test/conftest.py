"""Makes the package importable from a plain source checkout (colcon test uses the installed one)."""
import importlib.util
import os
import sys
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

if importlib.util.find_spec("omnireset_bringup") is None:
    sys.path.insert(0, str(PACKAGE_ROOT))
    # Child processes started by the tests (python -m omnireset_bringup...) find it too.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
os.environ.setdefault("MUJOCO_GL", "egl")
