"""RGB students: the per-camera stack of frame features kept by the runtime, and a plain-torch
ResNet-18 (GroupNorm) student that implements the checkpoint interface of metadata.py.

The student here is the reference for that interface (tests and benchmarks use it, training may);
nothing in the runtime depends on its architecture.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from omnireset_core.spec.history import push_history

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureStacks:
    """Per camera, the features of the last ``frames`` frames (oldest first), plus the newest
    encoded frame's stamp and features, so a frame seen again (same stamp) is not re-encoded.

    At the first push after construction or ``reset()`` every slot is filled with that push
    (first-sample padding, as for the observation history). ``reset()`` keeps each camera's
    newest encoded frame: its features depend on the frame alone, not on the history.
    """

    def __init__(self, cameras: tuple[str, ...], frames: int, feature_dim: int, device="cpu"):
        self.cameras = tuple(cameras)
        self.frames, self.feature_dim = frames, feature_dim
        self.stack = torch.zeros(len(cameras), frames, feature_dim, device=device)
        self.pushes = 0
        self._encoded: dict[str, tuple[float, Tensor]] = {}

    def reset(self) -> None:
        self.stack = torch.zeros_like(self.stack)
        self.pushes = 0

    def cached(self, camera: str, stamp_s: float) -> Tensor | None:
        """Features of ``camera``'s newest encoded frame if it has this stamp, else None."""
        hit = self._encoded.get(camera)
        return hit[1] if hit is not None and hit[0] == stamp_s else None

    def remember(self, camera: str, stamp_s: float, features: Tensor) -> None:
        self._encoded[camera] = (stamp_s, features)  # one assignment: safe beside a reader on another thread

    def with_newest(self, newest: Tensor) -> Tensor:
        """The stack after pushing ``newest`` (n_cameras, feature_dim); self is unchanged."""
        return push_history(self.stack, newest, self.pushes == 0)

    def commit(self, stack: Tensor) -> None:
        self.stack = stack
        self.pushes += 1


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, groups_per_channel: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm1 = nn.GroupNorm(c_out // groups_per_channel, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(c_out // groups_per_channel, c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.GroupNorm(c_out // groups_per_channel, c_out))

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(y)) + self.shortcut(x))


class ResNet18GN(nn.Module):
    """ResNet-18 (torchvision layout) with GroupNorm (16 channels per group) instead of
    BatchNorm; float images (n, 3, H, W) -> features (n, 512) after global average pooling."""

    feature_dim = 512

    def __init__(self, channels_per_group: int = 16):
        super().__init__()
        g = channels_per_group
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.GroupNorm(64 // g, 64),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks = []
        c_in = 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_BasicBlock(c_in, c_out, stride, g), _BasicBlock(c_out, c_out, 1, g)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


def mlp(dim_in: int, hidden: tuple[int, ...], dim_out: int, activation: type[nn.Module] = nn.ELU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(dim_in, width), activation()]
        dim_in = width
    return nn.Sequential(*layers, nn.Linear(dim_in, dim_out))


LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0  # the student's Gaussian head, as the authors clamp it


class RgbStudent(nn.Module):
    """One encoder per camera (ResNet-18 GN by default), MLP head (ReLU) over all cameras' frame
    features and the proprio vector, Gaussian output: ``distribution`` gives the mean and the
    clamped log-std (training's loss), ``forward`` the mean (the deterministic action of
    metadata.py). Implements ``encode`` / ``forward`` of metadata.py."""

    def __init__(self, n_cameras: int, frames_per_camera: int, proprio_dim: int,
                 hidden: tuple[int, ...] = (512, 512, 512, 512), encoders: list[nn.Module] | None = None,
                 feature_dim: int = ResNet18GN.feature_dim):
        super().__init__()
        self.encoders = nn.ModuleList(encoders if encoders is not None else [ResNet18GN() for _ in range(n_cameras)])
        if len(self.encoders) != n_cameras:
            raise ValueError(f"RgbStudent: {len(self.encoders)} encoders for {n_cameras} cameras")
        # Channels-last: one frame at a time (the runtime's case) takes oneDNN's convolutions
        # instead of the slow generic ones (1.8x faster at 64 px on this CPU; bench_encoder.py).
        for weight in self.encoders.parameters():
            if weight.dim() == 4:
                weight.data = weight.data.contiguous(memory_format=torch.channels_last)
        self.feature_dim = feature_dim
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.head = mlp(n_cameras * frames_per_camera * feature_dim + proprio_dim, hidden, 2 * 7, nn.ReLU)
        self.log_std_min, self.log_std_max = LOG_STD_MIN, LOG_STD_MAX  # attributes: TorchScript reads no globals

    @torch.jit.export
    def encode(self, images: Tensor, camera: Tensor) -> Tensor:
        """uint8 images (n, 3, H, W) from cameras ``camera`` (n,) int64 -> features (n, F)."""
        x = ((images.float() / 255.0 - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        out = torch.zeros(images.shape[0], self.feature_dim, dtype=x.dtype, device=x.device)
        for i, encoder in enumerate(self.encoders):
            rows = (camera == i).nonzero().flatten()
            if rows.numel() > 0:
                out[rows] = encoder(x[rows])
        return out

    @torch.jit.export
    def distribution(self, features: Tensor, proprio: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, log_std), each (B, 7); log_std clamped to [LOG_STD_MIN, LOG_STD_MAX]."""
        out = self.head(torch.cat((features.flatten(1), proprio), dim=1))
        return out[:, :7], out[:, 7:].clamp(self.log_std_min, self.log_std_max)

    def forward(self, features: Tensor, proprio: Tensor) -> Tensor:
        return self.distribution(features, proprio)[0]
