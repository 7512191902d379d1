"""Policy checkpoints (TorchScript + metadata) and the runtime that runs them at the policy rate.

The checkpoint interface is documented in ``metadata.py``. Export and runtime need torch
(``omnireset_core[torch]``); names are imported on first use, so ``policy.metadata`` works
without it.
"""
import importlib

_WHERE = {
    "METADATA_FILE": "metadata",
    "PolicyMetadata": "metadata",
    "VisionSpec": "metadata",
    "config_hash": "export",
    "export_policy": "export",
    "new_metadata": "export",
    "CheckpointError": "runtime",
    "ExpectedSpec": "runtime",
    "InputAgeLimits": "runtime",
    "InvalidInputError": "runtime",
    "NonFiniteError": "runtime",
    "PolicyCommand": "runtime",
    "PolicyInputError": "runtime",
    "PolicyRuntime": "runtime",
    "StaleInputError": "runtime",
    "read_checkpoint": "runtime",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
