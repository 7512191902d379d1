"""The RGB student pipeline at toy scale on real components: MuJoCo rollouts rendered by the
cell's cameras, the on-disk rollout dataset, student training with resume, the TorchScript
export loaded by the deployment runtime, and the evaluation through that runtime."""
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from omnireset_core.policy import ExpectedSpec, PolicyRuntime
from omnireset_core.policy.metadata import VisionSpec
from omnireset_core.policy.vision import ResNet18GN
from omnireset_training.cli import main as cli_main
from omnireset_training.distill.evaluate import FRESH, evaluate_checkpoint
from omnireset_training.distill.rollouts import RolloutConfig, RolloutDataset, collect_rollouts
from omnireset_training.distill.student import AugmentConfig, augment, gaussian_kl, load_imagenet_weights
from omnireset_training.distill.train import DistillConfig, Samples, cosine_learning_rate, split_episodes, train_student

REPO = Path(__file__).resolve().parents[2]
EXPERT = REPO / "checkpoints" / "peg_state_near_goal_cpu.pt"
PLACEHOLDER = REPO / "checkpoints" / "peg_state_placeholder.pt"
TOY = RolloutConfig(episodes=2, num_envs=2, image_hw=(32, 32), episode_length_s=1.0, keep_failed=True)
TOY_DISTILL = DistillConfig(iterations=3, batch_size=4, frames_per_camera=2, hidden=(32,), eval_interval=2,
                            save_interval=2)


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory, toy_resets):
    out = tmp_path_factory.mktemp("rollouts") / "data"
    collect_rollouts(EXPERT, toy_resets, out, TOY, progress=False)
    return out


@pytest.fixture(scope="module")
def student(tmp_path_factory, rollouts):
    out = tmp_path_factory.mktemp("student")
    return train_student(rollouts, out, TOY_DISTILL, progress=False)


# --- rollouts ------------------------------------------------------------------------------------
def test_rollout_dataset_holds_camera_frames_and_the_expert_gaussian(rollouts):
    data = RolloutDataset(rollouts)
    assert len(data) == 2 and data.cameras == ("front", "side", "wrist") and data.image_hw == (32, 32)
    m = data.manifest
    assert m["counts"]["episodes"] == 2 and m["counts"]["attempts"] >= 2
    assert m["expert"]["std"] == "constant 0.1"  # the shipped expert exports no action_std
    ep = data.episode(0)
    steps = len(ep["images"])
    assert ep["images"].shape == (steps, 3, 32, 32, 3) and ep["images"].dtype == np.uint8
    assert all(ep["images"][:, c].std() > 5 for c in range(3))  # real pictures, not blank buffers
    assert ep["actor_step"].shape == (steps, 38) and ep["object_pose_b"].shape == (steps, 12)
    assert np.allclose(ep["expert_std"], 0.1)
    # the insertive pose stored is the one the actor observation was built from (it moves when held)
    assert np.all(np.isfinite(ep["expert_mean"])) and np.abs(ep["object_pose_b"][:, :2]).max() < 1.0


def test_rollouts_resume_after_a_stop_and_refuse_another_config(rollouts, tmp_path, toy_resets):
    folder = tmp_path / "data"
    collect_rollouts(EXPERT, toy_resets, folder, replace(TOY, episodes=1), progress=False)
    first = json.loads((folder / "manifest.json").read_text())["episodes"]
    (folder / "episodes" / ".000001.npz.tmp.1.dead").write_bytes(b"partial")  # a killed writer's leftover
    collect_rollouts(EXPERT, toy_resets, folder, replace(TOY, episodes=2), progress=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert len(manifest["episodes"]) == 2 and all(manifest["episodes"][k] == v for k, v in first.items())
    assert not list((folder / "episodes").glob(".*.tmp.*"))
    with pytest.raises(ValueError, match="image_hw"):
        collect_rollouts(EXPERT, toy_resets, folder, replace(TOY, image_hw=(48, 48)), progress=False)


def test_a_corrupted_episode_file_is_named(rollouts, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(rollouts, copy)
    path = copy / RolloutDataset(copy).names[0]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        RolloutDataset(copy).episode(0)


def test_only_successful_episodes_are_kept_and_a_failing_expert_is_stopped(tmp_path, toy_resets):
    cfg = replace(TOY, episodes=1, keep_failed=False, reset_mix={"reaching": 1.0}, max_attempts_per_episode=2)
    with pytest.raises(RuntimeError, match="succeeded in 0 of 2"):
        collect_rollouts(PLACEHOLDER, toy_resets, tmp_path / "never", cfg, progress=False)
    kept = collect_rollouts(EXPERT, toy_resets, tmp_path / "kept", replace(cfg, reset_mix={"near_goal": 1.0},
                                                                          max_attempts_per_episode=40), progress=False)
    assert kept["counts"]["episodes"] == 1 and all(e["success"] for e in kept["episodes"].values())


# --- the student ---------------------------------------------------------------------------------
def test_gaussian_kl_matches_torch():
    g = torch.Generator().manual_seed(0)
    mp, sp = torch.randn(5, 7, generator=g), 0.1 + torch.rand(5, 7, generator=g)
    mq, lq = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g) * 0.5
    want = kl_divergence(Normal(mp, sp), Normal(mq, lq.exp())).sum(-1)
    assert torch.allclose(gaussian_kl(mp, sp, mq, lq), want, atol=1e-5)


def test_augmentations_draw_per_image_and_keep_the_format():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 24, 24), dtype=torch.uint8, generator=g)
    same = images[:1].expand(6, -1, -1, -1).contiguous()
    out = augment(same, AugmentConfig(), g)
    assert out.dtype == torch.uint8 and out.shape == same.shape
    assert len({o.float().sum().item() for o in out}) == 6  # six different draws of one picture
    assert torch.equal(augment(images, AugmentConfig(enabled=False)), images)
    gray = augment(images, AugmentConfig(grayscale_p=1.0, noise_std=0.0), g).int()
    assert (gray[:, 0] - gray[:, 1]).abs().max() <= 1 and (gray[:, 1] - gray[:, 2]).abs().max() <= 1
    smooth = AugmentConfig(brightness=0, contrast=0, saturation=0, hue=0, grayscale_p=0, noise_std=0,
                           blur_sigma=(2.0, 2.0))
    blurred = augment(images, smooth, g).float()
    assert blurred.diff(dim=-1).abs().mean() < 0.5 * images.float().diff(dim=-1).abs().mean()


def test_imagenet_weights_load_from_a_torchvision_layout(tmp_path):
    """Keys as torchvision's resnet18 names them (written out here from its published layout)."""
    encoder = ResNet18GN()
    state = {"conv1.weight": torch.randn(64, 3, 7, 7), "bn1.weight": torch.rand(64), "bn1.bias": torch.rand(64),
             "bn1.running_mean": torch.zeros(64), "fc.weight": torch.randn(1000, 512), "fc.bias": torch.zeros(1000)}
    c_in = 64
    for layer, c in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            p = f"layer{layer}.{block}"
            cin = c_in if block == 0 else c
            state[f"{p}.conv1.weight"] = torch.randn(c, cin, 3, 3)
            state[f"{p}.conv2.weight"] = torch.randn(c, c, 3, 3)
            for bn in ("bn1", "bn2"):
                state[f"{p}.{bn}.weight"], state[f"{p}.{bn}.bias"] = torch.rand(c), torch.rand(c)
            if block == 0 and layer > 1:
                state[f"{p}.downsample.0.weight"] = torch.randn(c, cin, 1, 1)
                state[f"{p}.downsample.1.weight"], state[f"{p}.downsample.1.bias"] = torch.rand(c), torch.rand(c)
        c_in = c
    torch.save(state, tmp_path / "resnet18.pth")
    assert load_imagenet_weights(encoder, tmp_path / "resnet18.pth") == len(list(encoder.parameters()))
    assert torch.equal(encoder.blocks[4].shortcut[0].weight, state["layer3.0.downsample.0.weight"])
    assert torch.equal(encoder.blocks[7].norm2.bias, state["layer4.1.bn2.bias"])
    del state["layer2.1.conv2.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="not a torchvision resnet18"):
        load_imagenet_weights(ResNet18GN(), tmp_path / "broken.pth")


def test_samples_pad_frame_and_proprio_history_with_the_episode_start(rollouts):
    data = RolloutDataset(rollouts)
    samples = Samples(data, [0, 1], replace(TOY_DISTILL, frames_per_camera=3))
    start = len(data.episode(0)["images"])  # first row of episode 1
    images, proprio, *_ = samples.batch(np.array([start, start + 1]))
    assert images.shape == (2, 3, 3, 3, 32, 32)
    raw = torch.from_numpy(data.episode(1)["images"]).permute(0, 1, 4, 2, 3)  # (T, C, 3, H, W)
    assert torch.equal(images[0, :, 0], raw[0]) and torch.equal(images[0, :, 2], raw[0])
    assert torch.equal(images[1, :, 1], raw[0]) and torch.equal(images[1, :, 2], raw[1])
    p = proprio.view(2, 5, -1)
    assert torch.equal(p[0, 0], p[0, 4]) and torch.equal(p[1, 3], p[0, 4])


def test_split_keeps_episodes_apart_and_cosine_schedule_ends_at_zero():
    train, val = split_episodes(10, 0.2, 0)
    assert len(val) == 2 and not set(train) & set(val) and sorted(train + val) == list(range(10))
    assert split_episodes(1, 0.2, 0) == ([0], [])
    cfg = replace(TOY_DISTILL, iterations=100)
    assert cosine_learning_rate(cfg, 0) == cfg.learning_rate and cosine_learning_rate(cfg, 100) == 0.0
    assert math.isclose(cosine_learning_rate(cfg, 50), cfg.learning_rate / 2)


def test_exported_student_gives_the_training_students_actions_in_the_runtime_step_by_step(rollouts, tmp_path):
    """Without last_action in the proprioception (the runtime feeds back its own action, the data
    the expert's), the runtime's inputs equal the training samples at every step, so any
    difference in frame stacking or history order shows: compare 6 steps (> frames, history)."""
    from omnireset_core.rotations import rotvec_to_quat
    from omnireset_training.distill.student import DistillStudent

    cfg = replace(TOY_DISTILL, proprio_terms=("joint_pos", "ee_pose_b"), iterations=2)
    path = train_student(rollouts, tmp_path / "run", cfg, progress=False)
    runtime = PolicyRuntime.load(path, ExpectedSpec.rgb(cfg.proprio_spec(), task="peg",
                                                        vision=VisionSpec(image_hw=(32, 32), frames_per_camera=2)), FRESH)
    assert runtime.metadata.notes.startswith("RGB student distilled from peg_state_near_goal_cpu.pt")
    model = DistillStudent(3, 2, cfg.proprio_spec().dim, cfg.hidden)
    model.load_state_dict(torch.load(str(tmp_path / "run" / "student_train.pt"), weights_only=False)["model"])
    model.eval()
    data = RolloutDataset(rollouts)
    ep, samples = data.episode(0), Samples(data, [0], cfg)
    for t in range(6):
        images, proprio, *_ = samples.batch(np.array([t]))
        with torch.no_grad():
            want = model(images, proprio)[0][0].double().numpy()
        step = ep["actor_step"][t]
        now_s = 0.1 * t
        obs = {"joint_pos": (now_s, step[7:13]), "ee_pose_b": (now_s, step[14:20])}
        frames = {c: (now_s, ep["images"][t, i]) for i, c in enumerate(data.cameras)}
        command = runtime.step(now_s, obs, frames, step[14:17], rotvec_to_quat(step[17:20]), now_s)
        assert np.allclose(command.action, want, atol=1e-5), t


def test_training_refuses_to_resume_on_other_rollouts(rollouts, tmp_path, toy_resets):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(rollouts, data)
    train_student(data, tmp_path / "run", replace(TOY_DISTILL, iterations=2), progress=False)
    collect_rollouts(EXPERT, toy_resets, data, replace(TOY, episodes=3), progress=False)
    with pytest.raises(ValueError, match="other rollouts"):
        train_student(data, tmp_path / "run", replace(TOY_DISTILL, iterations=4), resume=True, progress=False)


def test_training_resumes_to_the_total_and_refuses_to_overwrite(student, rollouts):
    run = student.parent
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [2, 3] and all(math.isfinite(r["val/kl"]) for r in rows)
    assert (run / "curves.png").stat().st_size > 10_000 and list((run / "tensorboard").iterdir())
    with pytest.raises(ValueError, match="already holds"):
        train_student(rollouts, run, TOY_DISTILL, progress=False)
    train_student(rollouts, run, replace(TOY_DISTILL, iterations=5), resume=True, progress=False)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [2, 3, 4, 5]
    assert torch.load(str(run / "student_train.pt"), weights_only=False)["iteration"] == 5
    with pytest.raises(ValueError, match="another config"):
        train_student(rollouts, run, replace(TOY_DISTILL, iterations=6, batch_size=2), resume=True, progress=False)


def test_expert_and_student_are_evaluated_from_the_same_starts(student, toy_resets):
    cfg = replace(TOY, episodes=2)
    expert = evaluate_checkpoint(EXPERT, toy_resets, 2, cfg, progress=False)
    rgb = evaluate_checkpoint(student, toy_resets, 2, cfg, progress=False)
    assert (expert["kind"], rgb["kind"]) == ("state", "rgb")
    assert expert["episodes"] == rgb["episodes"] == 2 and 0.0 <= rgb["success"] <= 1.0
    assert rgb["step_ms_p50"] > expert["step_ms_p50"]  # the student encodes three pictures per step


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert cli_main(["distill", str(tmp_path / "run"), "--data", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("omnireset-train: error:") and "manifest.json is missing" in err and "\n" not in err
    (tmp_path / "bad.yaml").write_text("augment: {blur: 3}\n")
    assert cli_main(["distill", str(tmp_path / "run"), "--data", str(tmp_path), "--config", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "distillation config" in err and "blur" in err and "\n" not in err
    (tmp_path / "jitter.yaml").write_text("camera_jitter: {pos: 0.1}\n")
    assert cli_main(["distill-rollouts", str(tmp_path / "out"), "--expert", str(EXPERT), "--config",
                     str(tmp_path / "jitter.yaml")]) == 2
    assert "pos" in capsys.readouterr().err
