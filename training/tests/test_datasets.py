"""Reset-dataset format: round trip, manifest, checksums, corruption, atomic writes, resume."""
import json
import os

import numpy as np
import pytest

from omnireset_core import files
from omnireset_training import datasets
from omnireset_training.datasets import ResetDataset


def shard_arrays(n: int, rng: np.random.Generator, with_fingers: bool = True) -> dict:
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    out = {
        "q_arm_rad": rng.uniform(-3, 3, (n, 6)),
        "gripper_closed": rng.random(n) < 0.5,
        "insertive_pose_b": np.concatenate((rng.uniform(0, 0.5, (n, 3)), quat), 1),
        "receptive_pose_b": np.tile([0.45, -0.1, 0.0, 1.0, 0.0, 0.0, 0.0], (n, 1)),
    }
    if with_fingers:
        out["finger_travel_m"] = rng.uniform(0, 0.0425, n)
    return out


def make_dataset(folder, counts=None, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    datasets.open_dataset_folder(folder, task="peg", seed=seed, generator_config={"states_per_type": 10, "a": 1})
    written = {}
    for reset_type, sizes in (counts or {"reaching": (4, 3), "near_goal": (5,)}).items():
        for i, n in enumerate(sizes):
            arrays = shard_arrays(n, rng)
            datasets.write_shard(folder, reset_type, i, arrays)
            written[(reset_type, i)] = arrays
    return written


def test_round_trip_counts_and_sampling(tmp_path):
    written = make_dataset(tmp_path)
    ds = ResetDataset.load(tmp_path)
    assert ds.counts == {"reaching": 7, "near_object": 0, "stable_grasp": 0, "near_goal": 5}
    reaching = ds.arrays("reaching")
    expected = np.concatenate([written[("reaching", 0)]["q_arm_rad"], written[("reaching", 1)]["q_arm_rad"]])
    np.testing.assert_array_equal(reaching["q_arm_rad"], expected)
    a = ds.sample("reaching", 32, np.random.default_rng(1))
    b = ds.sample("reaching", 32, np.random.default_rng(1))
    assert a["q_arm_rad"].shape == (32, 6) and a["q_arm_rad"].dtype == np.float64
    assert a["gripper_closed"].dtype == np.bool_ and a["insertive_pose_b"].shape == (32, 7)
    assert a["finger_travel_m"].shape == (32,)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    # every sampled row is a stored row
    rows = {tuple(r) for r in reaching["q_arm_rad"]}
    assert all(tuple(r) in rows for r in a["q_arm_rad"])
    with pytest.raises(ValueError, match="no stable_grasp states"):
        ds.sample("stable_grasp", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown reset type"):
        ds.sample("flying", 1, np.random.default_rng(0))


def test_manifest_records_config_versions_counts_and_checksums(tmp_path):
    make_dataset(tmp_path)
    manifest = json.loads((tmp_path / datasets.MANIFEST_NAME).read_text())
    assert manifest["format"] == datasets.FORMAT_NAME and manifest["format_version"] == datasets.FORMAT_VERSION
    assert manifest["generator_config"] == {"states_per_type": 10, "a": 1}
    assert manifest["seed"] == 0 and manifest["task"] == "peg" and manifest["created_utc"]
    assert manifest["software"]["numpy"] == np.__version__ and "mujoco" in manifest["software"]
    assert manifest["counts"]["reaching"] == 7 and manifest["counts"]["near_goal"] == 5
    assert set(manifest["shards"]) == {"reaching_00000.npz", "reaching_00001.npz", "near_goal_00000.npz"}
    for name, entry in manifest["shards"].items():
        assert entry["sha256"] == files.sha256_file(tmp_path / name)


def test_aux_files_round_trip(tmp_path):
    make_dataset(tmp_path)
    grasps = np.tile([0.0, 0.0, 0.06, 0.0, 1.0, 0.0, 0.0], (3, 1))
    datasets.write_aux_file(tmp_path, datasets.GRASPS_FILE, {"tcp_pose_obj": grasps}, {"seconds": 1.0})
    assert datasets.aux_file_intact(tmp_path, datasets.GRASPS_FILE)
    ds = ResetDataset.load(tmp_path)
    np.testing.assert_array_equal(ds.grasps, grasps)
    assert ds.partial_assemblies is None
    with pytest.raises(ValueError, match="insertive_pose_rcv"):
        datasets.write_aux_file(tmp_path, datasets.PARTIAL_ASSEMBLIES_FILE, {"tcp_pose_obj": grasps})


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "delete", "garbage_with_matching_sha"])
def test_corruption_is_a_clear_error_naming_the_file(tmp_path, damage):
    make_dataset(tmp_path)
    path = tmp_path / "reaching_00001.npz"
    data = path.read_bytes()
    if damage == "flip_byte":
        path.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "delete":
        path.unlink()
    else:
        garbage = b"not an npz at all"
        path.write_bytes(garbage)
        manifest = datasets.read_manifest(tmp_path)
        manifest["shards"]["reaching_00001.npz"]["sha256"] = files.sha256_bytes(garbage)
        datasets.write_manifest(tmp_path, manifest)
    with pytest.raises(ValueError, match="reaching_00001.npz"):
        ResetDataset.load(tmp_path)
    assert 1 not in datasets.complete_shards(tmp_path, "reaching")
    assert 0 in datasets.complete_shards(tmp_path, "reaching")


def test_bad_manifest_and_row_count_mismatch(tmp_path):
    with pytest.raises(ValueError, match="manifest.json is missing"):
        ResetDataset.load(tmp_path)
    make_dataset(tmp_path)
    manifest = datasets.read_manifest(tmp_path)
    manifest["shards"]["near_goal_00000.npz"]["count"] = 6
    (tmp_path / datasets.MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="near_goal_00000.npz has 5 rows"):
        ResetDataset.load(tmp_path)
    (tmp_path / datasets.MANIFEST_NAME).write_text("{broken")
    with pytest.raises(ValueError, match="not readable JSON"):
        ResetDataset.load(tmp_path)


@pytest.mark.parametrize("change,match", [
    (lambda a: a.update(q_arm_rad=a["q_arm_rad"][:, :5]), "q_arm_rad must be"),
    (lambda a: a.update(gripper_closed=a["gripper_closed"].astype(np.int8)), "gripper_closed must be"),
    (lambda a: a.update(receptive_pose_b=a["receptive_pose_b"] * 2), "quaternions must be unit"),
    (lambda a: a.update(insertive_pose_b=a["insertive_pose_b"][:2]), "rows"),
    (lambda a: a.pop("insertive_pose_b"), "missing"),
    (lambda a: a.update(extra=np.zeros(4)), "unexpected array"),
    (lambda a: a["q_arm_rad"].__setitem__((0, 0), np.nan), "non-finite"),
])
def test_write_shard_validates_arrays(tmp_path, change, match):
    datasets.open_dataset_folder(tmp_path, task="peg", seed=0, generator_config={})
    arrays = shard_arrays(4, np.random.default_rng(0))
    change(arrays)
    with pytest.raises(ValueError, match=match):
        datasets.write_shard(tmp_path, "reaching", 0, arrays)
    assert not (tmp_path / "reaching_00000.npz").exists()


def test_atomic_write_leaves_old_file_and_no_temporary_on_failure(tmp_path, monkeypatch):
    make_dataset(tmp_path)
    before = (tmp_path / "reaching_00000.npz").read_bytes()

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        datasets.write_shard(tmp_path, "reaching", 0, shard_arrays(9, np.random.default_rng(5)))
    monkeypatch.undo()
    assert (tmp_path / "reaching_00000.npz").read_bytes() == before
    assert not list(tmp_path.glob(".*tmp*"))
    assert ResetDataset.load(tmp_path).counts["reaching"] == 7


def test_unlisted_shard_is_not_complete_and_stale_temporaries_are_removed(tmp_path):
    make_dataset(tmp_path)
    # a shard written but killed before the manifest update
    files.atomic_write_bytes(tmp_path / "reaching_00002.npz", (tmp_path / "reaching_00000.npz").read_bytes())
    (tmp_path / ".reaching_00003.npz.tmp.123.abc").write_bytes(b"partial")
    assert set(datasets.complete_shards(tmp_path, "reaching")) == {0, 1}
    datasets.open_dataset_folder(tmp_path, task="peg", seed=0, generator_config={"states_per_type": 99, "a": 1})
    assert not list(tmp_path.glob(".*tmp*"))
    assert ResetDataset.load(tmp_path).counts["reaching"] == 7


def test_reopening_with_another_config_is_refused_unless_overwrite(tmp_path):
    make_dataset(tmp_path)
    with pytest.raises(ValueError, match="different config.*a"):
        datasets.open_dataset_folder(tmp_path, task="peg", seed=0, generator_config={"states_per_type": 10, "a": 2})
    with pytest.raises(ValueError, match="different config"):
        datasets.open_dataset_folder(tmp_path, task="peg", seed=1, generator_config={"states_per_type": 10, "a": 1})
    datasets.open_dataset_folder(tmp_path, task="peg", seed=0, generator_config={"a": 2}, overwrite=True)
    assert ResetDataset.load(tmp_path).counts["reaching"] == 0
    assert not (tmp_path / "reaching_00000.npz").exists()


def test_is_complete_follows_targets(tmp_path):
    make_dataset(tmp_path)
    datasets.set_targets(tmp_path, {"reaching": 7})
    assert ResetDataset.load(tmp_path).is_complete
    datasets.set_targets(tmp_path, {"reaching": 7, "near_goal": 6})
    assert not ResetDataset.load(tmp_path).is_complete
