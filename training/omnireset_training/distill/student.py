"""The student as trained: the core's ``RgbStudent`` (what is exported) plus an auxiliary head
that reconstructs the object poses from the newest frames' features, the image augmentations,
the loss, and ImageNet initialisation of the encoders from a local weights file.

Loss per sample: KL(expert || student) of the two diagonal Gaussians, summed over the 7 action
dimensions, plus ``aux_weight`` times the MSE of the object poses, each of the 12 pose values
divided by its spread in the training data (``pose_scale``) so metres and radians weigh alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from omnireset_core.config import check_range
from omnireset_core.policy.vision import RgbStudent

POSE_DIM = 12  # insertive and receptive (x, y, z [m], rotation vector [rad]) in frame b


class DistillStudent(nn.Module):
    pose_scale: Tensor  # a buffer

    def __init__(self, n_cameras: int, frames_per_camera: int, proprio_dim: int,
                 hidden: tuple[int, ...] = (512, 512, 512, 512), pose_scale: Tensor | None = None):
        super().__init__()
        self.student = RgbStudent(n_cameras, frames_per_camera, proprio_dim, hidden)
        self.n_cameras, self.frames = n_cameras, frames_per_camera
        self.pose_head = nn.Linear(n_cameras * self.student.feature_dim, POSE_DIM)
        self.register_buffer("pose_scale", torch.ones(POSE_DIM) if pose_scale is None else pose_scale.float())

    def forward(self, images: Tensor, proprio: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """images (B, n_cameras, frames, 3, H, W) uint8, proprio (B, P) -> (mean, log_std) (B, 7)
        and the object poses (B, 12) in their units."""
        b, c, k = images.shape[:3]
        camera = torch.arange(c, device=images.device).repeat_interleave(k).repeat(b)
        features = self.student.encode(images.flatten(0, 2), camera).view(b, c, k, -1)
        mean, log_std = self.student.distribution(features, proprio)
        poses = self.pose_head(features[:, :, -1].flatten(1)) * self.pose_scale
        return mean, log_std, poses


def gaussian_kl(mean_p: Tensor, std_p: Tensor, mean_q: Tensor, log_std_q: Tensor) -> Tensor:
    """KL(p || q) of diagonal Gaussians, summed over the last axis."""
    var_q = torch.exp(2 * log_std_q)
    return (log_std_q - torch.log(std_p) + (std_p.square() + (mean_p - mean_q).square()) / (2 * var_q) - 0.5).sum(-1)


def distill_loss(student: DistillStudent, mean: Tensor, log_std: Tensor, poses: Tensor, expert_mean: Tensor,
                 expert_std: Tensor, target_poses: Tensor, aux_weight: float) -> tuple[Tensor, dict[str, Tensor]]:
    kl = gaussian_kl(expert_mean, expert_std, mean, log_std).mean()
    aux = ((poses - target_poses) / student.pose_scale).square().mean()
    terms = {"kl": kl.detach(), "aux_mse": aux.detach(),
             "action_mae": (mean - expert_mean).abs().mean().detach(),
             "aux_pos_err_mm": 1e3 * torch.linalg.vector_norm((poses - target_poses).view(-1, 4, 3)[:, ::2], dim=-1)
             .mean().detach()}
    return kl + aux_weight * aux, terms


# --- augmentations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AugmentConfig:
    enabled: bool = True
    brightness: float = 0.1  # factors drawn in [1 - x, 1 + x]
    contrast: float = 0.1
    saturation: float = 0.1
    hue: float = 0.05  # shift in turns, drawn in [-x, x]
    blur_kernel: int = 5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    grayscale_p: float = 0.05
    noise_std: float = 0.01  # Gaussian pixel noise, images in [0, 1]

    def __post_init__(self):
        for name in ("brightness", "contrast", "saturation"):
            check_range(f"AugmentConfig.{name}", getattr(self, name), 0.0, 1.0)
        check_range("AugmentConfig.hue", self.hue, 0.0, 0.5)
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"AugmentConfig.blur_kernel must be odd and positive, got {self.blur_kernel}")
        if not 0 < self.blur_sigma[0] <= self.blur_sigma[1]:
            raise ValueError(f"AugmentConfig.blur_sigma must be 0 < low <= high, got {self.blur_sigma}")
        check_range("AugmentConfig.grayscale_p", self.grayscale_p, 0.0, 1.0)
        check_range("AugmentConfig.noise_std", self.noise_std, 0.0, 0.5)


_GRAY = torch.tensor([0.299, 0.587, 0.114])
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def augment(images: Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> Tensor:
    """uint8 (N, 3, H, W) -> uint8 (N, 3, H, W), each image with its own random draw: colour
    jitter (brightness, contrast, saturation, hue as a rotation of the YIQ chroma), Gaussian blur
    (sigma uniform in ``blur_sigma``), grayscale with probability ``grayscale_p``, pixel noise."""
    if not cfg.enabled:
        return images
    n, dev = images.shape[0], images.device

    def rand(*shape: int) -> Tensor:  # drawn on the CPU generator, used on the images' device
        return torch.rand(*shape, generator=generator).to(dev)

    def factor(width: float) -> Tensor:
        return (1 + width * (2 * rand(n, 1, 1, 1) - 1))

    x = images.float() / 255.0
    gray_weights = _GRAY.to(dev).view(1, 3, 1, 1)
    gray = lambda t: (t * gray_weights).sum(1, keepdim=True)  # noqa: E731
    x = (x * factor(cfg.brightness)).clamp(0, 1)
    x = ((x - gray(x).mean((2, 3), keepdim=True)) * factor(cfg.contrast) + gray(x).mean((2, 3), keepdim=True)).clamp(0, 1)
    x = ((x - gray(x)) * factor(cfg.saturation) + gray(x)).clamp(0, 1)
    angle = 2 * math.pi * cfg.hue * (2 * rand(n) - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(n, 3, 3, device=dev)
    rot[:, 0, 0], rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = 1, cos, -sin, sin, cos
    yiq = _RGB_TO_YIQ.to(dev)
    hue = torch.linalg.inv(yiq) @ rot @ yiq  # (n, 3, 3)
    x = torch.einsum("nij,njhw->nihw", hue, x).clamp(0, 1)
    x = _blur(x, cfg.blur_kernel, cfg.blur_sigma[0] + (cfg.blur_sigma[1] - cfg.blur_sigma[0]) * rand(n))
    to_gray = rand(n, 1, 1, 1) < cfg.grayscale_p
    x = torch.where(to_gray, gray(x).expand_as(x), x)
    x = x + cfg.noise_std * torch.randn(x.shape, generator=generator).to(dev)
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8)


def _blur(x: Tensor, kernel: int, sigma: Tensor) -> Tensor:
    """Separable Gaussian blur with a per-image sigma (reflect padding)."""
    n, c, h, w = x.shape
    r = torch.arange(kernel, dtype=x.dtype, device=x.device) - kernel // 2
    taps = torch.exp(-0.5 * (r[None] / sigma[:, None]).square())
    taps = taps / taps.sum(1, keepdim=True)  # (n, k)
    weight = taps.repeat_interleave(c, 0)  # one kernel per (image, channel)
    y = F.pad(x.reshape(1, n * c, h, w), (kernel // 2,) * 4, mode="reflect")
    y = F.conv2d(y, weight.view(n * c, 1, 1, kernel), groups=n * c)
    y = F.conv2d(y, weight.view(n * c, 1, kernel, 1), groups=n * c)
    return y.view(n, c, h, w)


# --- ImageNet initialisation ---------------------------------------------------------------------
def _torchvision_names(encoder: nn.Module) -> dict[str, str]:
    """ResNet18GN parameter name -> torchvision resnet18 state-dict key (GroupNorm takes the
    BatchNorm's affine weight and bias; running statistics have no counterpart)."""
    names = {"stem.0.weight": "conv1.weight", "stem.1.weight": "bn1.weight", "stem.1.bias": "bn1.bias"}
    for i in range(8):
        layer, block = f"layer{i // 2 + 1}", i % 2
        for ours, theirs in (("conv1", "conv1"), ("norm1", "bn1"), ("conv2", "conv2"), ("norm2", "bn2"),
                             ("shortcut.0", "downsample.0"), ("shortcut.1", "downsample.1")):
            for p in ("weight", "bias"):
                names[f"blocks.{i}.{ours}.{p}"] = f"{layer}.{block}.{theirs}.{p}"
    own = dict(encoder.named_parameters())
    return {k: v for k, v in names.items() if k in own}


def load_imagenet_weights(encoder: nn.Module, path: str | Path) -> int:
    """Copy a torchvision resnet18 state dict (``torch.save``d, e.g. resnet18-f37072fd.pth) into
    ``encoder``; returns the number of tensors copied. ValueError naming what is missing."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict")
    names = _torchvision_names(encoder)
    missing = sorted(v for v in names.values() if v not in state)
    if missing:
        raise ValueError(f"{path}: not a torchvision resnet18 state dict (missing {missing[:3]}...)")
    own = dict(encoder.named_parameters())
    with torch.no_grad():
        for ours, theirs in names.items():
            if own[ours].shape != state[theirs].shape:
                raise ValueError(f"{path}: {theirs} has shape {tuple(state[theirs].shape)}, "
                                 f"expected {tuple(own[ours].shape)}")
            own[ours].copy_(state[theirs])
    return len(names)
