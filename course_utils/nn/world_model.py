"""A world model of the toy videos: a convolutional next-frame predictor p(x_{t+1} | x_{t-C+1..t}) in pixel space,
its autoregressive rollout, and the two baselines it must beat (copy the last frame, extrapolate pixels linearly).

The predictor sees the last C frames stacked along the channels, plus two coordinate channels (x, y in [-1, 1]) so
that it knows where the walls are, and predicts the change from the last frame: x̂_{t+1} = x_t + f(x_{t-C+1..t})."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.video_prediction import check_horizon


@dataclass
class WorldModelConfig:
    context: int = 2        # C: past frames the predictor sees
    width: int = 32         # channels at full resolution (twice that at half resolution)
    image_size: int = 32

    def __post_init__(self):
        if isinstance(self.context, bool) or not isinstance(self.context, int) or self.context < 1:
            raise ValueError(f"context {self.context!r} must be an int >= 1 (past frames)")
        if self.width < 1 or self.image_size % 2:
            raise ValueError(f"width {self.width!r} must be >= 1 and image_size {self.image_size!r} even")

    @classmethod
    def fast(cls, **kw) -> "WorldModelConfig":
        return cls(**{"width": 8, **kw})


def coordinate_channels(batch: int, size: int) -> torch.Tensor:
    """(B, 2, H, W): the x and y coordinate of every pixel, in [-1, 1]."""
    g = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(g, g, indexing="ij")                                       # (H, W) each
    return torch.stack([xx, yy]).expand(batch, 2, size, size)


class FramePredictor(nn.Module):
    """x̂_{t+1} = x_t + f([x_{t-C+1}, …, x_t, coords]): a two-level convolutional net with one skip connection."""

    def __init__(self, cfg: WorldModelConfig):
        super().__init__()
        self.config, w = cfg, cfg.width
        self.enc = nn.Sequential(nn.Conv2d(3 * cfg.context + 2, w, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(w, w, 3, padding=1), nn.GELU())
        self.mid = nn.Sequential(nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.GELU(),
                                 nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.GELU(),
                                 nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.GELU())
        self.dec = nn.Sequential(nn.Conv2d(2 * w, w, 3, padding=1), nn.GELU(), nn.Conv2d(w, 3, 3, padding=1))

    def forward(self, past: torch.Tensor) -> torch.Tensor:
        """past (B, C, 3, H, W) -> the next frame (B, 3, H, W)."""
        B, C, _, H, W = check_past(past, self.config.context).shape
        x = torch.cat([past.flatten(1, 2), coordinate_channels(B, H).to(past)], 1)   # (B, 3C + 2, H, W)
        h = self.enc(x)                                                                # (B, w, H, W)
        u = self.mid(h)                                                                # (B, w, H, W) via H/2
        return past[:, -1] + self.dec(torch.cat([h, u], 1))                            # (B, 3, H, W)


def check_past(past: torch.Tensor, context: int) -> torch.Tensor:
    """``past`` must be (B, context, 3, H, W); else a ValueError naming its shape."""
    if past.dim() != 5 or past.size(1) != context or past.size(2) != 3:
        raise ValueError(f"past frames of shape {tuple(past.shape)}: expected (B, {context}, 3, H, W), "
                         f"the last {context} frames of each video")
    return past


def rollout(model: nn.Module, past: torch.Tensor, horizon: int) -> torch.Tensor:
    """Feed predictions back in: x̂_{t+k} = f(…, x̂_{t+k-1}). past (B, C, 3, H, W) -> (B, horizon, 3, H, W)."""
    horizon = check_horizon(horizon)
    window, preds = check_past(past, model.config.context), []
    for _ in range(horizon):
        nxt = model(window)                                                            # (B, 3, H, W)
        preds.append(nxt)
        window = torch.cat([window[:, 1:], nxt[:, None]], 1)                           # drop the oldest frame
    return torch.stack(preds, 1)                                                       # (B, K, 3, H, W)


def rollout_loss(model: nn.Module, past: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
    """Mean squared error of a rollout as long as ``future`` (B, K, 3, H, W), averaged over the K steps."""
    return F.mse_loss(rollout(model, past, future.size(1)), future)


def copy_last(past: torch.Tensor, horizon: int) -> torch.Tensor:
    """Baseline: nothing moves. (B, C, 3, H, W) -> (B, horizon, 3, H, W), every frame = the last one seen."""
    horizon = check_horizon(horizon)
    return past[:, -1:].expand(-1, horizon, -1, -1, -1)


def linear_extrapolation(past: torch.Tensor, horizon: int) -> torch.Tensor:
    """Baseline: each pixel keeps changing as it did, x_t + k (x_t - x_{t-1}), clipped to [0, 1]."""
    horizon = check_horizon(horizon)
    if past.dim() != 5 or past.size(1) < 2:
        raise ValueError(f"past frames of shape {tuple(past.shape)}: linear extrapolation needs (B, >= 2, 3, H, W)")
    step = past[:, -1] - past[:, -2]                                                   # (B, 3, H, W)
    k = torch.arange(1, horizon + 1, dtype=past.dtype).view(1, -1, 1, 1, 1)           # (1, K, 1, 1, 1)
    return (past[:, -1:] + k * step[:, None]).clamp(0, 1)                              # (B, K, 3, H, W)


def mse_per_horizon(pred: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
    """(K,): the mean squared error at each horizon k = 1 … K over videos, channels and pixels."""
    if pred.shape != future.shape:
        raise ValueError(f"predictions {tuple(pred.shape)} and true frames {tuple(future.shape)} differ in shape")
    return (pred - future).pow(2).mean(dim=(0, 2, 3, 4))


__all__ = ["FramePredictor", "WorldModelConfig", "check_past", "coordinate_channels", "copy_last",
           "linear_extrapolation", "mse_per_horizon", "rollout", "rollout_loss"]
