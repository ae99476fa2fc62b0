"""Batches for next-frame prediction: the world's moving-object videos, cut into past frames (the context) and the
future frames a world model should predict, with a flag on every frame whose last move bounced off a wall."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .rendering import render_batch
from .scene import RngLike, as_rng, check_image_size, sample_scene
from .video import trajectory


@dataclass
class Videos:
    """frames (B, T, 3, H, W) in [0, 1]; bounced (B, T) bool: some object hit a wall on its way into frame t."""

    frames: torch.Tensor
    bounced: torch.Tensor


def check_context(context, frames: int) -> int:
    """``context`` as an int in [1, frames - 1], else a ValueError naming it."""
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or context < 1:
        raise ValueError(f"context {context!r} must be an int >= 1 (the number of past frames)")
    if context >= frames:
        raise ValueError(f"context {context} is not shorter than the video ({frames} frames): "
                         "no frame would be left to predict")
    return int(context)


def check_horizon(horizon) -> int:
    """``horizon`` as an int >= 1, else a ValueError naming it."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon {horizon!r} must be an int >= 1 (how many frames to predict)")
    return int(horizon)


def sample_videos(rng: RngLike, n: int, frames: int = 8, size: int = 32,
                  n_objects: int | tuple[int, int] = (1, 2)) -> Videos:
    """``n`` random scenes of ``n_objects`` objects, each animated for ``frames`` frames (constant velocity,
    bouncing off the borders; velocities drawn from ``rng``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n {n!r} must be an int >= 1 (the number of videos)")
    check_image_size(size)
    gen = as_rng(rng)
    scenes, bounced = [], np.zeros((n, frames), dtype=bool)
    for i in range(n):
        steps, vel = trajectory(sample_scene(gen, n_objects, image_size=size), frames, gen)  # vel (T, n_obj, 2)
        scenes.extend(steps)
        bounced[i, 1:] = (np.sign(vel[1:]) != np.sign(vel[:-1])).any(axis=(1, 2))
    rgb = render_batch(scenes, size).rgb.view(n, frames, 3, size, size)             # (B, T, 3, H, W)
    return Videos(rgb, torch.from_numpy(bounced))


def split_context(frames: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(past (B, context, 3, H, W), future (B, T - context, 3, H, W)) of videos (B, T, 3, H, W)."""
    if frames.dim() != 5:
        raise ValueError(f"videos of shape {tuple(frames.shape)}: expected (B, T, 3, H, W)")
    context = check_context(context, frames.size(1))
    return frames[:, :context], frames[:, context:]


def training_batch(rng: np.random.Generator, batch_size: int, context: int, horizon: int,
                   n_objects: int | tuple[int, int] = (1, 2), size: int = 32) -> dict:
    """Fresh videos of ``context + horizon`` frames, split: {"past": (B, C, 3, H, W), "future": (B, K, 3, H, W)}."""
    horizon = check_horizon(horizon)
    videos = sample_videos(rng, batch_size, context + horizon, size, n_objects)
    past, future = split_context(videos.frames, context)
    return {"past": past, "future": future}


__all__ = ["Videos", "check_context", "check_horizon", "sample_videos", "split_context", "training_batch"]
