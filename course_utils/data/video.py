"""Short videos of a scene: every object moves with a constant velocity and bounces off the image borders."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
import torch

from .rendering import render_batch
from .scene import RngLike, Scene, as_rng, check_image_size

SPEED = (0.03, 0.08)        # distance per frame, as a fraction of the image side


def _bounce(p: float, v: float, r: float) -> tuple[float, float]:
    """Move one coordinate by v and reflect it off the walls at r and 1 - r."""
    p += v
    if p < r:
        p, v = 2 * r - p, -v
    elif p > 1 - r:
        p, v = 2 * (1 - r) - p, -v
    return p, v


def trajectory(scene: Scene, frames: int = 8, rng: RngLike = None,
               velocities: Optional[np.ndarray] = None) -> tuple[list[Scene], np.ndarray]:
    """The scene at each frame (frame 0 is the scene itself) and the velocities (frames, n_objects, 2)."""
    if not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames {frames!r} must be an int >= 1")
    n = len(scene.objects)
    if velocities is None:
        gen = as_rng(rng)
        angle = gen.uniform(0, 2 * np.pi, n)
        speed = gen.uniform(*SPEED, n)
        velocities = np.stack([speed * np.cos(angle), speed * np.sin(angle)], 1)     # (n, 2)
    vel = np.array(velocities, dtype=float).reshape(n, 2)
    scenes, vels = [scene], [vel.copy()]
    objs = list(scene.objects)
    for _ in range(frames - 1):
        moved = []
        for i, o in enumerate(objs):
            x, vel[i, 0] = _bounce(o.x, vel[i, 0], o.radius)
            y, vel[i, 1] = _bounce(o.y, vel[i, 1], o.radius)
            moved.append(replace(o, x=x, y=y))
        objs = moved
        scenes.append(Scene(objs))
        vels.append(vel.copy())
    return scenes, np.stack(vels)


def animate(scene: Scene, frames: int = 8, size: int = 32, rng: RngLike = None, *, return_scenes: bool = False,
            noise: float = 0.0):
    """Video (T, 3, H, W) of the objects moving and bouncing; with return_scenes also the list of T scenes.

    Objects may pass over each other; the one with the larger depth is drawn in front."""
    check_image_size(size)
    gen = as_rng(rng)
    scenes, _ = trajectory(scene, frames, gen)
    video = render_batch(scenes, size, noise=noise, rng=gen).rgb                       # (T, 3, H, W)
    return (video, scenes) if return_scenes else video


def animate_batch(scenes: list[Scene], frames: int = 8, size: int = 32, rng: RngLike = None) -> torch.Tensor:
    """Videos (B, T, 3, H, W) of many scenes, velocities drawn from one rng."""
    gen = as_rng(rng)
    all_frames = [f for s in scenes for f in trajectory(s, frames, gen)[0]]
    return render_batch(all_frames, size).rgb.view(len(scenes), frames, 3, size, size)
