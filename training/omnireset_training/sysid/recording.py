"""A chirp run through the core's 500 Hz control loop, recorded one row per tick in the core's
``Recording`` format (``omnireset_core.control.recording``)."""
from __future__ import annotations

import dataclasses

import numpy as np

from omnireset_core.control.chirp import ChirpConfig, chirp_targets
from omnireset_core.control.loop import ControlLoop, LoopMode
from omnireset_core.control.recording import ARRAYS, Recording


def record_chirp(loop: ControlLoop, chirp: ChirpConfig, source: str, wait=None) -> Recording:
    """Runs the chirp about the TCP pose of the first tick, one ``loop.tick()`` per period.

    ``wait``: called after each tick to pace it (the loop's ``pacer.wait`` on a robot); None for a
    lockstep twin, whose every tick advances the physics by one period. A safety stop or a refused
    target ends the run with ValueError: such a recording does not describe the free arm.
    """
    period_s = loop.pacer.period_s
    first = loop.tick()
    n = int(round(chirp.duration_s / period_s))
    t_s = period_s * np.arange(n)
    target_pos, target_quat = chirp_targets(t_s, first.tcp_pos_b_m, first.tcp_quat_b_wxyz, chirp)
    rows = {name: np.zeros((n, *shape)) for name, shape in ARRAYS.items()}
    if wait is not None:
        loop.pacer.start()
    for k in range(n):
        problem = loop.set_target(target_pos[k], target_quat[k])
        if problem is not None:
            raise ValueError(f"chirp target {k} refused: {problem}")
        status = loop.tick()
        if status.mode is not LoopMode.TRACKING:
            raise ValueError(f"chirp stopped at {t_s[k]:.3f} s: {status.reason}")
        for name, value in (("t_s", t_s[k]), ("q_rad", status.q_rad), ("qd_radps", status.qd_radps),
                            ("tau_Nm", status.tau_Nm), ("target_pos_b_m", target_pos[k]),
                            ("target_quat_b_wxyz", target_quat[k]), ("tcp_pos_b_m", status.tcp_pos_b_m)):
            rows[name][k] = value
        if wait is not None:
            wait()
    return Recording(rows, 1.0 / period_s, loop.gains, source, {"chirp": dataclasses.asdict(chirp)})
