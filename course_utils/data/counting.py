"""Counting scenes of the toy world: 1–4 objects on a black background, labelled by how many there are.

Notebook 24.7 trains a ViT and a CNN on them live, and the ``vit_count`` recipe trains its ViT on the same stream for
longer. Counting needs the whole image: the label is a property of the scene, not of one patch. Flips and 90°
rotations (the dihedral group D4) leave the count unchanged, and a new batch of scenes can be rendered at every step,
so the training set is effectively infinite.

Every function takes its seed: a fixed set is ``count_dataset(n, seed)`` and a training stream is
``count_stream(batch_size, seed)``. The two draw from different seed sequences (``[seed, image_size, 7]`` and
``[seed, 11]``), so a stream never repeats the scenes of a set with the same seed.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .rendering import render_batch
from .scene import sample_scene

COUNT_RANGE = (1, 4)  # objects per counting scene; label = count - COUNT_RANGE[0]
NUM_COUNT_CLASSES = COUNT_RANGE[1] - COUNT_RANGE[0] + 1


def count_scenes(rng: np.random.Generator | int, n: int, image_size: int = 32,
                 counts: tuple[int, int] = COUNT_RANGE) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` fresh scenes of 1–4 objects: images (n, 3, S, S) in [0, 1] and labels (n,) = count - counts[0]."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    scenes = [sample_scene(rng, counts, image_size=image_size) for _ in range(n)]
    x = render_batch(scenes, image_size).rgb  # (n, 3, S, S)
    y = torch.tensor([len(s.objects) - counts[0] for s in scenes])  # (n,)
    return x, y


def count_dataset(n: int, seed: int, image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed counting set (e.g. a test set), the same for the same (n, seed, image_size); its first k scenes are
    ``count_dataset(k, seed)``."""
    return count_scenes(np.random.default_rng([seed, image_size, 7]), n, image_size)


def dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image (B, C, H, W) under a random one of the 8 flips/90° rotations (label-preserving for counting)."""
    if x.dim() != 4 or x.size(-1) != x.size(-2):
        raise ValueError(f"expected square images (B, C, S, S), got shape {tuple(x.shape)}")
    k = torch.randint(0, 8, (x.size(0),), generator=generator)  # (B,): k % 4 quarter turns, k // 4 flip
    out = x.clone()
    for t in range(8):
        idx = (k == t).nonzero().flatten()
        if len(idx):
            xt = torch.rot90(x[idx], t % 4, dims=(-2, -1))
            out[idx] = xt.flip(-1) if t >= 4 else xt
    return out


def count_stream(batch_size: int, seed: int, image_size: int = 32,
                 augment: bool = True) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """``step -> (x, y)``: a new batch of scenes at every step (the world is infinite), for ``train.fit``.

    Scenes come from ``np.random.default_rng([seed, 11])``, flips/rotations from a torch Generator seeded ``seed``;
    neither touches the global random state."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = np.random.default_rng([seed, 11])
    gen = torch.Generator().manual_seed(seed)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = count_scenes(rng, batch_size, image_size)
        return (dihedral(x, gen) if augment else x), y

    return batch


__all__ = ["COUNT_RANGE", "NUM_COUNT_CLASSES", "count_dataset", "count_scenes", "count_stream", "dihedral"]
