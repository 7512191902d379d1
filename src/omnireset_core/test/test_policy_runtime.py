"""Policy runtime: checkpoint validation on real files, history, input refusals, RGB feature cache."""
import dataclasses
import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from omnireset_core.control.action import action_to_target  # noqa: E402
from omnireset_core.control.osc import OscGains  # noqa: E402
from omnireset_core.policy import (  # noqa: E402
    METADATA_FILE,
    CheckpointError,
    ExpectedSpec,
    InputAgeLimits,
    InvalidInputError,
    NonFiniteError,
    PolicyInputError,
    PolicyRuntime,
    StaleInputError,
    VisionSpec,
    export_policy,
    new_metadata,
)
from omnireset_core.policy.vision import ResNet18GN, RgbStudent  # noqa: E402
from omnireset_core.rotations import quat_mul, rotvec_to_quat  # noqa: E402
from omnireset_core.spec import ActionSpec, ObservationSpec, ObservationTerm, default_actor_observation  # noqa: E402

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

OBS = default_actor_observation()
PROPRIO = OBS.select(("last_action", "joint_pos", "ee_pose_b"), history=5)
EE_POS_B = np.array([0.45, 0.05, 0.3])
EE_QUAT_B = np.array([0.0, 1.0, 0.0, 0.0])  # tool pointing down
TINY_F = 16  # feature size of the tiny test encoders


# --- modules and files ---------------------------------------------------------------
class StateMlp(nn.Module):
    def __init__(self, dim_in=OBS.dim, dim_out=7):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim_in, 32), nn.ELU(), nn.Linear(32, dim_out))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class ConstantAction(nn.Module):
    def __init__(self, action):
        super().__init__()
        self.register_buffer("action", torch.tensor([action], dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs[:, :1] * 0.0 + self.action


class NanWhenFirstInputIsOne(nn.Module):
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        nan = torch.where(obs[:, -1:] == 1.0, torch.full_like(obs[:, -1:], float("nan")), obs[:, -1:] * 0.0)
        return obs[:, :7] * 0.0 + nan


class TinyEncoder(nn.Module):
    def __init__(self, feature_dim=TINY_F):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 16, 16)
        self.out = nn.Linear(4, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def tiny_student(proprio_dim=PROPRIO.dim, feature_dim=TINY_F, n_cameras=3, frames=5):
    torch.manual_seed(0)
    return RgbStudent(n_cameras, frames, proprio_dim, hidden=(32,),
                      encoders=[TinyEncoder(feature_dim) for _ in range(n_cameras)], feature_dim=feature_dim)


class NoEncode(nn.Module):
    def forward(self, features: torch.Tensor, proprio: torch.Tensor) -> torch.Tensor:
        return proprio[:, :7]


def state_md(**changes):
    return dataclasses.replace(new_metadata("state", "peg", OBS, {"seed": 0}), **changes)


def rgb_md(**changes):
    md = new_metadata("rgb", "peg", PROPRIO, {"seed": 0}, vision=VisionSpec(feature_dim=TINY_F))
    return dataclasses.replace(md, **changes)


def save(path, module, metadata_text=None):
    """Raw torch.jit.save (no checks), so malformed checkpoints can be written too."""
    extra = {} if metadata_text is None else {METADATA_FILE: metadata_text}
    torch.jit.save(torch.jit.script(module), str(path), _extra_files=extra)
    return path


def obs_spec(terms=OBS.terms, history=5):
    return ObservationSpec(terms=tuple(terms), history=history)


def swap(terms, i, j):
    terms = list(terms)
    terms[i], terms[j] = terms[j], terms[i]
    return terms


# --- load refusals, each on a real file ----------------------------------------------
def _valid_state(tmp_path):
    return export_policy(StateMlp(), tmp_path / "state.pt", state_md())


def _truncated(tmp_path):
    data = _valid_state(tmp_path).read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    return tmp_path / "cut.pt"


def _garbage(tmp_path):
    (tmp_path / "garbage.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    return tmp_path / "garbage.pt"


def _eager(tmp_path):
    torch.save(StateMlp(), tmp_path / "eager.pt")
    return tmp_path / "eager.pt"


def _with_json_edit(fn):
    def build(tmp_path):
        data = json.loads(state_md().to_json())
        fn(data)
        return save(tmp_path / "edited.pt", StateMlp(), json.dumps(data))
    return build


def _state(module=None, **changes):
    return lambda tmp_path: export_policy(module or StateMlp(), tmp_path / "s.pt", state_md(**changes))


def _rgb(module=None, **changes):
    return lambda tmp_path: save(tmp_path / "r.pt", module or tiny_student(), rgb_md(**changes).to_json())


STATE = ExpectedSpec.state(task="peg")
RGB = ExpectedSpec.rgb(PROPRIO, task="peg")
BAD_CHECKPOINTS = {
    "missing file": (lambda p: p / "nowhere.pt", STATE, "checkpoint file not found"),
    "garbage bytes": (_garbage, STATE, "corrupted or not a TorchScript archive"),
    "truncated": (_truncated, STATE, "corrupted or not a TorchScript archive"),
    "torch.save pickle": (_eager, STATE, r"not TorchScript \(saved with torch.save"),
    "no metadata": (lambda p: save(p / "bare.pt", StateMlp()), STATE, "missing metadata"),
    "metadata not json": (lambda p: save(p / "x.pt", StateMlp(), "{kind: state"), STATE, "metadata is not valid JSON"),
    "spec version": (_with_json_edit(lambda d: d.update(spec_version="0")), STATE, "spec version '0'"),
    "metadata unknown key": (_with_json_edit(lambda d: d.update(policy="x")), STATE,
                             r"invalid metadata: metadata: unknown key\(s\) \['policy'\]"),
    "metadata missing gains": (_with_json_edit(lambda d: d.pop("gains")), STATE, r"missing key\(s\) \['gains'\]"),
    "kind": (_state(), RGB, "policy kind 'state', expected 'rgb'"),
    "task": (_state(task="gear"), STATE, "task 'gear', expected 'peg'"),
    "term order": (_state(observation=obs_spec(swap(OBS.terms, 1, 2))), STATE,
                   r"observation term order \['last_action', 'finger_travel', 'joint_pos'"),
    "missing term": (_state(StateMlp(150), observation=obs_spec(OBS.terms[:-1])), STATE,
                     r"missing \['insertive_pose_rcv'\], unexpected \[\]"),
    "renamed term": (_state(observation=obs_spec(OBS.terms[:1] + (ObservationTerm("q", 6, ""),) + OBS.terms[2:])),
                     STATE, r"missing \['joint_pos'\], unexpected \['q'\]"),
    "term dim": (_state(StateMlp(190), observation=obs_spec(OBS.terms[:1] + (ObservationTerm("joint_pos", 7, ""),)
                                                              + OBS.terms[2:])),
                 STATE, "observation term 'joint_pos' has dim 7, expected 6"),
    "history": (_state(StateMlp(111), observation=obs_spec(history=3)), STATE, "observation history 3 steps, expected 5"),
    "action scale": (_state(action=ActionSpec(scale=(0.02,) * 5 + (0.21,))), STATE, r"action scale \[0.02, .*0.21\]"),
    "policy rate": (_state(action=ActionSpec(policy_rate_hz=20.0)), STATE, "policy_rate_hz 20.0, expected 10.0"),
    "control rate": (_state(action=ActionSpec(control_rate_hz=1000.0)), STATE, "control_rate_hz 1000.0, expected 500.0"),
    "gains": (_state(gains=OscGains(kp_pos=(500.0,) * 3)), dataclasses.replace(STATE, gains=OscGains()),
              r"controller gains differ from training in \['kp_pos'\]"),
    "last_action dim": (_state(StateMlp(180), observation=obs_spec((ObservationTerm("last_action", 6, ""),) + OBS.terms[1:])),
                        ExpectedSpec.state(observation=obs_spec((ObservationTerm("last_action", 6, ""),) + OBS.terms[1:])),
                        "'last_action' has dim 6, expected 7"),
    "forward input dim": (_state(StateMlp(100)), STATE, "module fails on inputs of the documented shapes"),
    "forward output dim": (_state(StateMlp(dim_out=6)), STATE, r"forward returned \(1, 6\), expected action shape \(1, 7\)"),
    "rgb without encode": (_rgb(NoEncode()), RGB, r"'rgb' policy must export method\(s\) \['encode'\]"),
    "camera order": (_rgb(vision=VisionSpec(cameras=("side", "front", "wrist"), feature_dim=TINY_F)), RGB,
                     r"cameras \['side', 'front', 'wrist'\], expected \['front', 'side', 'wrist'\]"),
    "image size": (_rgb(vision=VisionSpec(image_hw=(128, 128), feature_dim=TINY_F)), RGB,
                   r"image size \(h, w\) \(128, 128\), expected \(224, 224\)"),
    "frames per camera": (_rgb(tiny_student(frames=3), vision=VisionSpec(frames_per_camera=3, feature_dim=TINY_F)),
                          RGB, "frames per camera 3, expected 5"),
    "feature dim": (_rgb(vision=VisionSpec(feature_dim=32)), RGB, r"encode returned shape \(3, 16\).*expected \(3, 32\)"),
}


@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_load_refuses_a_bad_checkpoint_naming_the_problem(tmp_path, case):
    build, expected, match = BAD_CHECKPOINTS[case]
    path = build(tmp_path)
    with pytest.raises(CheckpointError, match=match) as info:
        PolicyRuntime.load(path, expected)
    assert isinstance(info.value, ValueError) and str(path) in str(info.value)


def test_action_scale_is_compared_with_a_tolerance(tmp_path):
    scale = tuple(s * (1 + 1e-9) for s in ActionSpec().scale)
    rt = PolicyRuntime.load(_state(action=ActionSpec(scale=scale))(tmp_path), STATE)
    assert rt.metadata.action.scale == scale


def test_a_valid_checkpoint_loads_with_its_metadata(tmp_path):
    rt = PolicyRuntime.load(_valid_state(tmp_path), STATE)
    assert rt.metadata == PolicyRuntime.load(tmp_path / "state.pt", STATE).metadata
    assert rt.input_names == ["obs/joint_pos", "obs/finger_travel", "obs/ee_pose_b", "obs/insertive_pose_ee",
                              "obs/receptive_pose_ee", "obs/insertive_pose_rcv", "ee_pose"]
    assert rt.fills_last_action and rt.history is None


# --- stepping a state policy ---------------------------------------------------------
def term_values(spec, offset=0.0):
    """Distinct values per term: term i, element k -> 10 i + k / 10 + offset."""
    return {t.name: 10.0 * i + np.arange(t.dim) / 10.0 + offset for i, t in enumerate(spec.terms)}


def stamped(values, stamp_s, spec=OBS):
    return {t.name: (stamp_s, values[t.name]) for t in spec.terms if t.name != "last_action"}


def step_state(rt, now_s, offset=0.0, **overrides):
    obs = stamped(term_values(OBS, offset), now_s)
    obs.update(overrides.pop("obs", {}))
    args = dict(frames=None, tcp_pos_b_m=EE_POS_B, tcp_quat_b_wxyz=EE_QUAT_B, tcp_stamp_s=now_s)
    args.update(overrides)
    return rt.step(now_s, obs, **args)


def expected_step_vector(values, last_action):
    return np.concatenate([last_action if t.name == "last_action" else values[t.name] for t in OBS.terms])


@pytest.fixture
def state_rt(tmp_path):
    torch.manual_seed(0)
    return PolicyRuntime.load(export_policy(StateMlp(), tmp_path / "s.pt", state_md()), STATE)


def test_observation_is_assembled_in_spec_order_with_first_sample_padding(state_rt):
    rt = state_rt
    cmd1 = step_state(rt, 1.0)
    first = expected_step_vector(term_values(OBS), np.zeros(7))
    assert rt.history.shape == (5, OBS.step_dim)
    np.testing.assert_allclose(rt.history, np.tile(first, (5, 1)), rtol=1e-6)  # padded with the first sample
    cmd2 = step_state(rt, 1.1, offset=0.5)
    second = expected_step_vector(term_values(OBS, 0.5), cmd1.action)  # last_action = previous raw action
    np.testing.assert_allclose(rt.history, np.vstack([np.tile(first, (4, 1)), second]), rtol=1e-6)
    # the network saw exactly this vector (history flattened, oldest first)
    with torch.no_grad():
        action = rt.module(torch.as_tensor(rt.history, dtype=torch.float32).reshape(1, -1))[0].numpy()
    np.testing.assert_allclose(cmd2.action, action, rtol=1e-6)
    rt.reset()
    assert rt.history is None and rt.steps == 0
    step_state(rt, 2.0)
    np.testing.assert_allclose(rt.history, np.tile(first, (5, 1)), rtol=1e-6)


def test_target_comes_from_the_measured_pose(tmp_path):
    action = [0.5, 0.0, -1.0, 0.0, 0.0, 1.0, -0.3]
    rt = PolicyRuntime.load(export_policy(ConstantAction(action), tmp_path / "c.pt", state_md()), STATE)
    cmd = step_state(rt, 3.0)
    np.testing.assert_allclose(cmd.target_pos_b_m, EE_POS_B + [0.01, 0.0, -0.02], atol=1e-9)
    np.testing.assert_allclose(cmd.target_quat_b_wxyz, quat_mul(rotvec_to_quat(np.array([0, 0, 0.2])), EE_QUAT_B), atol=1e-7)
    assert cmd.gripper_close is True and cmd.stamp_s == 3.0
    pos, quat, close = action_to_target(np.array(action), EE_POS_B, EE_QUAT_B, ActionSpec().scale)
    np.testing.assert_allclose(cmd.target_quat_b_wxyz, quat, atol=1e-7)
    other = step_state(rt, 3.1, tcp_pos_b_m=EE_POS_B + [0.1, 0.0, 0.0], tcp_stamp_s=3.1)
    np.testing.assert_allclose(other.target_pos_b_m, cmd.target_pos_b_m + [0.1, 0.0, 0.0], atol=1e-9)


class GripperFromObs(nn.Module):
    """Arm still; gripper value = one element of the observation."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(obs.shape[0], 7)
        out[:, 6] = obs[:, self.index]
        return out


def test_the_gripper_switches_after_the_configured_number_of_consecutive_asks(tmp_path):
    """gripper_switch_steps 3: as in training, a release needs three actions in a row asking for
    it; the state after a reset is the measured one (fingers in: closed)."""
    newest_joint0 = (OBS.history - 1) * OBS.step_dim + next(
        sum(t.dim for t in OBS.terms[:i]) for i, t in enumerate(OBS.terms) if t.name == "joint_pos")
    md = state_md(action=ActionSpec(gripper_switch_steps=3))
    rt = PolicyRuntime.load(export_policy(GripperFromObs(newest_joint0), tmp_path / "g.pt", md), STATE)

    def step(rt, k, gripper_value, travel_m=0.03):
        values = term_values(OBS)
        values["joint_pos"] = np.r_[gripper_value, np.zeros(5)]
        values["finger_travel"] = np.array([travel_m])
        return step_state(rt, 1.0 + 0.1 * k, obs=stamped(values, 1.0 + 0.1 * k)).gripper_close

    asks = [1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0]  # > 0 asks to open
    assert [step(rt, k, v) for k, v in enumerate(asks)] == [True, True, True, True, True, False, False, False, True, True]
    rt.reset()  # fingers measured open now: the state restarts open
    assert [step(rt, 20 + k, v, travel_m=0.0) for k, v in enumerate([-1.0, -1.0, 1.0, -1.0, -1.0, -1.0])] == \
        [False, False, False, False, False, True]
    plain = PolicyRuntime.load(export_policy(GripperFromObs(newest_joint0), tmp_path / "p.pt", state_md()), STATE)
    assert [step(plain, 40 + k, v) for k, v in enumerate([1.0, -1.0, 1.0])] == [False, True, False]  # every action


def test_checkpoints_without_a_gripper_switch_setting_load_with_every_action_deciding(tmp_path):
    data = json.loads(state_md().to_json())
    del data["action"]["gripper_switch_steps"]  # as exported before the setting existed
    path = save(tmp_path / "old.pt", StateMlp(), json.dumps(data))
    assert PolicyRuntime.load(path, STATE).metadata.action.gripper_switch_steps == 1


def refused(rt, exc_type, now_s=1.0, **kwargs):
    before = (rt.history, rt.steps)
    with pytest.raises(exc_type) as info:
        step_state(rt, now_s, **kwargs)
    after = (rt.history, rt.steps)
    assert after[1] == before[1] and (before[0] is None) == (after[0] is None)
    if before[0] is not None:
        np.testing.assert_array_equal(after[0], before[0])  # a refused step changes nothing
    assert isinstance(info.value, PolicyInputError)
    return info.value


def test_stale_inputs_are_refused_by_name(state_rt):
    rt = state_rt
    step_state(rt, 1.0)
    old = stamped(term_values(OBS), 1.0)["joint_pos"]
    err = refused(rt, StaleInputError, now_s=1.2, obs={"joint_pos": old})
    assert err.inputs == ("obs/joint_pos",) and "'obs/joint_pos' is stale: 0.200 s old, limit 0.100 s" in str(err)
    err = refused(rt, StaleInputError, now_s=1.3, tcp_stamp_s=1.25)
    assert err.inputs == ("ee_pose",) and "limit 0.020 s" in str(err)
    err = refused(rt, StaleInputError, now_s=1.4, obs={"insertive_pose_ee": (1.7, np.zeros(6))})
    assert "'obs/insertive_pose_ee' stamped 0.300 s in the future" in str(err)
    step_state(rt, 1.5)  # a refused step's stamps are not remembered: no false "went backwards"
    assert rt.watchdog.last_stamp_s("obs/insertive_pose_ee") == 1.5
    err = refused(rt, StaleInputError, now_s=1.52, obs={"joint_pos": (1.49, np.zeros(6))})
    assert err.inputs == ("obs/joint_pos",) and "stamp 1.490000 s is older than the one last used (1.500000 s)" in str(err)
    err = refused(rt, NonFiniteError, now_s=float("nan"))
    assert err.inputs == ("now_s",)


def test_age_limits_can_be_set_per_input(tmp_path):
    path = _valid_state(tmp_path)
    limits = InputAgeLimits(per_input_s={"obs/insertive_pose_ee": 0.5})
    rt = PolicyRuntime.load(path, STATE, limits=limits)
    assert rt.max_age_s["obs/insertive_pose_ee"] == 0.5 and rt.max_age_s["obs/joint_pos"] == 0.1
    step_state(rt, 1.0, obs={"insertive_pose_ee": (0.6, np.zeros(6))})
    with pytest.raises(ValueError, match=r"unknown input\(s\) \['obs/joint'\]"):
        PolicyRuntime.load(path, STATE, limits=InputAgeLimits(per_input_s={"obs/joint": 0.5}))
    with pytest.raises(ValueError, match=r"max_age_s\['ee_pose'\]"):
        PolicyRuntime.load(path, STATE, limits=InputAgeLimits(ee_pose_s=0.0))


def test_non_finite_inputs_and_outputs_are_refused_by_name(state_rt, tmp_path):
    rt = state_rt
    step_state(rt, 1.0)
    q = np.zeros(6)
    q[2] = np.nan
    err = refused(rt, NonFiniteError, now_s=1.1, obs={"joint_pos": (1.1, q)})
    assert err.inputs == ("obs/joint_pos",) and "'obs/joint_pos' has 1 non-finite of 6 value(s)" in str(err)
    err = refused(rt, NonFiniteError, now_s=1.1, tcp_pos_b_m=np.array([0.4, np.inf, 0.3]))
    assert err.inputs == ("ee_pose",)
    err = refused(rt, NonFiniteError, now_s=1.1, tcp_stamp_s=float("nan"))
    assert err.inputs == ("ee_pose",) and "stamp of 'ee_pose'" in str(err)

    rt = PolicyRuntime.load(export_policy(NanWhenFirstInputIsOne(), tmp_path / "n.pt", state_md()), STATE)
    step_state(rt, 1.0)
    values = term_values(OBS)["insertive_pose_rcv"].copy()
    values[-1] = 1.0
    err = refused(rt, NonFiniteError, now_s=1.1, obs={"insertive_pose_rcv": (1.1, values)})
    assert err.inputs == ("action",) and "policy action is not finite" in str(err)


@pytest.mark.parametrize("kwargs,name,why", [
    ({"obs": {"joint_pos": (1.0, np.zeros(7))}}, "obs/joint_pos", r"must be 6 numbers, got shape \(7,\)"),
    ({"obs": {"joint_pos": (1.0, np.array(["a"] * 6))}}, "obs/joint_pos", "must be 6 numbers"),
    ({"obs": {"joint_pos": np.zeros(6)}}, "obs/joint_pos", r"must be a \(stamp_s, value\) pair"),
    ({"obs": {"last_action": (1.0, np.zeros(7))}}, "obs/last_action", "is filled by the runtime"),
    ({"obs": {"joint_vel": (1.0, np.zeros(6))}}, "obs/joint_vel", "is not an observation term of this policy"),
    ({"frames": {"wrist": (1.0, np.zeros((224, 224, 3), np.uint8))}}, "camera/wrist", "given to a state policy"),
    ({"tcp_quat_b_wxyz": np.array([0.0, 0.9, 0.0, 0.0])}, "ee_pose", r"not unit length \(norm 0.900000\)"),
    ({"tcp_pos_b_m": np.zeros(4)}, "ee_pose", "must be position"),
])
def test_invalid_inputs_are_refused_by_name(state_rt, kwargs, name, why):
    err = refused(state_rt, InvalidInputError, **kwargs)
    assert name in err.inputs
    assert f"'{name}' " in str(err) and re.search(why, str(err))


def test_a_missing_term_is_refused_by_name(state_rt):
    obs = stamped(term_values(OBS), 1.0)
    del obs["receptive_pose_ee"]
    with pytest.raises(InvalidInputError, match="'obs/receptive_pose_ee' missing") as info:
        state_rt.step(1.0, obs, None, EE_POS_B, EE_QUAT_B, 1.0)
    assert info.value.inputs == ("obs/receptive_pose_ee",)


# --- RGB students ------------------------------------------------------------------------
class CountingModule:
    """Wraps a loaded module, counting the frames passed to encode."""

    def __init__(self, module):
        self.module, self.encoded = module, []

    def encode(self, images, camera):
        self.encoded.append(camera.tolist())
        return self.module.encode(images, camera)

    def __call__(self, *args):
        return self.module(*args)


CAMERAS = ("front", "side", "wrist")


def frame(rng):
    return rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)


def step_rgb(rt, now_s, frames, rng, tcp_stamp_s=None):
    obs = {name: (now_s, rng.normal(size=6)) for name in ("joint_pos", "ee_pose_b")}
    return rt.step(now_s, obs, frames, EE_POS_B, EE_QUAT_B, now_s if tcp_stamp_s is None else tcp_stamp_s), obs


def naive_action(module, window, proprio):
    """Encode every frame in the window (camera -> list of frames, oldest first) and run the head."""
    with torch.no_grad():
        stacks = []
        for c, cam in enumerate(CAMERAS):
            images = torch.from_numpy(np.stack(window[cam])).permute(0, 3, 1, 2).contiguous()
            stacks.append(module.encode(images, torch.full((len(window[cam]),), c, dtype=torch.int64)))
        features = torch.stack(stacks)[None]
        return module(features, torch.as_tensor(proprio, dtype=torch.float32).reshape(1, -1))[0].numpy()


def run_cached_vs_naive(rt, steps, rng):
    windows = {cam: [] for cam in CAMERAS}
    for k in range(steps):
        now_s = 1.0 + 0.1 * k
        frames = {cam: (now_s - 0.03, frame(rng)) for cam in CAMERAS}
        cmd, _ = step_rgb(rt, now_s, frames, rng)
        for cam in CAMERAS:
            # first-sample padding at the start, then a sliding window of the last 5 frames
            windows[cam] = (windows[cam] or [frames[cam][1]] * 4)[-4:] + [frames[cam][1]]
        np.testing.assert_allclose(cmd.action, naive_action(rt.module, windows, rt.history), rtol=1e-4, atol=1e-5)


def test_rgb_cached_features_match_encoding_every_frame_each_step(tmp_path):
    rt = PolicyRuntime.load(_rgb()(tmp_path), RGB)
    run_cached_vs_naive(rt, steps=7, rng=np.random.default_rng(1))
    assert rt.steps == 7 and rt.history.shape == (5, PROPRIO.step_dim)


def test_rgb_each_frame_is_encoded_once(tmp_path):
    rt = PolicyRuntime.load(_rgb()(tmp_path), RGB, limits=InputAgeLimits(frame_s=0.25))
    rt.module = counter = CountingModule(rt.module)
    rng = np.random.default_rng(2)
    frames = {cam: (0.97, frame(rng)) for cam in CAMERAS}
    step_rgb(rt, 1.0, frames, rng)
    assert counter.encoded == [[0, 1, 2]]  # one batched call, three new frames
    frames["side"] = (1.07, frame(rng))
    step_rgb(rt, 1.1, frames, rng)  # front and wrist did not deliver a new frame: reused, not re-encoded
    assert counter.encoded == [[0, 1, 2], [1]]
    frames = {cam: (1.17, frame(rng)) for cam in CAMERAS}
    step_rgb(rt, 1.2, frames, rng)
    assert counter.encoded[-1] == [0, 1, 2]
    rt.reset()
    step_rgb(rt, 1.3, {cam: (1.27, frames[cam][1]) for cam in CAMERAS}, rng)
    assert len(counter.encoded) == 4


def test_rgb_frames_encoded_on_arrival_are_not_encoded_again_by_the_step(tmp_path):
    rt = PolicyRuntime.load(_rgb()(tmp_path), RGB, limits=InputAgeLimits(frame_s=0.25))
    rt.module = counter = CountingModule(rt.module)
    rng = np.random.default_rng(5)
    frames = {cam: (0.95, frame(rng)) for cam in CAMERAS}
    for cam in CAMERAS:
        rt.encode_frame(cam, *frames[cam])
    rt.encode_frame("front", *frames["front"])  # the same frame again: already encoded
    assert counter.encoded == [[0], [1], [2]]
    cmd, _ = step_rgb(rt, 1.0, frames, np.random.default_rng(9))
    assert counter.encoded == [[0], [1], [2]]  # the step found all three ready
    assert rt.input_ages_s["camera/side"] == pytest.approx(0.05) and rt.input_ages_s["ee_pose"] == 0.0
    fresh = PolicyRuntime.load(_rgb()(tmp_path), RGB, limits=InputAgeLimits(frame_s=0.25))
    np.testing.assert_allclose(step_rgb(fresh, 1.0, frames, np.random.default_rng(9))[0].action, cmd.action, atol=1e-6)
    with pytest.raises(InvalidInputError, match="'camera/rear' is not a camera"):
        rt.encode_frame("rear", 1.0, frames["front"][1])
    with pytest.raises(InvalidInputError, match=r"'camera/front' must be a uint8 array \(224, 224, 3\)"):
        rt.encode_frame("front", 1.0, np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(NonFiniteError, match="stamp of 'camera/front'"):
        rt.encode_frame("front", float("nan"), frames["front"][1])


def test_background_encoder_encodes_on_its_thread_and_hands_frames_on_when_ready(tmp_path):
    import threading
    import time

    from omnireset_core.policy.background import BackgroundEncoder

    rt = PolicyRuntime.load(_rgb()(tmp_path), RGB, limits=InputAgeLimits(frame_s=0.25))
    rt.module = counter = CountingModule(rt.module)
    threads, ready = [], {}
    encode = counter.encode
    counter.encode = lambda images, camera: (threads.append(threading.get_ident()), encode(images, camera))[1]
    loaded = {"rt": rt}
    encoder = BackgroundEncoder(lambda: loaded["rt"], ready.__setitem__)

    def settle():
        deadline = time.monotonic() + 5.0
        while not encoder.idle() and time.monotonic() < deadline:
            time.sleep(0.01)

    rng = np.random.default_rng(6)
    frames = {cam: (0.95, frame(rng)) for cam in CAMERAS}
    try:
        for cam in CAMERAS:
            encoder.submit(cam, *frames[cam])
        settle()
        assert encoder.encoded == 3 and ready == frames and set(threads) == {encoder._thread.ident}
        step_rgb(rt, 1.0, ready, rng)
        assert len(counter.encoded) == 3  # the step found every ready frame encoded
        encoder.submit("side", 1.05, np.zeros((3, 3, 3), np.uint8))  # refused: handed on as the error
        settle()
        assert isinstance(ready["side"], InvalidInputError) and "'camera/side' must be a uint8 array" in str(ready["side"])
        loaded["rt"] = None
        encoder.submit("wrist", 1.05, frames["wrist"][1])  # nothing loaded: dropped
        settle()
        assert ready["wrist"] == frames["wrist"] and encoder.encoded == 3
    finally:
        encoder.close()
    assert not encoder._thread.is_alive()


def test_rgb_frames_are_checked_by_camera(tmp_path):
    rt = PolicyRuntime.load(_rgb()(tmp_path), RGB)
    rng = np.random.default_rng(3)
    frames = {cam: (1.0, frame(rng)) for cam in CAMERAS}
    step_rgb(rt, 1.0, frames, rng)
    with pytest.raises(StaleInputError, match=r"'camera/wrist' is stale: 0.150 s old") as info:
        step_rgb(rt, 1.15, {**frames, **{c: (1.1, frames[c][1]) for c in ("front", "side")}}, rng, tcp_stamp_s=1.15)
    assert info.value.inputs == ("camera/wrist",)
    bad_frames = {**frames, "side": (1.0, np.zeros((224, 224, 3), np.float32)),
                  "front": (1.0, np.zeros((240, 320, 3), np.uint8))}
    with pytest.raises(InvalidInputError, match=r"'camera/side' must be a uint8 array \(224, 224, 3\)") as info:
        step_rgb(rt, 1.05, bad_frames, rng)
    assert set(info.value.inputs) == {"camera/front", "camera/side"}
    with pytest.raises(InvalidInputError, match="'camera/front' missing"):
        step_rgb(rt, 1.05, {c: frames[c] for c in ("side", "wrist")}, rng)
    with pytest.raises(InvalidInputError, match="'camera/rear' is not a camera of this policy"):
        step_rgb(rt, 1.05, {**frames, "rear": frames["front"]}, rng)
    assert rt.steps == 1


def test_resnet18_gn_student_exports_loads_and_runs(tmp_path):
    encoder = ResNet18GN()
    assert sum(p.numel() for p in encoder.parameters()) == 11_176_512  # torchvision resnet18 minus fc
    torch.manual_seed(0)
    student = RgbStudent(3, 5, PROPRIO.dim, encoders=[ResNet18GN() for _ in CAMERAS])
    md = new_metadata("rgb", "peg", PROPRIO, {"seed": 0}, vision=VisionSpec())
    rt = PolicyRuntime.load(export_policy(student, tmp_path / "resnet.pt", md), RGB, warmup_calls=1)
    run_cached_vs_naive(rt, steps=2, rng=np.random.default_rng(4))


def test_observation_select_keeps_the_given_order_and_names_unknown_terms():
    proprio = OBS.select(("ee_pose_b", "last_action"), history=3)
    assert [t.name for t in proprio.terms] == ["ee_pose_b", "last_action"] and proprio.history == 3
    assert OBS.select(("joint_pos",)).history == OBS.history
    with pytest.raises(ValueError, match=r"unknown term\(s\) \['joint_vel'\]"):
        OBS.select(("joint_pos", "joint_vel"))
