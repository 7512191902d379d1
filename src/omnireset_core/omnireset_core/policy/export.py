"""Write a policy checkpoint: a TorchScript archive with ``PolicyMetadata`` inside (see metadata.py)."""
from __future__ import annotations

import hashlib
import json
import contextlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

import omnireset_core
from omnireset_core.control.osc import OscGains
from omnireset_core.policy.metadata import (
    METADATA_FILE,
    PolicyMetadata,
    VisionSpec,
    required_methods,
    utc_now_iso,
)
from omnireset_core.spec.contract import SPEC_VERSION, ActionSpec, ObservationSpec


@contextlib.contextmanager
def quiet_torchscript():
    """Silence torch's deprecation notice for torch.jit.script/save/load: TorchScript is this
    project's checkpoint format (self-contained, loads without the model's Python code)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        yield


def config_hash(config: Mapping) -> str:
    """Stable hash of a training config (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def new_metadata(kind: str, task: str, observation: ObservationSpec, train_config: Mapping, *,
                 action: ActionSpec = ActionSpec(), gains: OscGains = OscGains(),
                 normalizer_folded: bool = True, vision: VisionSpec | None = None,
                 notes: str = "") -> PolicyMetadata:
    """Metadata for a policy exported now, from this software."""
    return PolicyMetadata(
        spec_version=SPEC_VERSION, kind=kind, task=task, observation=observation, action=action,
        gains=gains, train_config_hash=config_hash(train_config), torch_version=torch.__version__,
        core_version=omnireset_core.__version__, normalizer_folded=normalizer_folded,
        created_utc=utc_now_iso(), vision=vision, notes=notes)


def export_policy(module: torch.nn.Module, path: str | Path, metadata: PolicyMetadata) -> Path:
    """Script ``module`` (unless already TorchScript) in eval mode and save it with ``metadata``.

    The file is written beside ``path`` and renamed into place, so an interrupted export never
    leaves a truncated checkpoint under the final name.
    """
    path = Path(path)
    with quiet_torchscript():
        scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module.eval())
    scripted.eval()
    missing = [name for name in required_methods(metadata.kind) if not hasattr(scripted, name)]
    if missing:
        raise ValueError(f"a '{metadata.kind}' policy must define method(s) {missing} "
                         f"(extra methods need @torch.jit.export)")
    tmp = path.with_name(path.name + ".partial")
    try:
        with quiet_torchscript():
            torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: metadata.to_json()})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
