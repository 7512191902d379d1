"""No process outlives the one that started it: the Linux parent-death signal."""
from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> bool:
    """Linux: the kernel sends ``sig`` to this process when its parent dies, even by SIGKILL. Kept
    across exec, so a launcher can call it in ``preexec_fn`` and leave the child no window to miss it.
    Returns False if ``parent_pid`` is no longer the parent (it died before the call)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
    return os.getppid() == parent_pid
