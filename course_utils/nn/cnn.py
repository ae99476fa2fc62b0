"""Small CNNs: the baseline of the ViT-vs-CNN comparison (24.7), whose inductive biases (locality, weight sharing,
translation equivariance) a ViT has to learn from data, and a CNN image tower for CLIP (24.4)."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class SmallCNN(nn.Module):
    """Three stages of [conv3×3-BN-ReLU, conv3×3-BN-ReLU, max-pool 2], widths w, 2w, 4w; global average pool; linear.

    width=16 has about 75k parameters, width=24 about 170k (similar to a ViT of width 64, depth 3–4).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: int = 16):
        super().__init__()
        self.in_channels = in_channels
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, w), conv_bn_relu(w, w), nn.MaxPool2d(2),  # (B, w, H/2, W/2)
            conv_bn_relu(w, 2 * w), conv_bn_relu(2 * w, 2 * w), nn.MaxPool2d(2),  # (B, 2w, H/4, W/4)
            conv_bn_relu(2 * w, 4 * w), conv_bn_relu(4 * w, 4 * w), nn.MaxPool2d(2),  # (B, 4w, H/8, W/8)
        )
        self.head = nn.Linear(4 * w, num_classes) if num_classes > 0 else None
        self.feature_dim = 4 * w

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, 4w), the globally averaged feature map."""
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < 8:
            raise ValueError(f"image size {min(x.shape[-2:])} is too small: three 2× poolings need at least 8")
        return self.features(x).mean(dim=(2, 3))  # (B, 4w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, num_classes), or features (B, 4w) when num_classes=0."""
        z = self.forward_features(x)
        return self.head(z) if self.head is not None else z


class ConvImageTower(nn.Module):
    """CLIP image tower as a small CNN (CLIP also ships ResNet towers): 3 × [conv3×3-BN-ReLU-max-pool 2], widths
    w, 2w, 4w, global average pool, linear projection without bias to the embedding width.

    On the toy world it learns shape in a few hundred steps where a ViT needs thousands (24.7), and it is the tower
    of the registered ``clip_world`` model (notebook 24.4 compares it with a ViT tower at the same budget)."""

    def __init__(self, output_dim: int, width: int = 32, in_channels: int = 3):
        super().__init__()

        def stage(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                                 nn.MaxPool2d(2))

        self.in_channels = in_channels
        self.features = nn.Sequential(stage(in_channels, width), stage(width, 2 * width),
                                      stage(2 * width, 4 * width))  # (B, 4w, H/8, W/8)
        self.proj = nn.Linear(4 * width, output_dim, bias=False)
        self.output_dim = output_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> features (B, output_dim), not normalized."""
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < 8:
            raise ValueError(f"image size {min(x.shape[-2:])} is too small: three 2× poolings need at least 8")
        return self.proj(self.features(x).mean(dim=(2, 3)))  # (B, 4w) -> (B, output_dim)


class FrozenGridTokens(nn.Module):
    """A trained ``ConvImageTower`` cut before its pool, frozen, as an image encoder that gives tokens:
    images (B, 3, H, W) -> (B, h·w, 4w + h·w), each cell's features followed by the one-hot of the cell.

    After a key/value projection the one-hot is a learned position embedding: a pooled CLIP feature never needed one,
    a caption that names a place does. No gradients; batch norm stays in eval mode whatever the mode around it."""

    def __init__(self, tower: ConvImageTower):
        super().__init__()
        self.features = tower.features
        self.features.eval().requires_grad_(False)
        self.channels = tower.proj.in_features  # 4w

    def train(self, mode: bool = True):  # stays frozen
        return self

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        f = self.features(images).flatten(2).transpose(1, 2)  # (B, C, h, w) -> (B, h·w, C)
        cells = torch.eye(f.size(1), device=f.device).expand(len(f), -1, -1)  # (B, h·w, h·w)
        return torch.cat([f, cells], dim=-1)
