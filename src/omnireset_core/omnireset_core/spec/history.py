"""The stacked history of the contract's observation (and of an RGB student's frame features),
written once for numpy and torch: oldest first, and a stack that starts over is filled with its
first sample (first-sample padding), in training and in deployment alike."""
from __future__ import annotations

from array_api_compat import array_namespace


def push_history(stack, newest, restart):
    """``stack`` (..., H, D) after appending ``newest`` (..., D), a new array; where ``restart``
    (a bool, or bools of shape (...)) every slot is ``newest``."""
    xp = array_namespace(stack, newest)
    newest = xp.astype(newest, stack.dtype)
    shifted = xp.concat((stack[..., 1:, :], newest[..., None, :]), axis=-2)
    padded = xp.broadcast_to(newest[..., None, :], stack.shape)
    restart = xp.asarray(restart, device=getattr(stack, "device", None))
    return xp.where(restart[..., None, None], padded, shifted)
