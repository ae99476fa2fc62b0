"""Batches for next-frame prediction: the world's moving-object videos, cut into past frames (the context) and the
future frames a world model should predict, with a flag on every frame whose last move bounced off a wall."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .rendering import render_batch
from .scene import Obj, RngLike, Scene, as_rng, check_image_size, sample_scene
from .video import SPEED, trajectory


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




def _toward_wall(gen: np.random.Generator, obj: Obj, wall: int) -> tuple[Obj, np.ndarray]:
    """``obj`` moved so that its second move crosses ``wall`` (0 left, 1 right, 2 top, 3 bottom); its velocity."""
    axis, sign, r = wall // 2, (-1.0 if wall % 2 == 0 else 1.0), obj.radius
    speed = gen.uniform(*SPEED)
    v = np.zeros(2)
    v[axis], v[1 - axis] = sign * speed, gen.uniform(-0.5, 0.5) * speed
    gap = gen.uniform(0.2, 0.9) * speed                         # centre to the wall line at frame 1, < |v|
    p1 = np.empty(2)
    p1[axis] = r + gap if sign < 0 else 1 - r - gap
    p1[1 - axis] = gen.uniform(r + 3 * speed, 1 - r - 3 * speed)
    p0 = p1 - v
    return replace(obj, x=float(p0[0]), y=float(p0[1])), v


def wall_approach(rng: RngLike, n: int, size: int = 32) -> dict:
    """``n`` one-object videos whose third frame comes right after a bounce: {"past": (n, 2, 3, H, W) frames 0-1,
    "bounced": (n, 3, H, W) the true frame 2, "straight": (n, 3, H, W) frame 2 as if the wall were not there}."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n {n!r} must be an int >= 1 (the number of videos)")
    gen = as_rng(rng)
    frames, straight = [], []
    for i in range(n):
        obj, v = _toward_wall(gen, sample_scene(gen, 1, image_size=size).objects[0], int(gen.integers(4)))
        steps, _ = trajectory(Scene([obj]), 3, velocities=v[None])
        frames.extend(steps)
        o1 = steps[1].objects[0]
        straight.append(Scene([replace(o1, x=o1.x + v[0], y=o1.y + v[1])]))
    rgb = render_batch(frames, size).rgb.view(n, 3, 3, size, size)                 # (n, T=3, 3, H, W)
    return {"past": rgb[:, :2], "bounced": rgb[:, 2], "straight": render_batch(straight, size).rgb}


__all__ = ["Videos", "check_context", "check_horizon", "sample_videos", "split_context", "training_batch",
           "wall_approach"]
