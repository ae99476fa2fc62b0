"""Image-caption pairs of the world for matching, retrieval and captioning (notebooks 24.4 and 24.8).

- ``pairs`` / ``hard_pairs``: fresh training or test pairs (1–4 objects, every caption template, English and Chinese)
  with ``truth[i, j]`` = caption j is true of image i, so a caption true of several images of a batch is known;
  ``hard_pairs`` adds for each image a false caption with one attribute changed.
- ``itm_pairs``: the image-text matching data change: the image of half the pairs swapped for another pair's.
- ``itm_set`` / ``hard_set`` / ``retrieval_set``: fixed held-out sets drawn from a seed.
- ``caption_accuracy``: the share of generated captions that are true of their image.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch

from . import clip_batches as B
from .language import caption
from .rendering import render_batch
from .splits import sample_split_scenes

PAIR_KEYS = ("images", "tokens", "captions", "scenes", "truth")


def pairs(rng: np.random.Generator, n: int, split: str = "train") -> dict:
    """n image-caption pairs (1–4 objects, any template, either language): "images" (n, 3, 32, 32), "tokens"
    (n, T), "captions", "scenes", "truth" (n, n) bool: caption j is true of image i."""
    batch = B.make_batch(rng, n, "multi_object", split=split)
    return {k: batch[k] for k in PAIR_KEYS}


def hard_pairs(rng: np.random.Generator, n: int, split: str = "train") -> dict:
    """``pairs`` plus "neg_tokens" / "neg_captions": for each image a false caption written like its own with one
    attribute changed (two objects' colors swapped, or one object's color or shape; ``hard_negative_scene``)."""
    batch = B.make_batch(rng, n, ("multi_object", "hard_negatives"), split=split)
    return {k: batch[k] for k in (*PAIR_KEYS, "neg_tokens", "neg_captions")}


def itm_pairs(images: torch.Tensor, generator: torch.Generator | None = None,
              truth: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Image–text matching data: the image of a random half of the pairs is replaced by another pair's image
    (never its own). Returns (images (B, ...), labels (B,) with 1 = the pair matches). Needs B ≥ 2.

    ``truth`` (B, B) bool, caption j is true of image i: a swapped-in image that the caption still describes keeps
    label 1 (without it every swap is labelled 0)."""
    n = len(images)
    if n < 2:
        raise ValueError(f"image-text matching needs at least 2 pairs to swap images, got {n}")
    if truth is not None and tuple(truth.shape) != (n, n):
        raise ValueError(f"truth must be ({n}, {n}), got {tuple(truth.shape)}")
    swap = torch.randperm(n, generator=generator)[: n // 2]
    other = (swap + torch.randint(1, n, (len(swap),), generator=generator)) % n  # any index but its own
    out = images.clone()
    out[swap] = images[other]
    labels = torch.ones(n, dtype=torch.long)
    labels[swap] = 0 if truth is None else truth.cpu()[other, swap].long()
    return out, labels.to(images.device)


def itm_set(n: int, seed: int, split: str = "test") -> dict:
    """n pairs of a split, the image of half of them swapped: "images", "tokens", "labels" (1 = true of the image)."""
    batch = pairs(np.random.default_rng(seed), n, split)
    images, labels = itm_pairs(batch["images"], torch.Generator().manual_seed(seed), truth=batch["truth"])
    return {"images": images, "tokens": batch["tokens"], "labels": labels}


def hard_set(n: int, seed: int, split: str = "test") -> dict:
    """n images of a split, each with its true caption and a one-attribute-wrong one (``hard_pairs``)."""
    return hard_pairs(np.random.default_rng(seed), n, split)


def caption_accuracy(captions: list[str], scenes: list) -> float:
    """Share of generated captions that are true of their image: one of the captions the world writes for it (any
    template, either language), so every object's color, shape and size, and the place or relation when the template
    names one, must be right."""
    if len(captions) != len(scenes):
        raise ValueError(f"{len(captions)} captions for {len(scenes)} scenes")
    return B.full_caption_truth(scenes, captions).diagonal().float().mean().item()


# ----------------------------------------------------------------------------- retrieval (24.4, 24.8)


@dataclass
class RetrievalSet:
    """Image-caption pairs of unseen scenes; ``relevant[i, j]`` = caption j is true of image i (any language)."""

    images: torch.Tensor  # (N, 3, 32, 32)
    captions: list[str]
    langs: list[str]
    relevant: torch.Tensor  # (N, N) bool
    scenes: list


@lru_cache(maxsize=4)
def _retrieval_set(n: int, seed: int, split: str, langs: tuple[str, ...]) -> RetrievalSet:
    scenes = sample_split_scenes(n, seed, split, n_objects=1)
    rng = np.random.default_rng(seed)
    langs_of = [langs[int(k)] for k in rng.integers(len(langs), size=n)]
    captions = [caption(s, lg, rng) for s, lg in zip(scenes, langs_of)]
    images = render_batch(scenes, B.IMAGE_SIZE).rgb
    return RetrievalSet(images, captions, langs_of, B.full_caption_truth(scenes, captions), scenes)


def retrieval_set(n: int, seed: int, split: str = "test", langs: tuple[str, ...] = B.LANGS) -> RetrievalSet:
    """n single-object scenes of a split with one random caption each (random template and language), a copy.

    A caption counts as describing an image when it is true of it (``full_caption_truth``): exact-pair recall
    would count the many other true captions as misses."""
    if n < 2:
        raise ValueError(f"a retrieval set needs at least 2 pairs, got n={n}")
    rs = _retrieval_set(int(n), int(seed), split, tuple(langs))
    return replace(rs, images=rs.images.clone(), captions=list(rs.captions), langs=list(rs.langs),
                   relevant=rs.relevant.clone(), scenes=list(rs.scenes))


__all__ = ["PAIR_KEYS", "RetrievalSet", "caption_accuracy", "hard_pairs", "hard_set", "itm_pairs", "itm_set", "pairs",
           "retrieval_set"]
