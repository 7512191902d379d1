"""Reset generation: geometry helpers, validity checks on constructed states, grasps, partial
assemblies, a tiny end-to-end dataset and resuming after a kill."""
import math

import mujoco
import numpy as np
import pytest

from omnireset_core.kinematics.ik import solve_ik_batch
from omnireset_core.kinematics.ur import UR7E, URKinematics
from omnireset_core.tasks import is_assembled, load_task
from omnireset_sim.assets import robotiq
from omnireset_sim.assets.objects import hole_geometry
from omnireset_sim.config import CellConfig
from omnireset_training import datasets
from omnireset_training.resets import physics as P
from omnireset_training.resets.config import (
    GraspSettings,
    PartialAssemblySettings,
    PhysicsSettings,
    ResetGenerationConfig,
    config_from_dict,
    load_config,
)
from omnireset_training.resets.generate import (
    Candidates,
    ResetGenerator,
    check_states,
    generate_resets,
    reaching_tcp_quats,
)
from omnireset_training.resets.grasps import FloatingGripper, evaluate_grasps, sample_grasps
from omnireset_training.resets.partial_assemblies import AssemblyModel, boxes_overlap, generate_partial_assemblies

CELL = CellConfig()
TASK = load_task("peg")
DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # tcp z = -z_b
HOLE = np.array([0.45, -0.1, 0.0, 1.0, 0.0, 0.0, 0.0])


@pytest.fixture(scope="module")
def generator():
    gen = ResetGenerator(ResetGenerationConfig(), CELL, TASK)
    yield gen
    gen.close()


# --- helpers ----------------------------------------------------------------------------------
def test_config_defaults_are_the_reference_values_and_bad_values_are_named(tmp_path):
    cfg = ResetGenerationConfig()
    assert cfg.states_per_type == 10_000 and cfg.grasps.target_count == 1000
    assert cfg.validity.max_robot_insertive_penetration_m == 5e-4
    assert math.isclose(cfg.validity.max_tilt_from_down_rad, math.radians(60))
    assert (cfg.near_object.max_drift_m, cfg.stable_grasp.max_drift_m, cfg.near_goal.max_drift_m) == (0.01, 0.05, 0.025)
    assert cfg.reaching.max_drift_m is None and cfg.near_goal.assembled_threshold_scale == 1.5
    with pytest.raises(ValueError, match="ReachingSettings.ee_x_m"):
        config_from_dict({"reaching": {"ee_x_m": [0.7, 0.3]}})
    with pytest.raises(ValueError, match="unknown field"):
        config_from_dict({"physics": {"timestep": 0.002}})
    path = tmp_path / "c.yaml"
    path.write_text("states_per_type: 5\nnear_goal: {assembled_fraction: 0.25}\n")
    loaded = load_config(path)
    assert loaded.states_per_type == 5 and loaded.near_goal.assembled_fraction == 0.25


def test_state_layout_matches_mujoco(generator):
    phys = generator.physics
    m, d = phys.model, mujoco.MjData(phys.model)
    d.qpos[:] = np.arange(m.nq) * 0.01 + 0.1
    d.qvel[:] = np.arange(m.nv) * -0.02
    d.time = 1.5
    state = np.empty(phys.state_size)
    mujoco.mj_getState(m, d, state, P.STATE_SPEC)
    np.testing.assert_array_equal(state[phys.qpos_slice], d.qpos)
    np.testing.assert_array_equal(state[phys.qvel_slice], d.qvel)
    assert state[phys.time_slice][0] == 1.5


def test_pose_helpers_and_reaching_orientation():
    rng = np.random.default_rng(0)
    a = np.concatenate((rng.normal(size=(5, 3)), P.random_quats(rng, 5)), 1)
    b = np.concatenate((rng.normal(size=(5, 3)), P.random_quats(rng, 5)), 1)
    back = P.compose(P.invert(a), P.compose(a, b))
    np.testing.assert_allclose(back[:, :3], b[:, :3], atol=1e-12)
    assert np.all(P.quat_angle(back[:, 3:], b[:, 3:]) < 1e-6)
    q = reaching_tcp_quats(np.array([math.pi / 2, math.pi / 4]), np.array([math.pi, math.pi]))
    np.testing.assert_allclose(np.abs(q[0]), DOWN, atol=1e-12)  # (pi/2, pi): (x_b, -y_b, -z_b)
    cos = P.tcp_down_cosine(np.concatenate((np.zeros((2, 3)), q), 1))
    np.testing.assert_allclose(cos, [1.0, math.cos(math.pi / 4)], atol=1e-12)
    cone = P.down_quats_within(rng, 200, math.radians(60))
    assert np.all(P.tcp_down_cosine(np.concatenate((np.zeros((200, 3)), cone), 1)) >= 0.5 - 1e-12)


def test_batched_ik_reaches_targets_and_flags_unreachable(generator):
    kin = generator.physics.kinematics
    targets = np.array([[0.45, 0.15, 0.25, *DOWN], [0.6, -0.3, 0.05, *DOWN], [2.0, 0.0, 0.2, *DOWN]])
    q, ok = solve_ik_batch(kin, targets, P.ik_seeds(CELL.arm.home_q_rad, np.random.default_rng(0)))
    assert ok.tolist() == [True, True, False]
    T = kin.tcp_pose(q[:2])
    np.testing.assert_allclose(T[:, :3, 3], targets[:2, :3], atol=1e-6)


def test_finger_contact_travel_stops_at_the_object(generator):
    shape = generator.physics.insertive_shape
    tcp = np.tile([0.45, 0.1, 0.06, *DOWN], (3, 1))
    peg = np.tile([0.45, 0.1, 0.0, 1.0, 0.0, 0.0, 0.0], (3, 1))
    peg[1, 1] += 0.003  # off centre: the nearer pad touches first
    peg[2, 0] += 0.2  # nothing between the pads
    travel = P.finger_contact_travel(tcp, shape, peg)
    half_gap, half_side = robotiq.GRIPPER_STROKE_M / 2, CELL.peg.side_m / 2
    np.testing.assert_allclose(travel, [half_gap - half_side, half_gap - half_side - 0.003, robotiq.FINGER_TRAVEL_M],
                               atol=1e-9)


def test_separating_axis_overlap():
    eye = np.tile(np.eye(3), (4, 1, 1))
    half = np.array([0.01, 0.01, 0.04])
    c2 = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.079], [0.0, 0.0, 0.081], [0.021, 0.0, 0.0]])
    assert boxes_overlap(np.zeros((4, 3)), eye, half, c2, eye, half).tolist() == [True, True, False, False]
    tilted = np.tile(P.quat_to_matrix(P.yaw_quats(np.pi / 4)), (1, 1, 1))
    assert boxes_overlap(np.zeros((1, 3)), eye[:1], half, np.array([[0.0235, 0.0, 0.0]]), tilted, half)[0]


# --- validity checks on constructed states ------------------------------------------------------
def _state(gen, tcp_pose, peg_pose, hole_pose=HOLE, closed=False):
    phys = gen.physics
    q, ok = solve_ik_batch(phys.kinematics, tcp_pose[None], CELL.arm.home_q_rad)
    assert ok[0]
    travel = np.zeros(1)
    states = phys.initial_states(q, travel, np.asarray(peg_pose, dtype=float)[None])
    controls = phys.controls(q, np.array([closed]), np.asarray(hole_pose, dtype=float)[None])
    return states, controls


def _pad_pose(gen, states, controls):
    m = gen.physics.model
    d = mujoco.MjData(m)
    mujoco.mj_setState(m, d, states[0], P.STATE_SPEC)
    mujoco.mj_setState(m, d, controls[0], P.CONTROL_SPEC)
    mujoco.mj_forward(m, d)
    pad = m.geom(robotiq.PAD_GEOMS[0]).id
    return d.geom_xpos[pad].copy(), d.geom_xmat[pad].reshape(3, 3).copy()


def _checks(gen, reset_type, spawn, final, controls, window=None, elapsed_s=None):
    """Checks of ``final`` as if reached after the configured settle time."""
    phys = gen.physics
    final = final.copy()
    final[:, phys.time_slice] = spawn[:, phys.time_slice] + (gen.config.physics.settle_s if elapsed_s is None
                                                              else elapsed_s)
    window = np.repeat(final[:, None], 5, axis=1) if window is None else window
    return check_states(gen, reset_type, spawn, final, window, controls)


GOOD_TCP = np.array([0.45, 0.15, 0.25, *DOWN])
GOOD_PEG = np.array([0.35, 0.3, 0.0, 1.0, 0.0, 0.0, 0.0])  # standing on the table


def test_a_resting_state_passes_every_check(generator):
    states, controls = _state(generator, GOOD_TCP, GOOD_PEG)
    checks = _checks(generator, "near_object", states, states, controls)
    assert all(bool(v[0]) for v in checks.values()), checks


def _failed(checks) -> set[str]:
    return {name for name, mask in checks.items() if not mask[0]}


def test_each_bad_state_fails_its_check(generator):
    phys = generator.physics
    states, controls = _state(generator, GOOD_TCP, GOOD_PEG)

    # a diverged simulation restarts (clock behind) or holds NaNs
    assert _failed(_checks(generator, "reaching", states, states, controls, elapsed_s=0.5)) == {"finite"}
    nan = states.copy()
    nan[0, phys.qvel_slice.start] = np.nan
    assert "finite" in _failed(_checks(generator, "reaching", states, nan, controls))

    fast = states.copy()
    fast[0, phys.qvel_slice.start + phys.twin.arm_dof_adr[0]] = 7.0  # > 2 x pi rad/s
    assert {"joint_speed", "still"} <= _failed(_checks(generator, "reaching", states, fast, controls))

    sideways = np.r_[0.55, 0.1, 0.3, reaching_tcp_quats(np.array([0.0]), np.array([0.0]))[0]]
    s, c = _state(generator, sideways, GOOD_PEG)
    assert _failed(_checks(generator, "reaching", s, s, c)) == {"pointing_down"}

    moving = np.repeat(states[:, None], 5, axis=1)
    moving[0, 2, phys.qvel_slice.start + phys.insertive_dof_adr] = 0.05
    assert _failed(_checks(generator, "reaching", states, states, controls, moving)) == {"still"}

    spawn = states.copy()
    spawn[0, phys.qpos_slice.start + phys.insertive_qpos_adr] += 0.03
    assert _failed(_checks(generator, "near_object", spawn, states, controls)) == {"drift"}
    assert _failed(_checks(generator, "stable_grasp", spawn, states, controls)) == set()
    assert _failed(_checks(generator, "reaching", spawn, states, controls)) == set()

    sunk = states.copy()
    sunk[0, phys.qpos_slice.start + phys.insertive_qpos_adr + 2] = -0.3
    assert _failed(_checks(generator, "reaching", sunk, sunk, controls)) == {"below_table"}

    pad_pos, pad_rot = _pad_pose(generator, states, controls)
    closing = pad_rot[:, 1] * np.sign(np.dot(pad_rot[:, 1], GOOD_TCP[:3] - pad_pos))  # towards the tcp
    offset = robotiq.PAD_HALF_M[1] + CELL.peg.side_m / 2 - 0.002  # 2 mm into the pad
    peg_in_pad = np.r_[pad_pos + closing * offset - np.array([0, 0, CELL.peg.length_m / 2]), 1.0, 0, 0, 0]
    s, c = _state(generator, GOOD_TCP, peg_in_pad)
    assert _failed(_checks(generator, "reaching", s, s, c)) == {"robot_insertive_penetration"}

    (wall_center, _), *_ = hole_geometry(CELL.peg, CELL.hole)
    hole_on_pad = np.r_[pad_pos - np.asarray(wall_center), 1.0, 0, 0, 0]
    s, c = _state(generator, GOOD_TCP, GOOD_PEG, hole_on_pad)
    assert _failed(_checks(generator, "reaching", s, s, c)) == {"robot_receptive_penetration"}

    inner = (CELL.peg.side_m + CELL.hole.clearance_m) / 2
    peg_in_wall = HOLE.copy()
    peg_in_wall[1] += inner - CELL.peg.side_m / 2 + 0.003  # 3 mm into the +y wall
    s, c = _state(generator, GOOD_TCP, peg_in_wall)
    assert _failed(_checks(generator, "reaching", s, s, c)) == {"insertive_receptive_penetration"}


def test_simulate_keeps_valid_candidates_and_rejects_with_reasons(generator):
    rng = np.random.default_rng(0)
    cands = Candidates(
        tcp_pose_b=np.array([GOOD_TCP, [0.45, 0.15, 0.002, *DOWN], [2.0, 0.0, 0.3, *DOWN]]),
        insertive_pose_b=np.tile(GOOD_PEG, (3, 1)),
        receptive_pose_b=np.tile(HOLE, (3, 1)),
        gripper_closed=np.array([True, False, False]),
    )
    result = generator.simulate("reaching", cands, rng)
    assert result.valid.tolist() == [True, False, False]
    assert result.rejections["ik"] == 1 and result.rejections["spawn_penetration"] == 1
    assert result.arrays["gripper_closed"].tolist() == [True]
    assert result.arrays["finger_travel_m"][0] == pytest.approx(robotiq.FINGER_TRAVEL_M, abs=1e-3)
    np.testing.assert_allclose(result.arrays["insertive_pose_b"][0, :3], GOOD_PEG[:3], atol=1e-4)
    # a peg dropped from 10 cm drifts more than the near-object bound
    falling = Candidates(GOOD_TCP[None], np.array([[0.35, 0.3, 0.1, 1.0, 0, 0, 0]]), HOLE[None], np.array([False]))
    result = generator.simulate("near_object", falling, rng)
    assert not result.valid[0] and result.rejections["drift"] == 1 and result.rejections["still"] == 0


def test_a_still_falling_object_is_not_still():
    cfg = ResetGenerationConfig(physics=PhysicsSettings(settle_s=0.12, policy_period_s=0.02))
    gen = ResetGenerator(cfg, CELL, TASK)
    try:
        cands = Candidates(GOOD_TCP[None], np.array([[0.35, 0.3, 0.25, 1.0, 0, 0, 0]]), HOLE[None], np.array([False]))
        result = gen.simulate("reaching", cands, np.random.default_rng(0))
    finally:
        gen.close()
    assert not result.valid[0] and result.rejections["still"] == 1


# --- grasps and partial assemblies --------------------------------------------------------------
def test_grasp_sampler_returns_stable_antipodal_grasps():
    settings = GraspSettings(target_count=12, batch_size=64)
    grasps, stats = sample_grasps(CELL, settings, np.random.default_rng(0), progress=False)
    assert grasps.shape == (12, 7) and 0 < stats["success_rate"] <= 1
    closing_obj = P.quat_to_matrix(grasps[:, 3:])[:, :, 1]
    # the closing axis is normal to a pair of opposite faces of the box, the object centred
    assert np.all(np.max(np.abs(closing_obj), axis=1) > 1 - 1e-6)
    # replaying the stored grasps holds the object again
    gripper = FloatingGripper(CELL, settings.timestep_s)
    try:
        ok, _ = evaluate_grasps(gripper, grasps, settings, np.random.default_rng(1))
        assert ok.mean() >= 0.9
        far = grasps[:2].copy()
        far[:, 2] += 0.3  # the object is nowhere near the pads
        inside = grasps[:1].copy()
        inside[0, :3] = [0.0, 0.0, 0.04 - robotiq.TCP_Z_M + 0.06]  # housing inside the object
        ok, _ = evaluate_grasps(gripper, np.vstack((far, inside)), settings, np.random.default_rng(1))
        assert not ok.any()
    finally:
        gripper.close()


def test_partial_assemblies_are_collision_free_new_and_near_the_goal():
    settings = PartialAssemblySettings(target_count=20, episodes_per_batch=4)
    poses, stats = generate_partial_assemblies(CELL, TASK, settings, np.random.default_rng(0), progress=False)
    assert poses.shape == (20, 7) and stats["episodes"] >= 1
    assert np.all(poses[:, 2] > -0.002) and np.all(poses[:, 2] < 0.12)
    for i in range(20):
        d_pos = np.linalg.norm(poses[i + 1:, :3] - poses[i, :3], axis=1)
        d_rot = P.quat_angle(poses[i + 1:, 3:], poses[i, 3:])
        assert not np.any((d_pos <= settings.min_separation_m) & (d_rot <= settings.min_separation_rad))
    model = AssemblyModel(CELL, TASK, settings)
    try:
        absolute = P.compose(np.repeat(model.receptive_pose_b[None], 20, 0), poses)
        assert max(model.penetration(p) for p in absolute) <= settings.max_penetration_m
        assert model.model.body_mass[model.body] == pytest.approx(settings.object_mass_kg)
    finally:
        model.close()


# --- whole datasets -----------------------------------------------------------------------------
TINY = dict(states_per_type=50, shard_size=25, physics={"batch_size": 64},
            grasps={"target_count": 20, "batch_size": 64}, partial_assemblies={"target_count": 20})


def test_tiny_end_to_end_generation(tmp_path):
    cfg = config_from_dict(TINY)
    summary = generate_resets(tmp_path, cfg, CELL, progress=False)
    assert len(summary["generated_shards"]) == 8
    ds = datasets.ResetDataset.load(tmp_path)
    assert ds.counts == {t: 50 for t in datasets.RESET_TYPES} and ds.is_complete
    assert ds.grasps.shape == (20, 7) and ds.partial_assemblies.shape == (20, 7)
    assert (tmp_path / "generator_config.yaml").is_file()
    assert datasets.read_manifest(tmp_path)["cell_config"]["peg"]["side_m"] == CELL.peg.side_m
    stable = ds.arrays("stable_grasp")
    assert stable["gripper_closed"].all()
    assert np.all((stable["finger_travel_m"] > 0.01) & (stable["finger_travel_m"] < robotiq.FINGER_TRAVEL_M - 0.005))
    goal = ds.arrays("near_goal")
    rel = P.relative_pose(goal["receptive_pose_b"], goal["insertive_pose_b"])
    per_shard = math.floor(25 * cfg.near_goal.assembled_fraction + 0.5)  # half of each shard, rounded up
    assert int(is_assembled(rel[:, :3], rel[:, 3:], TASK.goal_poses, TASK.success, 1.5).sum()) == 2 * per_shard
    kin = URKinematics(UR7E, robotiq.FLANGE_T_TCP)
    for reset_type in datasets.RESET_TYPES:
        arrays = ds.arrays(reset_type)
        T = kin.tcp_pose(arrays["q_arm_rad"])
        assert np.all(-T[:, 2, 2] >= 0.5 - 1e-6), reset_type  # pointing down within 60 degrees
        assert np.all(arrays["insertive_pose_b"][:, 2] > -1e-3)
    again = generate_resets(tmp_path, cfg, CELL, progress=False)
    assert again["generated_shards"] == [] and len(again["skipped_shards"]) == 8


def test_killed_generation_resumes_and_reproduces_the_same_shards(tmp_path):
    cfg = config_from_dict(dict(TINY, states_per_type=24, shard_size=8))

    def kill_after_first(reset_type, index):
        if index == 0:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        generate_resets(tmp_path / "a", cfg, CELL, types=("reaching",), progress=False,
                        on_shard_written=kill_after_first)
    assert set(datasets.complete_shards(tmp_path / "a", "reaching")) == {0}
    resumed = generate_resets(tmp_path / "a", cfg, CELL, types=("reaching",), progress=False)
    assert resumed["skipped_shards"] == ["reaching_00000.npz"]
    assert resumed["generated_shards"] == ["reaching_00001.npz", "reaching_00002.npz"]
    generate_resets(tmp_path / "b", cfg, CELL, types=("reaching",), progress=False)
    a, b = (datasets.read_manifest(tmp_path / x)["shards"] for x in "ab")
    assert {k: v["sha256"] for k, v in a.items()} == {k: v["sha256"] for k, v in b.items()}
    with pytest.raises(ValueError, match="different config"):
        generate_resets(tmp_path / "a", cfg.replace(seed=1), CELL, types=("reaching",), progress=False)
