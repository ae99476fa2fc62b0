"""Rasterize scenes into RGB images, depth maps and instance masks, many scenes at once with numpy broadcasting.

Shapes inside the bounding box of half-side r around (x, y):
circle (dx^2 + dy^2 <= r^2), square (|dx|, |dy| <= 0.85 r), triangle pointing up (apex at y - r, base at y + r).
Pixel (i, j) is tested at its centre ((j + 0.5) / W, (i + 0.5) / H).

Depth map: background 0; the object drawn k-th from the back (k = 0, 1, ...) has value (k + 1) * DEPTH_STEP,
so nearer objects have larger values ("nearness", like an inverted depth camera).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .scene import COLOR_RGB, COLORS, RADIUS, SHAPES, RngLike, Scene, as_rng, check_image_size, sample_scene

DEPTH_STEP = 0.1
SQUARE_HALF = 0.85          # square half-side / r: about the same area as the circle
BACKGROUND = (0.0, 0.0, 0.0)
_CHUNK = 512                # scenes rendered per numpy pass, bounds memory at 64x64
_PALETTE = np.array([COLOR_RGB[c] for c in COLORS], dtype=np.float32)        # (6, 3)
_COLOR_ID = {c: i for i, c in enumerate(COLORS)}
_SHAPE_ID = {s: i for i, s in enumerate(SHAPES)}


@dataclass
class Rendered:
    """rgb (3, H, W) float in [0, 1]; depth (1, H, W) nearness; mask (H, W) long, 0 = background, i + 1 = object i.

    Batched: (B, 3, H, W), (B, 1, H, W), (B, H, W)."""

    rgb: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor


def _scene_arrays(scenes: Sequence[Scene]):
    """Object table (B, N, 5) in draw order (slot k = k-th drawn): x, y, r, shape id, color id; plus the
    object's index in scene.objects (B, N), -1 for padding."""
    B = len(scenes)
    N = max(1, max((len(s.objects) for s in scenes), default=1))
    P = np.zeros((B, N, 5), dtype=np.float32)
    P[..., :2] = -10.0                                 # padding slots: far outside the image, radius 0
    index = np.full((B, N), -1, dtype=np.int64)
    for b, s in enumerate(scenes):
        objs = s.objects
        order = sorted(range(len(objs)), key=lambda i: (objs[i].depth, i)) if len(objs) > 1 else range(len(objs))
        for k, i in enumerate(order):
            o = objs[i]
            P[b, k] = (o.x, o.y, o.radius, _SHAPE_ID[o.shape], _COLOR_ID[o.color])
            index[b, k] = i
    return P, index


def _rasterize(P: np.ndarray, size: int):
    """Painter's algorithm over draw-order slots. Returns slot map (B, H, W): -1 background, k = k-th drawn.

    Each object is tested only inside a w x w window around its bounding box (w fits the largest object),
    gathered from and scattered back to the image with fancy indexing."""
    B, N, _ = P.shape
    g = (np.arange(size, dtype=np.float32) + 0.5) / size
    w = min(2 * int(np.ceil(max(RADIUS.values()) * size)) + 3, size)
    ar = np.arange(w)
    bidx = np.arange(B)[:, None, None]
    slot = np.full((B, size, size), -1, dtype=np.int64)
    for k in range(N):
        x, y, r, shape = (P[:, k, j] for j in range(4))                                # (B,)
        r0 = np.clip(np.floor((y - r) * size).astype(np.int64) - 1, 0, size - w)
        c0 = np.clip(np.floor((x - r) * size).astype(np.int64) - 1, 0, size - w)
        rows, cols = r0[:, None] + ar, c0[:, None] + ar                                # (B, w)
        dx = np.abs(g[cols] - x[:, None])[:, None, :]                                  # (B, 1, w)
        dy = (g[rows] - y[:, None])[:, :, None]                                        # (B, w, 1)
        r, shape = r[:, None, None], shape[:, None, None]                              # (B, 1, 1)
        circle = dx * dx + dy * dy <= r * r                                            # (B, w, w)
        square = (dx <= SQUARE_HALF * r) & (np.abs(dy) <= SQUARE_HALF * r)
        triangle = (np.abs(dy) <= r) & (2 * dx <= dy + r)
        inside = np.where(shape == 0, circle, np.where(shape == 1, square, triangle))
        idx = (bidx, rows[:, :, None], cols[:, None, :])
        slot[idx] = np.where(inside, k, slot[idx])
    return slot


def render_batch(scenes: Sequence[Scene], size: int = 32, *, noise: float = 0.0, clutter: float = 0.0,
                 rng: RngLike = None) -> Rendered:
    """Render B scenes at once: rgb (B, 3, H, W), depth (B, 1, H, W), mask (B, H, W).

    noise: std of Gaussian pixel noise; clutter: amplitude of random 4x4-pixel blocks in the background
    (both clipped to [0, 1]; drawn from rng, seed 0 when rng is None)."""
    size = check_image_size(size)
    if noise < 0 or clutter < 0:
        raise ValueError(f"noise {noise!r} and clutter {clutter!r} must be >= 0")
    scenes = list(scenes)
    B = len(scenes)
    rgb = np.empty((B, 3, size, size), dtype=np.float32)
    depth = np.empty((B, 1, size, size), dtype=np.float32)
    mask = np.empty((B, size, size), dtype=np.int64)
    bg = np.asarray(BACKGROUND, dtype=np.float32)
    for start in range(0, B, _CHUNK):
        P, index = _scene_arrays(scenes[start:start + _CHUNK])
        slot = _rasterize(P, size)                                                   # (b, H, W)
        b, N = index.shape
        flat = slot + 1 + (N + 1) * np.arange(b)[:, None, None]                      # index into (b, N+1) tables
        pal = np.concatenate([np.broadcast_to(bg, (b, 1, 3)), _PALETTE[P[..., 4].astype(np.int64)]], 1)
        for c in range(3):
            rgb[start:start + b, c] = pal[..., c].ravel()[flat]
        near = np.concatenate([np.zeros((b, 1), np.float32), np.broadcast_to(
            DEPTH_STEP * np.arange(1, N + 1, dtype=np.float32), (b, N))], 1)
        depth[start:start + b, 0] = near.ravel()[flat]
        ids = np.concatenate([np.zeros((b, 1), np.int64), index + 1], 1)
        mask[start:start + b] = ids.ravel()[flat]
    if noise > 0 or clutter > 0:
        gen = as_rng(rng)
        if clutter > 0:
            cells = -(-size // 4)
            blocks = gen.random((B, 3, cells, cells), dtype=np.float32) * clutter
            blocks = blocks.repeat(4, axis=2).repeat(4, axis=3)[:, :, :size, :size]
            rgb += np.where(mask[:, None] == 0, blocks, 0)
        if noise > 0:
            rgb += gen.standard_normal(rgb.shape, dtype=np.float32) * noise
        np.clip(rgb, 0.0, 1.0, out=rgb)
    return Rendered(torch.from_numpy(rgb), torch.from_numpy(depth), torch.from_numpy(mask))


def _inside(shape: str, dx: np.ndarray, dy: np.ndarray, r: np.float32) -> np.ndarray:
    """Pixels of one shape; dx = |x_pixel - x| (1, w), dy = y_pixel - y (h, 1). Same formulas as _rasterize."""
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (dx <= SQUARE_HALF * r) & (np.abs(dy) <= SQUARE_HALF * r)
    return (np.abs(dy) <= r) & (2 * dx <= dy + r)


def render(scene: Scene, size: int = 32, *, noise: float = 0.0, clutter: float = 0.0,
           rng: RngLike = None) -> Rendered:
    """Render one scene: rgb (3, H, W), depth (1, H, W), mask (H, W). Equal to render_batch([scene])[0]."""
    if not isinstance(scene, Scene):
        raise ValueError(f"render expects a Scene, got {type(scene).__name__}")
    if noise or clutter:                      # the batch path draws the noise, so both paths give the same pixels
        out = render_batch([scene], size, noise=noise, clutter=clutter, rng=rng)
        return Rendered(out.rgb[0], out.depth[0], out.mask[0])
    size = check_image_size(size)
    g = (np.arange(size, dtype=np.float32) + 0.5) / size
    rgb = np.empty((3, size, size), dtype=np.float32)
    rgb[:] = np.asarray(BACKGROUND, dtype=np.float32)[:, None, None]
    depth = np.zeros((1, size, size), dtype=np.float32)
    mask = np.zeros((size, size), dtype=np.int64)
    objs = scene.objects
    for k, i in enumerate(sorted(range(len(objs)), key=lambda i: (objs[i].depth, i))):
        o = objs[i]
        # only the bounding box (plus a pixel) can hold the object: paint that window
        r0, r1 = max(int((o.y - o.radius) * size) - 1, 0), min(int((o.y + o.radius) * size) + 2, size)
        c0, c1 = max(int((o.x - o.radius) * size) - 1, 0), min(int((o.x + o.radius) * size) + 2, size)
        if r0 >= r1 or c0 >= c1:
            continue
        dx = np.abs(g[None, c0:c1] - np.float32(o.x))                                 # (1, w)
        dy = g[r0:r1, None] - np.float32(o.y)                                         # (h, 1)
        inside = _inside(o.shape, dx, dy, np.float32(o.radius))                       # (h, w)
        mask[r0:r1, c0:c1][inside] = i + 1
        depth[0, r0:r1, c0:c1][inside] = DEPTH_STEP * np.float32(k + 1)
        rgb[:, r0:r1, c0:c1][:, inside] = _PALETTE[_COLOR_ID[o.color]][:, None]
    return Rendered(torch.from_numpy(rgb), torch.from_numpy(depth), torch.from_numpy(mask))


def render_rate(n: int = 2000, size: int = 32, *, batched: bool = True, seed: int = 0) -> float:
    """Scenes per second for n scenes of 1-4 objects (sampling not timed), batched or one call per scene."""
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng, (1, 4), image_size=size) for _ in range(n)]
    t0 = time.perf_counter()
    if batched:
        render_batch(scenes, size)
    else:
        for s in scenes:
            render(s, size)
    return n / (time.perf_counter() - t0)


def object_pixels(rendered: Rendered, index: int) -> torch.Tensor:
    """Boolean (H, W) map of the visible pixels of object `index` (0-based) in a single rendered scene."""
    return rendered.mask == index + 1

