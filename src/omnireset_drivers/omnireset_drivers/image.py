"""Centre-crop + area resize of RGB images in numpy, and the matching pinhole intrinsics.

Pixel convention: integer coordinates are pixel centres, so an input coordinate ``u`` maps to
``(u - x0 + 0.5) * scale - 0.5`` in the output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from omnireset_core.interfaces import CameraIntrinsics


def _area_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Input indices and weights, both (n_out, k): output j averages the input span it covers."""
    scale = n_in / n_out  # input pixels per output pixel
    edges = np.arange(n_out + 1) * scale
    first = np.floor(edges[:-1]).astype(int)
    k = int(math.ceil(scale)) + 1
    idx = first[:, None] + np.arange(k)[None, :]
    lo = np.maximum(edges[:-1, None], idx)
    hi = np.minimum(edges[1:, None], idx + 1)
    weights = np.clip(hi - lo, 0.0, None)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.clip(idx, 0, n_in - 1), weights.astype(np.float32)


@dataclass(frozen=True)
class CropResize:
    """Largest centred crop with the output aspect ratio, then area-average resize."""

    in_width_px: int
    in_height_px: int
    out_width_px: int
    out_height_px: int
    # derived in __post_init__
    crop_width_px: int = field(init=False)
    crop_height_px: int = field(init=False)
    x0_px: int = field(init=False)
    y0_px: int = field(init=False)
    _rows: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _cols: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("in_width_px", "in_height_px", "out_width_px", "out_height_px"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        w, h, ow, oh = self.in_width_px, self.in_height_px, self.out_width_px, self.out_height_px
        if w * oh >= h * ow:  # input wider than output: crop columns
            crop_w, crop_h = min(w, max(1, round(h * ow / oh))), h
        else:
            crop_w, crop_h = w, min(h, max(1, round(w * oh / ow)))
        object.__setattr__(self, "crop_width_px", crop_w)
        object.__setattr__(self, "crop_height_px", crop_h)
        object.__setattr__(self, "x0_px", (w - crop_w) // 2)
        object.__setattr__(self, "y0_px", (h - crop_h) // 2)
        object.__setattr__(self, "_rows", _area_taps(crop_h, oh))
        object.__setattr__(self, "_cols", _area_taps(crop_w, ow))

    @property
    def scale_x(self) -> float:
        return self.out_width_px / self.crop_width_px

    @property
    def scale_y(self) -> float:
        return self.out_height_px / self.crop_height_px

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.shape[:2] != (self.in_height_px, self.in_width_px):
            raise ValueError(f"expected an image of {self.in_height_px}x{self.in_width_px}, got {rgb.shape[:2]}")
        crop = rgb[self.y0_px:self.y0_px + self.crop_height_px, self.x0_px:self.x0_px + self.crop_width_px]
        if crop.shape[:2] == (self.out_height_px, self.out_width_px):
            return np.ascontiguousarray(crop)
        row_idx, row_w = self._rows
        col_idx, col_w = self._cols
        tmp = np.zeros((self.out_height_px, crop.shape[1]) + crop.shape[2:], np.float32)
        for k in range(row_idx.shape[1]):
            w = row_w[:, k].reshape((-1,) + (1,) * (crop.ndim - 1))
            tmp += w * crop[row_idx[:, k]]
        out = np.zeros((self.out_height_px, self.out_width_px) + crop.shape[2:], np.float32)
        for k in range(col_idx.shape[1]):
            w = col_w[:, k].reshape((1, -1) + (1,) * (crop.ndim - 2))
            out += w * tmp[:, col_idx[:, k]]
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def intrinsics(self, intr: CameraIntrinsics) -> CameraIntrinsics:
        """Intrinsics of the output image, given those of the input image."""
        if (intr.width_px, intr.height_px) != (self.in_width_px, self.in_height_px):
            raise ValueError(
                f"intrinsics are for {intr.width_px}x{intr.height_px}, expected {self.in_width_px}x{self.in_height_px}"
            )
        sx, sy = self.scale_x, self.scale_y
        return CameraIntrinsics(
            width_px=self.out_width_px,
            height_px=self.out_height_px,
            fx_px=intr.fx_px * sx,
            fy_px=intr.fy_px * sy,
            cx_px=(intr.cx_px - self.x0_px + 0.5) * sx - 0.5,
            cy_px=(intr.cy_px - self.y0_px + 0.5) * sy - 0.5,
        )
