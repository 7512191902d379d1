"""Steps the Isaac Lab env with the action term guarded: inside ``process_actions`` (policy step)
and ``apply_actions`` (every physics step) the project's code may not take a tensor off the env's
device (``.numpy()``, ``.cpu()``, ``.tolist()``, ``.item()``, ``np.asarray(tensor)``); Isaac Lab
and Warp, which hand CPU tensors to their kernels through ``__array__``, are not guarded. Run by
test_isaaclab_backend.py in a process of its own; prints ``STEPS <n>`` on success."""
import contextlib
import sys
from pathlib import Path

import gymnasium as gym
import torch
from isaaclab.app import launch_simulation

import omnireset_training
import omnireset_training.isaaclab  # noqa: F401  (registers the gym ids)
from omnireset_training.isaaclab import mdp
from omnireset_training.isaaclab.assets import build_usd_assets
from omnireset_training.isaaclab.env_cfg import OmniResetEnvCfg

LEAVING = ("numpy", "cpu", "tolist", "item", "__array__")
OURS = tuple(str(Path(m.__file__).resolve().parents[1]) for m in (omnireset_training,))


@contextlib.contextmanager
def on_device_only(where: str):
    saved = {name: getattr(torch.Tensor, name) for name in LEAVING}

    def refuse(name):
        def method(*args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(OURS) or "omnireset_core" in caller:
                raise AssertionError(f"{where}: Tensor.{name}() leaves the device ({caller}:{sys._getframe(1).f_lineno})")
            return saved[name](*args, **kwargs)
        return method

    for name in LEAVING:
        setattr(torch.Tensor, name, refuse(name))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)


def guarded(method, where):
    def run(self, *args, **kwargs):
        with on_device_only(where):
            return method(self, *args, **kwargs)
    return run


def main() -> None:
    mdp.OscAction.process_actions = guarded(mdp.OscAction.process_actions, "process_actions")
    mdp.OscAction.apply_actions = guarded(mdp.OscAction.apply_actions, "apply_actions")
    build_usd_assets()
    cfg = OmniResetEnvCfg(num_envs=2, resets="toy:8")
    with launch_simulation(cfg):
        env = gym.make("OmniReset-Peg-v0", cfg=cfg)
        env.reset()
        device = env.unwrapped.device
        steps = 3
        for _ in range(steps):
            env.step(0.3 * torch.randn(2, 7, device=device))
        env.close()
    print(f"STEPS {steps}")


if __name__ == "__main__":
    sys.exit(main())
