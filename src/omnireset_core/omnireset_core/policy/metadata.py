"""What a policy checkpoint is, and the metadata that travels inside it.

Checkpoint file
---------------
A TorchScript archive written by ``torch.jit.save(module, path, _extra_files={METADATA_FILE:
json})`` (see ``export.export_policy``). The JSON is ``PolicyMetadata.to_json()``. Every tensor
is float32 unless stated; ``B`` is the batch size (1 at deployment). The module receives RAW
observations: any observation normaliser lives inside it (``normalizer_folded``) or was never
used; the runtime never normalises.

kind == "state" (PPO expert):
    forward(obs: (B, observation.dim) float32) -> action (B, 7)
        ``obs`` is the actor observation: per history step the terms of ``observation`` in
        their listed order, concatenated; ``observation.history`` steps, oldest first.

kind == "rgb" (distilled student), two methods:
    encode(images: (N, 3, H, W) uint8, camera: (N,) int64) -> features (N, vision.feature_dim)
        One frame per row, RGB channel order, 0..255, H x W = vision.image_hw; ``camera[i]``
        is the index in ``vision.cameras`` of the camera row i comes from (a student may use
        one encoder per camera). Conversion to float and per-channel normalisation happen
        inside. Rows are independent (a frame's features do not depend on the other rows),
        so each new frame is encoded once and its features reused while it stays in the
        stack. Exported with ``@torch.jit.export``.
    forward(features: (B, n_cameras, frames_per_camera, feature_dim), proprio: (B, P)) -> action (B, 7)
        ``features[:, c, k]`` are camera ``vision.cameras[c]``'s features of its k-th frame,
        oldest first (k = frames_per_camera - 1 is the newest, one frame per policy step).
        ``proprio`` is laid out exactly like a state ``obs`` built from ``observation``
        (which, for rgb, lists the proprioceptive terms only), P = observation.dim.

The action is deterministic (the policy mean, no sampling): (dx, dy, dz, rx, ry, rz) scaled by
``action.scale`` into a pose delta in frame b, then the gripper value (< 0 closes); see
``control.action``.

Reading and checking metadata needs no torch.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, fields

from omnireset_core.control.osc import OscGains
from omnireset_core.spec.contract import ActionSpec, ObservationSpec, ObservationTerm

METADATA_FILE = "omnireset/metadata.json"  # name of the extra file inside the TorchScript archive
KINDS = ("state", "rgb")
STATE_METHODS = ("forward",)
RGB_METHODS = ("encode", "forward")
DEFAULT_CAMERAS = ("front", "side", "wrist")


def required_methods(kind: str) -> tuple[str, ...]:
    return RGB_METHODS if kind == "rgb" else STATE_METHODS


@dataclass(frozen=True)
class VisionSpec:
    """Camera inputs of an RGB student: per camera a stack of the last frames' features."""

    cameras: tuple[str, ...] = DEFAULT_CAMERAS  # order of axis 1 of ``features``
    image_hw: tuple[int, int] = (224, 224)  # pixels (height, width) that ``encode`` takes
    frames_per_camera: int = 5  # one frame per policy step, oldest first
    feature_dim: int = 512  # per-frame feature size returned by ``encode``

    def __post_init__(self):
        if (not isinstance(self.cameras, tuple) or not self.cameras
                or not all(isinstance(c, str) and c for c in self.cameras)):
            raise ValueError(f"VisionSpec.cameras must be a non-empty tuple of names, got {self.cameras!r}")
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"VisionSpec.cameras has duplicate names: {self.cameras!r}")
        if (not isinstance(self.image_hw, tuple) or len(self.image_hw) != 2
                or not all(_is_positive_int(v) for v in self.image_hw)):
            raise ValueError(f"VisionSpec.image_hw must be (height, width) positive integers, got {self.image_hw!r}")
        for name in ("frames_per_camera", "feature_dim"):
            if not _is_positive_int(getattr(self, name)):
                raise ValueError(f"VisionSpec.{name} must be a positive integer, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class PolicyMetadata:
    spec_version: str  # omnireset_core.spec.SPEC_VERSION at export
    kind: str  # "state" | "rgb"
    task: str  # task name, as in omnireset_core.tasks
    observation: ObservationSpec  # state: the actor observation; rgb: the proprio terms
    action: ActionSpec  # scale and the rates the policy was trained at
    gains: OscGains  # task-space controller gains used in training
    train_config_hash: str  # e.g. sha256 of the canonical training config (export.config_hash)
    torch_version: str
    core_version: str  # omnireset_core.__version__
    normalizer_folded: bool  # True: an observation normaliser is inside the module
    created_utc: str  # ISO 8601, e.g. "2025-01-31T12:00:00Z"
    vision: VisionSpec | None = None  # rgb only
    notes: str = ""  # free text for people, e.g. "placeholder checkpoint, not trained"; optional in JSON

    def __post_init__(self):
        for name in ("spec_version", "task", "train_config_hash", "torch_version", "core_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"PolicyMetadata.{name} must be a non-empty string, got {value!r}")
        if self.kind not in KINDS:
            raise ValueError(f"PolicyMetadata.kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "rgb") != (self.vision is not None):
            raise ValueError(f"PolicyMetadata.vision must be given for kind 'rgb' and only then "
                             f"(kind {self.kind!r}, vision {'set' if self.vision else 'None'})")
        for name, cls in (("observation", ObservationSpec), ("action", ActionSpec), ("gains", OscGains)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"PolicyMetadata.{name} must be a {cls.__name__}, got {type(getattr(self, name)).__name__}")
        check_observation_spec("PolicyMetadata.observation", self.observation)
        if not isinstance(self.notes, str):
            raise ValueError(f"PolicyMetadata.notes must be a string, got {self.notes!r}")
        if not isinstance(self.normalizer_folded, bool):
            raise ValueError(f"PolicyMetadata.normalizer_folded must be a bool, got {self.normalizer_folded!r}")
        try:
            parse_utc(self.created_utc)
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"PolicyMetadata.created_utc must be an ISO 8601 UTC time, got {self.created_utc!r}") from None

    # --- JSON round trip ---------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        if self.vision is None:
            del data["vision"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> PolicyMetadata:
        """Strict: unknown or missing keys raise ValueError naming them (``vision`` and ``notes``
        may be absent: ``notes`` arrived after the first checkpoints were written)."""
        _check_keys("metadata", data, cls, optional=("vision", "notes"))
        kwargs = dict(data)
        kwargs["observation"] = _observation_from_dict(data["observation"])
        # Checkpoints exported before gripper_switch_steps existed were trained with its default (1).
        kwargs["action"] = _build("metadata.action", ActionSpec, data["action"], optional=("gripper_switch_steps",))
        kwargs["gains"] = _build("metadata.gains", OscGains, data["gains"])
        if data.get("vision") is not None:
            kwargs["vision"] = _build("metadata.vision", VisionSpec, data["vision"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> PolicyMetadata:
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"metadata is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def read_metadata(path) -> PolicyMetadata:
    """The metadata of a checkpoint file without loading its module (no torch): the JSON extra
    file of the TorchScript zip archive. ValueError if there is none or it is invalid."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/extra/" + METADATA_FILE)]
            if not names:
                raise ValueError(f"{path}: no {METADATA_FILE} in the archive")
            return PolicyMetadata.from_json(archive.read(names[0]))
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable checkpoint: {exc}") from None


def check_observation_spec(where: str, spec: ObservationSpec) -> None:
    names = [t.name for t in spec.terms]
    if not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{where}: term names must be non-empty strings, got {names!r}")
    if not names:
        raise ValueError(f"{where}.terms must not be empty")
    if len(set(names)) != len(names):
        raise ValueError(f"{where}.terms has duplicate names: {names}")
    for term in spec.terms:
        if not _is_positive_int(term.dim):
            raise ValueError(f"{where} term '{term.name}' dim must be a positive integer, got {term.dim!r}")
    if not _is_positive_int(spec.history):
        raise ValueError(f"{where}.history must be a positive integer, got {spec.history!r}")


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> _dt.datetime:
    stamp = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.utcoffset() != _dt.timedelta(0):
        raise ValueError(f"not UTC: {text!r}")
    return stamp


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_keys(where: str, data, cls, optional: tuple[str, ...] = ()) -> None:
    """Every field must be present (no silent defaults from older or newer code), except ``optional``."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    required = names - set(optional)
    unknown, missing = sorted(set(data) - names), sorted(required - set(data))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}")
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}")


def _build(where: str, cls, data, optional: tuple[str, ...] = ()):
    _check_keys(where, data, cls, optional)
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _observation_from_dict(data) -> ObservationSpec:
    _check_keys("metadata.observation", data, ObservationSpec)
    terms = data["terms"]
    if not isinstance(terms, list):
        raise ValueError("metadata.observation.terms must be a list")
    built = []
    for i, term in enumerate(terms):
        _check_keys(f"metadata.observation.terms[{i}]", term, ObservationTerm)
        built.append(ObservationTerm(**term))
    return ObservationSpec(terms=tuple(built), **{k: v for k, v in data.items() if k != "terms"})

