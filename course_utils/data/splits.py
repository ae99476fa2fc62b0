"""Train / test / held-out splits for compositional generalization.

Six of the 18 (color, shape) pairs never appear in "train" or "test". Each color is held out with one shape
and each shape with two colors, so every color and every shape is still seen in training with other partners.
"heldout" scenes contain at least one held-out pair. A split's scenes come from their own seed stream,
so "test" has the training distribution but different scenes.
"""
from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np

from .scene import COLORS, SHAPES, RngLike, Scene, allowed_pairs, as_rng, sample_scene

SPLITS = ("train", "test", "heldout")
PAIRS = tuple(product(COLORS, SHAPES))           # all 18 (color, shape) pairs; index = COLORS idx * 3 + SHAPES idx
HELD_OUT_COMBOS = (("red", "triangle"), ("green", "circle"), ("blue", "square"),
                   ("yellow", "triangle"), ("purple", "circle"), ("orange", "square"))


def check_split(split) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    return split


def split_rng(seed: int, split: str, stream: int = 0) -> np.random.Generator:
    """An independent random stream per (seed, split, stream)."""
    return np.random.default_rng([int(seed), SPLITS.index(check_split(split)), int(stream)])


def has_held_out(scene: Scene) -> bool:
    return any(o.pair in HELD_OUT_COMBOS for o in scene.objects)


def sample_split_scene(rng: RngLike, split: str = "train", **kwargs) -> Scene:
    """sample_scene for a split: train/test exclude HELD_OUT_COMBOS, heldout puts at least one of them in."""
    check_split(split)
    rng = as_rng(rng)
    if split != "heldout":
        exclude = list(kwargs.pop("exclude", None) or []) + list(HELD_OUT_COMBOS)
        return sample_scene(rng, exclude=exclude, **kwargs)
    allowed = set(allowed_pairs(kwargs.get("colors", COLORS), kwargs.get("shapes", SHAPES),
                                kwargs.get("combos"), kwargs.get("exclude")))
    targets = [p for p in HELD_OUT_COMBOS if p in allowed]
    if not targets:
        raise ValueError("the heldout split needs a held-out pair, but colors/shapes/combos/exclude allow none of "
                         f"{HELD_OUT_COMBOS}")
    scene = sample_scene(rng, **kwargs)
    if has_held_out(scene):
        return scene
    # Recolor/reshape one object into a held-out pair; bounding boxes do not depend on shape or color.
    objs = scene.objects
    i = int(rng.integers(len(objs)))
    others = [o for j, o in enumerate(objs) if j != i]
    ok = [p for p in targets if p not in {o.pair for o in others}
          and not (kwargs.get("distinct_colors") and p[0] in {o.color for o in others})]
    if not ok:
        return sample_split_scene(rng, split, **kwargs)
    c, s = ok[int(rng.integers(len(ok)))]
    return Scene([replace(o, color=c, shape=s) if j == i else o for j, o in enumerate(objs)])


def sample_split_scenes(n: int, seed: int = 0, split: str = "train", **kwargs) -> list[Scene]:
    """n scenes of a split, the same for the same (n, seed, split, kwargs)."""
    rng = split_rng(seed, split)
    return [sample_split_scene(rng, split, **kwargs) for _ in range(int(n))]
