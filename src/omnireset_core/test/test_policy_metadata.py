"""Policy metadata: JSON round trip, strict parsing, validation by field name, export."""
import dataclasses
import datetime as dt
import json

import pytest

from omnireset_core import __version__ as core_version
from omnireset_core.control.osc import OscGains
from omnireset_core.policy.metadata import METADATA_FILE, PolicyMetadata, VisionSpec, parse_utc, read_metadata
from omnireset_core.spec import SPEC_VERSION, ActionSpec, ObservationSpec, default_actor_observation

pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

PROPRIO = default_actor_observation().select(("last_action", "joint_pos", "ee_pose_b"), history=5)


def state_metadata(**changes):
    md = PolicyMetadata(spec_version=SPEC_VERSION, kind="state", task="peg", observation=default_actor_observation(),
                        action=ActionSpec(), gains=OscGains(), train_config_hash="sha256:" + "0" * 64,
                        torch_version="2.13.0", core_version=core_version, normalizer_folded=True,
                        created_utc="2025-01-31T12:00:00Z")
    return dataclasses.replace(md, **changes)


def rgb_metadata(**changes):
    md = state_metadata(kind="rgb", observation=PROPRIO, vision=VisionSpec(), action=ActionSpec(scale=(0.01,) * 6),
                        gains=OscGains(kp_pos=(800.0,) * 3), normalizer_folded=False)
    return dataclasses.replace(md, **changes)


def needs_torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@pytest.mark.parametrize("make", [state_metadata, rgb_metadata])
def test_json_round_trip_is_exact(make):
    md = make()
    text = md.to_json()
    back = PolicyMetadata.from_json(text)
    assert back == md and back.to_json() == text
    assert PolicyMetadata.from_json(text.encode()) == md  # bytes, as read from the archive
    data = json.loads(text)
    assert ("vision" in data) == (md.kind == "rgb")
    if md.kind == "rgb":
        assert data["vision"] == {"cameras": ["front", "side", "wrist"], "image_hw": [224, 224],
                                  "frames_per_camera": 5, "feature_dim": 512}
        assert back.gains.kp_pos == (800.0,) * 3 and back.normalizer_folded is False


def test_new_metadata_records_versions_time_and_config_hash():
    torch = needs_torch()
    from omnireset_core.policy import config_hash, new_metadata

    md = new_metadata("state", "peg", default_actor_observation(), {"lr": 3e-4, "envs": 4096})
    assert md.notes == "" and new_metadata("state", "peg", md.observation, {}, notes="n").notes == "n"
    assert md.spec_version == SPEC_VERSION and md.kind == "state" and md.task == "peg"
    assert md.torch_version == torch.__version__ and md.core_version == core_version
    assert md.observation.dim == 38 * 5 and md.normalizer_folded is True
    assert md.train_config_hash == config_hash({"envs": 4096, "lr": 3e-4})
    age = dt.datetime.now(dt.timezone.utc) - parse_utc(md.created_utc)
    assert md.created_utc.endswith("Z") and dt.timedelta(0) <= age < dt.timedelta(minutes=1)


def test_config_hash_ignores_key_order_but_not_values():
    needs_torch()
    from omnireset_core.policy import config_hash

    a = config_hash({"ppo": {"lr": 3e-4, "clip": 0.2}, "seed": 1})
    assert a == config_hash({"seed": 1, "ppo": {"clip": 0.2, "lr": 3e-4}})
    assert a != config_hash({"seed": 2, "ppo": {"clip": 0.2, "lr": 3e-4}})
    assert a.startswith("sha256:") and len(a) == len("sha256:") + 64


@pytest.mark.parametrize("changes,match", [
    ({"kind": "image"}, r"PolicyMetadata\.kind"),
    ({"vision": None}, r"PolicyMetadata\.vision must be given for kind 'rgb'"),
    ({"task": ""}, r"PolicyMetadata\.task"),
    ({"created_utc": "yesterday"}, r"PolicyMetadata\.created_utc"),
    ({"created_utc": "2025-01-31T12:00:00+02:00"}, r"PolicyMetadata\.created_utc"),
    ({"normalizer_folded": "yes"}, r"PolicyMetadata\.normalizer_folded"),
    ({"observation": ObservationSpec(terms=PROPRIO.terms, history=0)}, r"observation\.history"),
    ({"observation": ObservationSpec(terms=PROPRIO.terms[:1] * 2)}, r"duplicate names"),
])
def test_invalid_metadata_names_the_field(changes, match):
    with pytest.raises(ValueError, match=match):
        rgb_metadata(**changes)


def test_state_metadata_must_not_carry_vision():
    with pytest.raises(ValueError, match=r"PolicyMetadata\.vision"):
        state_metadata(vision=VisionSpec())


@pytest.mark.parametrize("kwargs,match", [
    ({"cameras": ("front", "front")}, "duplicate"),
    ({"cameras": ()}, r"VisionSpec\.cameras"),
    ({"image_hw": (224,)}, r"VisionSpec\.image_hw"),
    ({"image_hw": (224, 0)}, r"VisionSpec\.image_hw"),
    ({"frames_per_camera": 0}, r"VisionSpec\.frames_per_camera"),
    ({"feature_dim": 5.0}, r"VisionSpec\.feature_dim"),
])
def test_invalid_vision_spec_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VisionSpec(**kwargs)


def edit(md, fn):
    data = json.loads(md.to_json())
    fn(data)
    return json.dumps(data)


@pytest.mark.parametrize("fn,match", [
    (lambda d: d.update(extra=1), r"metadata: unknown key\(s\) \['extra'\]"),
    (lambda d: d.pop("gains"), r"metadata: missing key\(s\) \['gains'\]"),
    (lambda d: d["gains"].update(kp=1), r"metadata\.gains: unknown key\(s\) \['kp'\]"),
    (lambda d: d["action"].pop("scale"), r"metadata\.action: missing key\(s\) \['scale'\]"),
    (lambda d: d["observation"]["terms"][1].pop("dim"), r"metadata\.observation\.terms\[1\]: missing"),
    (lambda d: d["observation"].update(history=2.5), r"observation\.history must be a positive integer"),
    (lambda d: d["action"].update(scale=[0.02] * 5), r"ActionSpec\.scale"),
    (lambda d: d["vision"].update(image_hw=[224]), r"VisionSpec\.image_hw"),
])
def test_parsing_is_strict_and_names_the_key(fn, match):
    with pytest.raises(ValueError, match=match):
        PolicyMetadata.from_json(edit(rgb_metadata(), fn))


def test_notes_are_optional_free_text():
    md = state_metadata(notes="placeholder checkpoint, not trained")
    assert PolicyMetadata.from_json(md.to_json()).notes == "placeholder checkpoint, not trained"
    older = json.loads(state_metadata().to_json())
    del older["notes"]  # checkpoints written before the field existed still load
    assert PolicyMetadata.from_dict(older).notes == ""
    with pytest.raises(ValueError, match=r"PolicyMetadata\.notes must be a string"):
        PolicyMetadata.from_json(edit(state_metadata(), lambda d: d.update(notes=3)))


def test_not_json_is_refused():
    with pytest.raises(ValueError, match="not valid JSON"):
        PolicyMetadata.from_json("{spec_version: 1")
    with pytest.raises(ValueError, match="must be a JSON object"):
        PolicyMetadata.from_json("[1, 2]")


def mlp_class(torch):
    class Mlp(torch.nn.Module):
        def __init__(self, dim_in):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(dim_in, 16), torch.nn.ELU(), torch.nn.Linear(16, 7))

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return self.net(obs)

    return Mlp


def test_export_writes_torchscript_with_metadata_and_no_leftovers(tmp_path):
    torch = needs_torch()
    from omnireset_core.policy import export_policy

    Mlp, md = mlp_class(torch), state_metadata()
    path = export_policy(Mlp(default_actor_observation().dim).train(), tmp_path / "policy.pt", md)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.pt"]
    extra = {METADATA_FILE: ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    assert PolicyMetadata.from_json(extra[METADATA_FILE]) == md
    assert not module.training and module(torch.zeros(2, default_actor_observation().dim)).shape == (2, 7)
    assert read_metadata(path) == md  # the same metadata, read from the archive without torch
    (tmp_path / "not_a_checkpoint.pt").write_text("{}")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        read_metadata(tmp_path / "not_a_checkpoint.pt")


def test_export_refuses_an_rgb_module_without_encode(tmp_path):
    torch = needs_torch()
    from omnireset_core.policy import export_policy

    Mlp = mlp_class(torch)
    with pytest.raises(ValueError, match=r"'rgb' policy must define method\(s\) \['encode'\]"):
        export_policy(Mlp(default_actor_observation().dim), tmp_path / "student.pt", rgb_metadata())
    assert list(tmp_path.iterdir()) == []
