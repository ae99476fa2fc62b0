"""Prompts and images of the toy world for text-to-image generation (notebook 24.11).

Training pairs are scenes of one or two objects (``TWO_OBJECT_SHARE`` of them with two) of the *seen* color-shape
pairs, captioned by a random template in English or Chinese; images are mapped to [−1, 1]. The six held-out pairs
(``splits.HELD_OUT_COMBOS``) never appear in training, so prompts that name them ask whether the generator composes a
color and a shape it has only seen apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .clip_batches import tokenize  # (B, T) ids with <bos> … <eos>, padded with 0; "" is <bos> <eos>
from .language import caption, check_lang
from .rendering import render_batch
from .scene import Scene, sample_scene
from .splits import HELD_OUT_COMBOS, PAIRS, sample_split_scene, split_rng

IMAGE_SIZE = 32
LANGS = ("en", "zh")
TEMPLATES = ("list", "count", "position")  # how a training caption describes the scene
TWO_OBJECT_SHARE = 0.25  # share of training scenes with two objects (the rest have one)
SEEN_PAIRS = tuple(p for p in PAIRS if p not in HELD_OUT_COMBOS)
PROMPT_SPLITS = ("seen", "held_out")


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """Pixels [0, 1] -> [−1, 1], the range the diffusion model works in."""
    return images * 2 - 1


def training_batch(rng: np.random.Generator, n: int, langs: tuple[str, ...] = LANGS) -> dict:
    """n fresh training scenes: "images" (n, 3, 32, 32) in [−1, 1], "captions" (a random template and language each),
    "scenes"."""
    for lang in langs:
        check_lang(lang)
    counts = np.where(rng.random(n) < TWO_OBJECT_SHARE, 2, 1)
    scenes = [sample_split_scene(rng, "train", n_objects=int(k)) for k in counts]
    captions = [caption(s, langs[int(rng.integers(len(langs)))], template=TEMPLATES[int(rng.integers(len(TEMPLATES)))])
                for s in scenes]
    return {"images": to_model_range(render_batch(scenes, IMAGE_SIZE).rgb), "captions": captions, "scenes": scenes}


@dataclass(frozen=True)
class PromptSet:
    """Prompts to generate from, with the scenes they describe (one object each unless counting)."""

    prompts: tuple[str, ...]
    scenes: tuple[Scene, ...]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The (color, shape) of each prompt's first object."""
        return [s.objects[0].pair for s in self.scenes]

    @property
    def counts(self) -> list[int]:
        return [len(s.objects) for s in self.scenes]


@lru_cache(maxsize=8)
def prompt_set(split: str, n_per_pair: int, seed: int = 0, lang: str = "en", template: str = "list") -> PromptSet:
    """``n_per_pair`` one-object prompts for each seen (or held-out) pair, sizes and places drawn from ``seed``."""
    if split not in PROMPT_SPLITS:
        raise ValueError(f"unknown prompt split {split!r}; allowed: {', '.join(PROMPT_SPLITS)}")
    if n_per_pair < 1:
        raise ValueError(f"n_per_pair must be >= 1, got {n_per_pair!r}")
    check_lang(lang)
    pairs = SEEN_PAIRS if split == "seen" else HELD_OUT_COMBOS
    rng = split_rng(seed, "test", stream=PROMPT_SPLITS.index(split))
    scenes = [sample_scene(rng, 1, combos=[p]) for p in pairs for _ in range(n_per_pair)]
    return PromptSet(tuple(caption(s, lang, template=template) for s in scenes), tuple(scenes))


@lru_cache(maxsize=4)
def count_prompt_set(n: int, seed: int = 0, lang: str = "en") -> PromptSet:
    """n "count" prompts of seen pairs, half with one object and half with two ("there are two objects: …")."""
    rng = split_rng(seed, "test", stream=len(PROMPT_SPLITS))
    scenes = [sample_split_scene(rng, "train", n_objects=1 + (i % 2)) for i in range(n)]
    return PromptSet(tuple(caption(s, lang, template="count") for s in scenes), tuple(scenes))


__all__ = ["IMAGE_SIZE", "LANGS", "PROMPT_SPLITS", "PromptSet", "SEEN_PAIRS", "TEMPLATES", "TWO_OBJECT_SHARE",
           "count_prompt_set", "prompt_set", "to_model_range", "tokenize", "training_batch"]
