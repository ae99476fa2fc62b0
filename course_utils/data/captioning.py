"""Captioning data of the world (24.10): images with the caption that names every object's size, color, shape and
place ("a large red circle at the top left and a small blue square on the right."), in English or Chinese; the
references the metrics compare against; and the attribute check that the n-gram metrics do not make.

The metrics read captions as the COCO code does: lower case, punctuation removed, words separated by spaces; Chinese
as characters separated by spaces (``metric_text``), since a Chinese sentence has no spaces to split on.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .clip_batches import tokenizer
from .language import LANGS, REGION_EN, REGION_ZH, all_captions, caption, check_lang, region
from .rendering import render_batch
from .scene import COLOR_ZH, COLORS, SHAPE_ZH, SHAPES, SIZE_ZH, SIZES, Scene
from .splits import sample_split_scene, sample_split_scenes

TEMPLATE = "position"  # the caption the captioners learn: every object's size, color, shape and place
LANG_ID = {lang: i for i, lang in enumerate(LANGS)}  # 0 English, 1 Chinese
ATTRIBUTES = ("size", "color", "shape", "place")
_PUNCT = set(".,?!:;，。、：？！；")


def captioning_batch(rng: np.random.Generator, n: int, split: str = "train", langs: tuple[str, ...] = LANGS) -> dict:
    """n fresh scenes of a split (1–4 objects) with their ``TEMPLATE`` caption in a random one of ``langs``:
    "images" (n, 3, 32, 32), "tokens" (n, T) with <bos>/<eos>, "lang" (n,) long, "captions", "scenes"."""
    for lang in langs:
        check_lang(lang)
    scenes = [sample_split_scene(rng, split) for _ in range(n)]
    lang_of = [langs[int(k)] for k in rng.integers(len(langs), size=n)]
    captions = [caption(s, lg, template=TEMPLATE) for s, lg in zip(scenes, lang_of)]
    return {"images": render_batch(scenes, 32).rgb, "tokens": tokenizer().batch(captions),
            "lang": torch.tensor([LANG_ID[lg] for lg in lang_of]), "captions": captions, "scenes": scenes}


@dataclass(frozen=True)
class CaptioningSet:
    """Held-out scenes for evaluation: images (N, 3, 32, 32) and their scenes."""

    images: torch.Tensor
    scenes: tuple[Scene, ...]


@lru_cache(maxsize=4)
def captioning_set(n: int, seed: int, split: str = "test") -> CaptioningSet:
    """n scenes of a split (1–4 objects), the same for the same (n, seed, split)."""
    if n < 1:
        raise ValueError(f"a captioning set needs at least 1 image, got n={n}")
    scenes = sample_split_scenes(n, seed, split)
    return CaptioningSet(render_batch(scenes, 32).rgb, tuple(scenes))


# ----------------------------------------------------------------------------- captions as the metrics read them


def metric_text(text: str, lang: str) -> str:
    """Lower case, punctuation removed, space-separated words (English) or characters (Chinese)."""
    check_lang(lang)
    if lang == "zh":
        return " ".join(c for c in text if c not in _PUNCT and not c.isspace())
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " ".join(words)


def references(scenes, lang: str) -> dict[int, list[str]]:
    """``gts`` for the metrics: every caption the world writes for each scene (all four templates)."""
    return {i: [metric_text(c, lang) for c in all_captions(s, lang)] for i, s in enumerate(scenes)}


def candidates(captions: list[str], lang: str) -> dict[int, list[str]]:
    """``res`` for the metrics: each generated caption as a one-element list."""
    return {i: [metric_text(c, lang)] for i, c in enumerate(captions)}


# ----------------------------------------------------------------------------- the attribute check

_ALT = lambda words: "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # noqa: E731  longest first
_OBJECT_EN = re.compile(rf"\ban? ({_ALT(SIZES)}) ({_ALT(COLORS)}) ({_ALT(SHAPES)}) ({_ALT(REGION_EN)})\b")
_OBJECT_ZH = re.compile(rf"({_ALT(REGION_ZH)})有一个({_ALT(COLOR_ZH.values())})的({_ALT(SIZE_ZH.values())})"
                        rf"({_ALT(SHAPE_ZH.values())})")
_FROM_ZH = {**{v: k for k, v in COLOR_ZH.items()}, **{v: k for k, v in SHAPE_ZH.items()},
            **{v: k for k, v in SIZE_ZH.items()}}


def caption_objects(text: str, lang: str) -> Counter:
    """The objects a caption names, as a multiset of (size, color, shape, region index)."""
    check_lang(lang)
    if lang == "en":
        return Counter((z, c, s, REGION_EN.index(r)) for z, c, s, r in _OBJECT_EN.findall(text))
    return Counter((_FROM_ZH[z], _FROM_ZH[c], _FROM_ZH[s], REGION_ZH.index(r))
                   for r, c, z, s in _OBJECT_ZH.findall(text))


def scene_objects(scene: Scene) -> Counter:
    return Counter((o.size, o.color, o.shape, region(o)) for o in scene.objects)


def attribute_check(text: str, scene: Scene, lang: str) -> dict[str, bool]:
    """Whether the caption names the scene's objects with the right sizes, colors, shapes and places (each compared
    as a multiset over the objects), and "all": exactly the scene's objects, every attribute right."""
    named, true = caption_objects(text, lang), scene_objects(scene)
    out = {a: Counter(o[k] for o in named.elements()) == Counter(o[k] for o in true.elements())
           for k, a in enumerate(ATTRIBUTES)}
    out["all"] = named == true
    return out


def attribute_accuracy(captions: list[str], scenes, lang: str) -> dict[str, float]:
    """Share of captions passing each part of ``attribute_check`` ("all" = every object fully right)."""
    if len(captions) != len(scenes):
        raise ValueError(f"{len(captions)} captions for {len(scenes)} scenes")
    if not captions:
        raise ValueError("no captions to check")
    checks = [attribute_check(c, s, lang) for c, s in zip(captions, scenes)]
    return {k: float(np.mean([c[k] for c in checks])) for k in (*ATTRIBUTES, "all")}


__all__ = ["ATTRIBUTES", "CaptioningSet", "LANG_ID", "TEMPLATE", "attribute_accuracy", "attribute_check",
           "caption_objects", "candidates", "captioning_batch", "captioning_set", "metric_text", "references",
           "scene_objects", "tokenizer"]
