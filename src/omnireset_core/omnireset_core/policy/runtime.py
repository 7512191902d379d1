"""Run a policy checkpoint at the policy rate: load and validate it, keep the observation
history (and, for RGB students, each camera's stack of frame features), refuse stale or
non-finite inputs, and turn the action into an end-effector target from the measured pose.

History: ``observation.history`` steps, oldest first. At the first step after loading or
``reset()`` every slot is filled with that step's sample (first-sample padding, as Isaac Lab's
history buffers do at an episode start); the camera feature stacks likewise.

``last_action``: if the observation has this term, the runtime fills it with its own previous
raw action (zeros after a reset); the caller must not pass it.

A refused step raises a ``PolicyInputError`` subclass naming the input(s) and changes nothing:
histories and the previous action stay as they were, so the history then has a gap. The
caller stops commanding; whether to ``reset()`` before resuming is its decision.

Input names (for ages and messages): ``obs/<term>``, ``camera/<name>``, ``ee_pose``. Stamps and
``now_s`` come from one clock (seconds). Not thread-safe: call from one thread, except
``encode_frame``, which only adds to the per-camera feature cache and may run on another thread
while ``step`` runs (``background.BackgroundEncoder``).
"""
from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from omnireset_core.control.action import action_to_target, switch_gripper
from omnireset_core.control.osc import OscGains
from omnireset_core.policy.export import quiet_torchscript
from omnireset_core.policy.metadata import (
    METADATA_FILE,
    PolicyMetadata,
    VisionSpec,
    check_observation_spec,
    required_methods,
)
from omnireset_core.policy.vision import FeatureStacks
from omnireset_core.spec.contract import (
    ACTION_DIM,
    SPEC_VERSION,
    ActionSpec,
    ObservationSpec,
    default_actor_observation,
)
from omnireset_core.spec.history import push_history
from omnireset_core.supervision.watchdog import NonFiniteGuard, StalenessWatchdog

LAST_ACTION_TERM = "last_action"
EE_POSE_INPUT = "ee_pose"
FINGER_TERM = "finger_travel"
CLOSED_TRAVEL_M = 0.001  # mean finger travel above which a gripper at rest counts as closed
QUAT_NORM_TOL = 1e-3


class CheckpointError(ValueError):
    """The checkpoint cannot be used; the message says why."""


class PolicyInputError(ValueError):
    """A step was refused because of its inputs; ``inputs`` names them."""

    def __init__(self, message: str, inputs: tuple[str, ...]):
        super().__init__(message)
        self.inputs = tuple(inputs)


class StaleInputError(PolicyInputError):
    """Too old, never received, stamped in the future, or older than one already used."""


class NonFiniteError(PolicyInputError):
    """NaN/inf in an input, a stamp, the frame features or the network's action."""


class InvalidInputError(PolicyInputError):
    """Missing, unexpected, wrongly shaped or typed input, or a non-unit quaternion."""


@dataclass(frozen=True)
class ExpectedSpec:
    """What the deployment expects of a checkpoint; ``load`` refuses anything else."""

    kind: str
    observation: ObservationSpec  # rgb: the proprio terms
    action: ActionSpec = ActionSpec()
    vision: VisionSpec | None = None  # rgb: cameras, image size and frames are compared
    task: str | None = None  # None: any task
    gains: OscGains | None = None  # None: gains are not compared
    spec_version: str = SPEC_VERSION
    scale_rtol: float = 1e-6

    def __post_init__(self):
        if self.kind not in ("state", "rgb"):
            raise ValueError(f"ExpectedSpec.kind must be 'state' or 'rgb', got {self.kind!r}")
        if self.kind == "rgb" and self.vision is None:
            raise ValueError("ExpectedSpec.vision is required for kind 'rgb'")
        check_observation_spec("ExpectedSpec.observation", self.observation)

    @classmethod
    def state(cls, task: str | None = None, **kwargs) -> ExpectedSpec:
        return cls(kind="state", observation=kwargs.pop("observation", default_actor_observation()), task=task, **kwargs)

    @classmethod
    def rgb(cls, proprio: ObservationSpec, task: str | None = None, **kwargs) -> ExpectedSpec:
        return cls(kind="rgb", observation=proprio, vision=kwargs.pop("vision", VisionSpec()), task=task, **kwargs)


@dataclass(frozen=True)
class InputAgeLimits:
    """Oldest acceptable age [s] of each input at a step, by input type, with overrides."""

    observation_s: float = 0.1
    frame_s: float = 0.1
    ee_pose_s: float = 0.02
    per_input_s: Mapping[str, float] = field(default_factory=dict)  # e.g. {"obs/insertive_pose_ee": 0.2}

    def for_inputs(self, names: list[str]) -> dict[str, float]:
        unknown = sorted(set(self.per_input_s) - set(names))
        if unknown:
            raise ValueError(f"InputAgeLimits.per_input_s: unknown input(s) {unknown}; inputs are {names}")
        by_type = {"obs": self.observation_s, "camera": self.frame_s}
        return {n: self.per_input_s.get(n, by_type.get(n.split("/")[0], self.ee_pose_s)) for n in names}


@dataclass(frozen=True)
class PolicyCommand:
    target_pos_b_m: np.ndarray  # (3,) m, frame b
    target_quat_b_wxyz: np.ndarray  # (4,) w, x, y, z, frame b
    gripper_close: bool
    stamp_s: float  # now_s of the step that produced it
    action: np.ndarray  # (7,) raw network output


class PolicyRuntime:
    """Use ``PolicyRuntime.load``; the constructor trusts its arguments."""

    def __init__(self, module: torch.jit.ScriptModule, metadata: PolicyMetadata,
                 limits: InputAgeLimits = InputAgeLimits(), device: str | torch.device = "cpu"):
        self.module, self.metadata, self.device = module, metadata, torch.device(device)
        obs = metadata.observation
        self.fills_last_action = any(t.name == LAST_ACTION_TERM for t in obs.terms)
        self.caller_terms = tuple(t for t in obs.terms if t.name != LAST_ACTION_TERM)
        self.cameras = metadata.vision.cameras if metadata.vision else ()
        self.input_names = ([f"obs/{t.name}" for t in self.caller_terms]
                            + [f"camera/{c}" for c in self.cameras] + [EE_POSE_INPUT])
        self.max_age_s = limits.for_inputs(self.input_names)
        self._scale = np.asarray(metadata.action.scale, dtype=np.float64)
        self._guard = NonFiniteGuard()
        if metadata.vision is not None:
            v = metadata.vision
            self._features = FeatureStacks(v.cameras, v.frames_per_camera, v.feature_dim, self.device)
        self.reset()

    # --- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, expected: ExpectedSpec, limits: InputAgeLimits = InputAgeLimits(),
             device: str | torch.device = "cpu", warmup_calls: int = 2) -> PolicyRuntime:
        """Load a checkpoint, check it against ``expected`` and dry-run it on zeros.

        Raises CheckpointError naming the first problem found."""
        module, metadata = read_checkpoint(path, device)
        try:
            check_against(metadata, expected)
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        missing = [name for name in required_methods(metadata.kind) if not hasattr(module, name)]
        if missing:
            raise CheckpointError(f"{path}: a '{metadata.kind}' policy must export method(s) {missing}")
        runtime = cls(module, metadata, limits, device)
        runtime._dry_run(str(path), max(1, warmup_calls))
        return runtime

    def _dry_run(self, where: str, calls: int) -> None:
        """Zero inputs of the documented shapes: outputs must have the documented shapes. The
        repeated calls also let TorchScript specialise before the first real step."""
        md, dev = self.metadata, self.device
        obs = torch.zeros(1, md.observation.dim, device=dev)
        try:
            with torch.no_grad():
                for _ in range(calls):
                    if md.vision is None:
                        action = self.module(obs)
                        continue
                    v, n = md.vision, len(self.cameras)
                    for batch in dict.fromkeys((n, 1)):  # all cameras, then one
                        images = torch.zeros(batch, 3, *v.image_hw, dtype=torch.uint8, device=dev)
                        features = self.module.encode(images, torch.arange(batch, device=dev))
                        if tuple(features.shape) != (batch, v.feature_dim):
                            raise CheckpointError(f"{where}: encode returned shape {tuple(features.shape)} for "
                                                  f"{batch} image(s), expected ({batch}, {v.feature_dim})")
                    stack = torch.zeros(1, n, v.frames_per_camera, v.feature_dim, device=dev)
                    action = self.module(stack, obs)
        except CheckpointError:
            raise
        except Exception as exc:  # TorchScript raises RuntimeError with the graph's message
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"{where}: the module fails on inputs of the documented shapes: {first}") from exc
        if not isinstance(action, torch.Tensor) or tuple(action.shape) != (1, ACTION_DIM):
            shape = tuple(action.shape) if isinstance(action, torch.Tensor) else type(action).__name__
            raise CheckpointError(f"{where}: forward returned {shape}, expected action shape (1, {ACTION_DIM})")

    # --- running ----------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the history, the feature stacks, the previous action, the gripper state and the
        stamps seen (each camera's newest encoded frame stays cached: a step given that frame
        again reuses it). The gripper state is then taken from the next step's finger travel."""
        self._history: torch.Tensor | None = None
        self._last_action = np.zeros(ACTION_DIM, dtype=np.float32)
        self._gripper: tuple[np.ndarray, np.ndarray] | None = None  # (closed, consecutive asks to switch)
        # stamps of the inputs of the last accepted step; check(now_s) tells which are stale now
        self.watchdog = StalenessWatchdog(self.max_age_s)
        if self.metadata.vision is not None:
            self._features.reset()
        self.steps = 0
        self.input_ages_s: dict[str, float] = {}  # input name -> age at the last accepted step [s]

    @property
    def history(self) -> np.ndarray | None:
        """Copy of the observation history (history, step_dim), oldest first; None before the
        first step after a reset."""
        return None if self._history is None else self._history.cpu().numpy().copy()

    def step(self, now_s: float, obs: Mapping[str, tuple[float, object]],
             frames: Mapping[str, tuple[float, np.ndarray]] | None,
             tcp_pos_b_m, tcp_quat_b_wxyz, tcp_stamp_s: float) -> PolicyCommand:
        """One policy step. ``obs``: term -> (stamp_s, values (dim,)); ``frames``: camera ->
        (stamp_s, rgb (H, W, 3) uint8), None or {} for a state policy; ``tcp_pos_b_m`` (3,) m and
        ``tcp_quat_b_wxyz`` (4,) w, x, y, z: the measured TCP pose, stamped ``tcp_stamp_s``. A camera
        frame with the stamp of that camera's last encoded frame is taken to be that frame and
        its features are reused (it is still pushed as this step's frame and age-checked).

        Returns the command, or raises InvalidInputError / NonFiniteError / StaleInputError."""
        if not isinstance(now_s, (int, float, np.integer, np.floating)) or not math.isfinite(now_s):
            raise NonFiniteError(f"now_s must be a finite number, got {now_s!r}", ("now_s",))
        values, stamps = self._check_structure(obs, frames or {}, tcp_pos_b_m, tcp_quat_b_wxyz, tcp_stamp_s)
        self._check_finite(values, stamps)
        self._check_ages(now_s, stamps)

        step_vec = [np.asarray(values[f"obs/{t.name}"], dtype=np.float32) if t.name != LAST_ACTION_TERM
                    else self._last_action for t in self.metadata.observation.terms]
        sample = torch.from_numpy(np.concatenate(step_vec)).to(self.device)
        history = self._with_newest(sample)
        with torch.no_grad():
            if self.metadata.vision is None:
                action_t = self.module(history.reshape(1, -1))
            else:
                stack = self._features.with_newest(self._encode_new(frames, stamps))
                action_t = self.module(stack[None], history.reshape(1, -1))
        action = action_t.detach().to("cpu", torch.float64).numpy().reshape(-1)
        if action.shape != (ACTION_DIM,):
            raise CheckpointError(f"forward returned {action.size} values, expected {ACTION_DIM}")
        if not np.isfinite(action).all():
            raise NonFiniteError(f"policy action is not finite: {action.tolist()}", ("action",))

        self._history = history
        self.input_ages_s = {name: float(now_s - stamp) for name, stamp in stamps.items()}
        for name, stamp in stamps.items():
            self.watchdog.update(name, float(stamp))
        if self.metadata.vision is not None:
            self._features.commit(stack)
        self._last_action = action.astype(np.float32)
        self.steps += 1
        pos, quat, close = action_to_target(action, values[EE_POSE_INPUT][:3], values[EE_POSE_INPUT][3:], self._scale)
        return PolicyCommand(pos, quat, self._switched_gripper(close, values), float(now_s), action)

    def _switched_gripper(self, close_asked, values) -> bool:
        """The gripper command under ``ActionSpec.gripper_switch_steps``. After a reset the state
        is the measured one (fingers moved in more than ``CLOSED_TRAVEL_M``: closed), as training
        starts from its reset state; without a finger term, the first action sets it."""
        steps = self.metadata.action.gripper_switch_steps
        asked = np.asarray(close_asked, dtype=bool)
        if steps == 1:
            return bool(asked)
        if self._gripper is None:
            travel = values.get(f"obs/{FINGER_TERM}")
            closed = asked if travel is None else np.asarray(float(np.mean(travel)) > CLOSED_TRAVEL_M)
            self._gripper = (closed, np.asarray(0))
        self._gripper = switch_gripper(asked, *self._gripper, steps)
        return bool(self._gripper[0])

    def encode_frame(self, camera: str, stamp_s: float, rgb: np.ndarray) -> None:
        """Encode ``camera``'s frame now, ahead of the step that uses it: a later ``step`` given
        the frame with this stamp reuses the features (and still checks its age then). For a
        caller that gets frames between steps, so a step does not wait for the encoders.
        Raises InvalidInputError (not a camera of this policy, wrong shape) or NonFiniteError."""
        name = f"camera/{camera}"
        if camera not in self.cameras:
            raise InvalidInputError(f"invalid policy input: '{name}' is not a camera of this policy", (name,))
        hw = self.metadata.vision.image_hw  # type: ignore[union-attr]  # cameras imply vision
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.shape != (*hw, 3):
            raise InvalidInputError(f"invalid policy input: '{name}' must be a uint8 array ({hw[0]}, {hw[1]}, 3)", (name,))
        if not isinstance(stamp_s, (int, float, np.integer, np.floating)) or not math.isfinite(stamp_s):
            raise NonFiniteError(f"non-finite policy input: stamp of '{name}' is {stamp_s!r}", (name,))
        if self._features.cached(camera, float(stamp_s)) is None:
            self._encode({camera: (stamp_s, rgb)}, {name: stamp_s}, [self.cameras.index(camera)])

    def _with_newest(self, sample: torch.Tensor) -> torch.Tensor:
        if self._history is None:
            return push_history(sample[None].expand(self.metadata.observation.history, -1), sample, True)
        return push_history(self._history, sample, False)

    def _encode_new(self, frames, stamps) -> torch.Tensor:
        """Newest features per camera (n_cameras, F): cached if the frame was encoded before,
        else all new frames encoded in one call."""
        newest: list[torch.Tensor | None] = []
        todo = []
        for i, cam in enumerate(self.cameras):
            hit = self._features.cached(cam, stamps[f"camera/{cam}"])
            newest.append(hit)
            if hit is None:
                todo.append(i)
        if todo:
            for i, f in zip(todo, self._encode(frames, stamps, todo)):
                newest[i] = f
        return torch.stack([f for f in newest if f is not None])  # every camera filled above

    def _encode(self, frames, stamps, todo: list[int]) -> torch.Tensor:
        """Features of cameras ``todo`` (indices) in one call, remembered with their stamps."""
        images = torch.stack([torch.from_numpy(np.ascontiguousarray(frames[self.cameras[i]][1]))
                              for i in todo]).to(self.device).permute(0, 3, 1, 2).contiguous()
        with torch.no_grad():
            features = self.module.encode(images, torch.tensor(todo, dtype=torch.int64, device=self.device))
        bad = [f"camera/{self.cameras[i]}" for i, f in zip(todo, features) if not torch.isfinite(f).all()]
        if bad:
            raise NonFiniteError(f"frame features are not finite for {bad}", tuple(bad))
        for i, f in zip(todo, features):
            cam = self.cameras[i]
            self._features.remember(cam, float(stamps[f"camera/{cam}"]), f)
        return features

    # --- input checks -----------------------------------------------------------------
    def _check_structure(self, obs, frames, tcp_pos_b_m, tcp_quat_b_wxyz, tcp_stamp_s):
        """Values and stamps by input name, or InvalidInputError listing every problem."""
        problems, names, values, stamps = [], [], {}, {}
        if not isinstance(obs, Mapping) or not isinstance(frames, Mapping):
            raise InvalidInputError("obs and frames must be mappings", ("obs", "frames"))

        def bad(name, why):
            problems.append(f"'{name}' {why}")
            names.append(name)

        def unpack(name, item):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                bad(name, "must be a (stamp_s, value) pair")
                return None
            stamps[name] = item[0]
            return item[1]

        expected_terms = {t.name: t.dim for t in self.caller_terms}
        for key in obs:
            if key not in expected_terms:
                why = "is filled by the runtime" if key == LAST_ACTION_TERM else "is not an observation term of this policy"
                bad(f"obs/{key}", why)
        for term, dim in expected_terms.items():
            name = f"obs/{term}"
            if term not in obs:
                bad(name, "missing")
                continue
            value = unpack(name, obs[term])
            if value is None:
                continue
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf" or arr.shape != (dim,):
                bad(name, f"must be {dim} numbers, got shape {arr.shape} dtype {arr.dtype}")
            else:
                values[name] = arr
        for key in frames:
            if key not in self.cameras:
                bad(f"camera/{key}", "is not a camera of this policy" if self.cameras else "given to a state policy")
        hw = self.metadata.vision.image_hw if self.metadata.vision else None
        for cam in self.cameras:
            name = f"camera/{cam}"
            if cam not in frames:
                bad(name, "missing")
                continue
            rgb = unpack(name, frames[cam])
            if rgb is None:
                continue
            if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.shape != (*hw, 3):
                got = f"shape {rgb.shape} dtype {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
                bad(name, f"must be a uint8 array ({hw[0]}, {hw[1]}, 3), got {got}")
        pos, quat = np.asarray(tcp_pos_b_m), np.asarray(tcp_quat_b_wxyz)
        if pos.dtype.kind not in "biuf" or pos.shape != (3,) or quat.dtype.kind not in "biuf" or quat.shape != (4,):
            bad(EE_POSE_INPUT, f"must be position (3,) and quaternion (4,), got {pos.shape} and {quat.shape}")
        else:
            values[EE_POSE_INPUT] = np.concatenate((pos, quat)).astype(np.float64)
            norm = float(np.linalg.norm(quat))
            if math.isfinite(norm) and abs(norm - 1.0) > QUAT_NORM_TOL:
                bad(EE_POSE_INPUT, f"quaternion is not unit length (norm {norm:.6f})")
        stamps[EE_POSE_INPUT] = tcp_stamp_s
        if problems:
            raise InvalidInputError("invalid policy input: " + "; ".join(problems), tuple(names))
        return values, stamps

    def _check_finite(self, values, stamps) -> None:
        problems = self._guard.check(values)
        names = [n for n in values if any(p.startswith(f"'{n}'") for p in problems)]
        for name, stamp in stamps.items():
            if not isinstance(stamp, (int, float, np.integer, np.floating)) or not math.isfinite(stamp):
                problems.append(f"stamp of '{name}' is not a finite number: {stamp!r}")
                names.append(name)
        if problems:
            raise NonFiniteError("non-finite policy input: " + "; ".join(problems), tuple(names))

    def _check_ages(self, now_s: float, stamps) -> None:
        """Ages at ``now_s`` of this step's inputs, and no input older than the one last used."""
        problems, names = [], []
        this_step = StalenessWatchdog(self.max_age_s)
        for name, stamp in stamps.items():
            last = self.watchdog.last_stamp_s(name)
            if last is not None and stamp < last:
                problems.append(f"'{name}' stamp {float(stamp):.6f} s is older than the one last used ({last:.6f} s)")
                names.append(name)
            this_step.update(name, float(stamp))
        for stale in this_step.check(now_s):
            if stale.name not in names:
                problems.append(stale.message)
                names.append(stale.name)
        if problems:
            raise StaleInputError("stale policy input: " + "; ".join(problems), tuple(names))


# --- checkpoint reading and checking ----------------------------------------------------
def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.jit.ScriptModule, PolicyMetadata]:
    """The module and its metadata, or CheckpointError saying what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    extra = {METADATA_FILE: ""}
    try:
        with quiet_torchscript():
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as exc:
        if zipfile.is_zipfile(path) and not any(n.endswith("constants.pkl") for n in zipfile.ZipFile(path).namelist()):
            why = "a torch archive but not TorchScript (saved with torch.save instead of torch.jit.save?)"
        else:
            why = "corrupted or not a TorchScript archive"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: {why}: {first[:200]}") from exc
    module.eval()
    text = extra[METADATA_FILE]
    if not text:
        raise CheckpointError(f"{path}: missing metadata (no '{METADATA_FILE}' in the archive)")
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {exc}") from None
    version = data.get("spec_version") if isinstance(data, dict) else None
    if version != SPEC_VERSION:
        raise CheckpointError(f"{path}: spec version {version!r}, this software reads spec version {SPEC_VERSION!r}")
    try:
        metadata = PolicyMetadata.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid metadata: {exc}") from None
    return module, metadata


def check_against(metadata: PolicyMetadata, expected: ExpectedSpec) -> None:
    """CheckpointError naming the first difference that matters for deployment."""
    md = metadata
    if md.spec_version != expected.spec_version:
        raise CheckpointError(f"spec version {md.spec_version!r}, expected {expected.spec_version!r}")
    if md.kind != expected.kind:
        raise CheckpointError(f"policy kind {md.kind!r}, expected {expected.kind!r}")
    if expected.task is not None and md.task != expected.task:
        raise CheckpointError(f"task {md.task!r}, expected {expected.task!r}")
    _check_observation(md.observation, expected.observation)
    if md.vision is not None:
        v, want = md.vision, expected.vision or VisionSpec()
        if v.cameras != want.cameras:
            raise CheckpointError(f"cameras {list(v.cameras)}, expected {list(want.cameras)} (names and order)")
        if v.image_hw != want.image_hw:
            raise CheckpointError(f"image size (h, w) {v.image_hw}, expected {want.image_hw}")
        if v.frames_per_camera != want.frames_per_camera:
            raise CheckpointError(f"frames per camera {v.frames_per_camera}, expected {want.frames_per_camera}")
    a, e = md.action, expected.action
    if not np.allclose(a.scale, e.scale, rtol=expected.scale_rtol, atol=0.0):
        raise CheckpointError(f"action scale {list(a.scale)}, expected {list(e.scale)}")
    for name in ("policy_rate_hz", "control_rate_hz"):
        got, want = getattr(a, name), getattr(e, name)
        if not math.isclose(got, want, rel_tol=1e-9):
            raise CheckpointError(f"action {name} {got}, expected {want}")
    if expected.gains is not None and md.gains != expected.gains:
        diff = [f for f in OscGains.__dataclass_fields__ if getattr(md.gains, f) != getattr(expected.gains, f)]
        raise CheckpointError(f"controller gains differ from training in {diff}")
    dims = {t.name: t.dim for t in md.observation.terms}
    if dims.get(LAST_ACTION_TERM, ACTION_DIM) != ACTION_DIM:
        raise CheckpointError(f"observation term '{LAST_ACTION_TERM}' has dim {dims[LAST_ACTION_TERM]}, "
                              f"expected {ACTION_DIM} (the runtime fills it with its previous action)")


def _check_observation(got: ObservationSpec, want: ObservationSpec) -> None:
    got_names, want_names = [t.name for t in got.terms], [t.name for t in want.terms]
    if got_names != want_names:
        missing = [n for n in want_names if n not in got_names]
        extra = [n for n in got_names if n not in want_names]
        if not missing and not extra:
            raise CheckpointError(f"observation term order {got_names}, expected {want_names}")
        raise CheckpointError(f"observation terms differ: missing {missing}, unexpected {extra}")
    for g, w in zip(got.terms, want.terms):
        if g.dim != w.dim:
            raise CheckpointError(f"observation term '{g.name}' has dim {g.dim}, expected {w.dim}")
    if got.history != want.history:
        raise CheckpointError(f"observation history {got.history} steps, expected {want.history}")
