"""Success of a deployment checkpoint (state expert or RGB student) in the MuJoCo env, through
the deployment runtime: one ``PolicyRuntime`` per world (history, feature stacks, input checks
as on the robot), fed the world's measured state and, for a student, its rendered cameras.
Expert and student evaluated with the same ``seed`` draw the same reset states (in the same
order while their episodes end at the same steps). A step's frames show that step's state: the
deployed delay of the camera pipeline is not modelled.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from omnireset_core.policy.runtime import InputAgeLimits, PolicyRuntime, read_checkpoint
from omnireset_core.spec.terms import term_value
from omnireset_training.distill.cameras import WorldCameras
from omnireset_training.distill.rollouts import RolloutConfig
from omnireset_training.reset_source import ResetSource

# Every input is read at the step it is used (stamp = now): no age can be exceeded here.
FRESH = InputAgeLimits(observation_s=1.0, frame_s=1.0, ee_pose_s=1.0)


def evaluate_checkpoint(checkpoint: str | Path, resets: ResetSource, episodes: int, cfg: RolloutConfig,
                        progress: bool = True) -> dict:
    """{'success': rate, 'episodes', 'kind', 'step_ms_p50', 'step_ms_p99'} over the first
    ``episodes`` episodes to end (``cfg``: worlds, reset mix, episode length, cameras' jitter)."""
    from omnireset_training.mujoco_env import OmniResetEnv

    module, metadata = read_checkpoint(checkpoint)
    if metadata.task != cfg.task:
        raise ValueError(f"{checkpoint} is a policy for task {metadata.task!r}, not {cfg.task!r}")
    env = OmniResetEnv(replace(cfg.env_config(), action=metadata.action, gains=metadata.gains), resets)
    n = cfg.num_envs
    runtimes = [PolicyRuntime(module, metadata, FRESH) for _ in range(n)]
    vision = metadata.vision
    cams = None
    if vision is not None:
        cams = WorldCameras(env.physics, vision.cameras, vision.image_hw, cfg.camera_jitter, seed=cfg.seed)
        for i in range(n):
            cams.draw(i)
    outcomes: list[bool] = []
    step_ms: list[float] = []
    tick = 0
    bar = tqdm(total=episodes, desc=f"evaluating {Path(checkpoint).name}", unit="ep", disable=not progress)
    try:
        while len(outcomes) < episodes:
            s = env._state
            sources = {"joints": s.q_arm_rad, "fingers": s.finger_travel_m, "ee": (s.tcp_pos_b_m, s.tcp_quat_b_wxyz),
                       "insertive": (s.insertive_pos_b_m, s.insertive_quat_b),
                       "receptive": (s.receptive_pos_b_m, s.receptive_quat_b)}
            terms = {t.name: term_value(t.name, sources).numpy() for t in runtimes[0].caller_terms}
            now_s = tick * env.cfg.step_dt_s  # one clock for every world's stamps
            tick += 1
            actions = torch.zeros(n, 7, dtype=torch.float64)
            for i, runtime in enumerate(runtimes):
                frames = None
                if cams is not None:
                    frames = {c: (now_s, img) for c, img in zip(cams.names, cams.render(i))}
                t0 = time.perf_counter()
                command = runtime.step(now_s, {k: (now_s, v[i]) for k, v in terms.items()}, frames,
                                       s.tcp_pos_b_m[i].numpy(), s.tcp_quat_b_wxyz[i].numpy(), now_s)
                step_ms.append(1e3 * (time.perf_counter() - t0))
                actions[i] = torch.from_numpy(command.action)
            _, _, dones, extras = env.step(actions)
            for i in torch.nonzero(dones).flatten().tolist():
                runtimes[i].reset()
                if cams is not None:
                    cams.draw(i)
                if len(outcomes) < episodes:
                    outcomes.append(bool(extras["success"][i]))
                    bar.update(1)
    finally:
        bar.close()
        if cams is not None:
            cams.close()
        env.close()
    p50, p99 = np.percentile(step_ms, [50, 99])
    return {"checkpoint": str(checkpoint), "kind": metadata.kind, "episodes": episodes,
            "success": float(np.mean(outcomes)), "step_ms_p50": float(p50), "step_ms_p99": float(p99),
            "reset_mix": cfg.reset_mix, "seed": cfg.seed}
