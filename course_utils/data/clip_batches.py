"""Image-caption batches of the toy world for CLIP (notebook 24.4), with the data changes that are the binding remedies.

Six (color, shape) pairs (``HELD_OUT_COMBOS``) never appear in training; zero-shot classification of single objects
among all 18 pairs then tests attribute binding. The remedies are switches of ``make_batch(..., remedy=...)``:

* ``multi_object``: scenes of 1–4 objects whose captions name every object (else one object per scene);
* ``multi_positive``: the targets are the rows of ``truth`` (caption j is true of image i), not the identity;
* ``hard_negatives``: one NegCLIP-style caption per image made false by ``hard_negative_scene`` (two objects'
  colors swapped, or one color or shape changed, always to a seen pair);
* ``attribute_captions``: a share of captions names only the colors or only the shapes (``attribute_caption``);
* ``color_augment``: a share of images has its objects repainted gray (``paint_gray``), captioned by shape only.

``remedy="none"`` is the naive baseline, ``"all"`` every remedy, or a ``"+"``-joined list / an iterable of names.
Notebook 24.4 writes each of these data changes out in a cell; this module is the copy the training code reuses.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from .language import CAPTION_TEMPLATES, all_captions, caption
from .rendering import render_batch
from .scene import COLOR_ZH, COLORS, SHAPE_ZH, SHAPES, SIZE_ZH, SIZES, Obj, Scene, sample_scene
from .splits import HELD_OUT_COMBOS, PAIRS, sample_split_scene
from .tokenizer import Tokenizer

REMEDIES = ("multi_object", "multi_positive", "hard_negatives", "attribute_captions", "color_augment")
IMAGE_SIZE = 32
CONTEXT_LENGTH = 48  # the longest world caption (4 objects) has 38 tokens with <bos>/<eos>
LANGS = ("en", "zh")
MULTI_OBJECTS = (1, 4)  # objects per scene with multi_object (else 1)
ATTRIBUTE_SHARE = 0.25  # share of captions that name only colors or only shapes (attribute_captions)
GRAY_SHARE = 0.25  # share of images repainted gray and captioned by shape only (color_augment)
GRAY_LEVELS = (0.35, 1.0)  # range of the random gray level of each repainted object
KINDS = ("full", "color", "shape")  # what a caption names of each object

SEEN_PAIRS = tuple(p for p in PAIRS if p not in HELD_OUT_COMBOS)
CLASSNAMES = tuple(f"{c} {s}" for c, s in PAIRS)  # the 18 zero-shot classes, index = PAIRS index
EVAL_STREAMS = {"zero_shot": 0, "probe_train": 1, "probe_test": 2}  # independent image sets of one seed

# Prompt templates for zero-shot classification; the class name is "color shape" (e.g. "red circle").
TEMPLATES_EN = (
    "a small {}.",
    "a large {}.",
    "there is one object: a small {}.",
    "there is one object: a large {}.",
)


def _zh(fmt: str):
    def template(classname: str) -> str:
        color, shape = classname.split()
        return fmt.format(color=COLOR_ZH[color], shape=SHAPE_ZH[shape])

    template.__name__ = fmt
    return template


TEMPLATES_ZH = (
    _zh("图中有一个{color}的小{shape}。"),
    _zh("图中有一个{color}的大{shape}。"),
    _zh("图中共有一个物体：一个{color}的小{shape}。"),
    _zh("图中共有一个物体：一个{color}的大{shape}。"),
)


def templates(langs: tuple[str, ...] = LANGS) -> list:
    """Prompt templates of the chosen languages (format strings for English, callables for Chinese)."""
    unknown = [lang for lang in langs if lang not in LANGS]
    if unknown or not langs:
        raise ValueError(f"langs {langs!r} must name 'en' and/or 'zh'")
    return (list(TEMPLATES_EN) if "en" in langs else []) + (list(TEMPLATES_ZH) if "zh" in langs else [])


@lru_cache(maxsize=1)
def tokenizer() -> Tokenizer:
    """The world's tokenizer (vocabulary of both languages); its ``batch`` gives (B, T) ids with <bos> … <eos>."""
    return Tokenizer.for_world()


def tokenize(captions: list[str]) -> torch.Tensor:
    """(B, T) ids padded to the longest caption, at most CONTEXT_LENGTH (longer ones cut, keeping <eos>)."""
    ids = tokenizer().batch(captions)
    return ids if ids.size(1) <= CONTEXT_LENGTH else tokenizer().batch(captions, max_len=CONTEXT_LENGTH)


def pad_cat(a: torch.Tensor, b: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """Stack two (B, T) id tensors of different lengths, right-padding the shorter with pad_id."""
    T = max(a.size(1), b.size(1))
    return torch.cat([F.pad(a, (0, T - a.size(1)), value=pad_id), F.pad(b, (0, T - b.size(1)), value=pad_id)])


def parse_remedy(remedy: str | Iterable[str] | None) -> frozenset[str]:
    """'none' / 'all' / 'multi_object+hard_negatives' / an iterable of names -> the set of remedy names."""
    if remedy is None or remedy == "none":
        return frozenset()
    if remedy == "all":
        return frozenset(REMEDIES)
    names = [n.strip() for n in (remedy.split("+") if isinstance(remedy, str) else list(remedy)) if n.strip()]
    for n in names:
        if n not in REMEDIES:
            raise ValueError(f"unknown remedy {n!r}; choose from {', '.join(REMEDIES)}, 'none' or 'all'")
    return frozenset(names)


# ----------------------------------------------------------------------------- captions and what they say

_N_FULL = len(SIZES) * len(COLORS) * len(SHAPES)  # codes of (size, color, shape)
_N_COLOR = len(SIZES) * len(COLORS)  # codes of (size, color)
_KEY_BASE = _N_FULL + _N_COLOR + len(SIZES) * len(SHAPES) + 1  # larger than every code + 1


def object_code(o: Obj, kind: str) -> int:
    """An id for what a caption of this kind says about one object (size is always named)."""
    size, color, shape = SIZES.index(o.size), COLORS.index(o.color), SHAPES.index(o.shape)
    if kind == "full":
        return (size * len(COLORS) + color) * len(SHAPES) + shape
    if kind == "color":
        return _N_FULL + size * len(COLORS) + color
    return _N_FULL + _N_COLOR + size * len(SHAPES) + shape


def description_key(scene: Scene, kind: str = "full") -> int:
    """One integer per multiset of object descriptions (positions ignored): two scenes with the same key fit the same
    attribute-only captions (``kind`` "color" / "shape", which never name a place)."""
    codes = sorted(object_code(o, kind) for o in scene.objects)
    return sum((c + 1) * _KEY_BASE**k for k, c in enumerate(codes))


def attribute_caption(scene: Scene, kind: str, lang: str) -> str:
    """A caption naming only the colors ('a small red object') or only the shapes ('a large triangle')."""
    objs = sorted(scene.objects, key=lambda o: (o.x, o.y))
    if lang == "en":
        words = [f"a {o.size} {o.color} object" if kind == "color" else f"a {o.size} {o.shape}" for o in objs]
        return (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]) + "."
    words = [f"一个{COLOR_ZH[o.color]}的{SIZE_ZH[o.size]}物体" if kind == "color"
             else f"一个{SIZE_ZH[o.size]}{SHAPE_ZH[o.shape]}" for o in objs]
    return "图中有" + (words[0] if len(words) == 1 else "、".join(words[:-1]) + "和" + words[-1]) + "。"


def caption_of_kind(scene: Scene, kind: str, lang: str, template: str) -> str:
    """A full caption of the world (``template``) or an attribute-only one."""
    return caption(scene, lang, template=template) if kind == "full" else attribute_caption(scene, kind, lang)


# ----------------------------------------------------------------------------- the remedies' data changes


def _swap_colors(objs: list[Obj], rng: np.random.Generator, seen: set) -> Scene | None:
    """Two objects' colors exchanged (a pure binding error) when both new pairs are seen ones."""
    i, j = rng.choice(len(objs), size=2, replace=False)
    a, b = objs[i], objs[j]
    if a.color != b.color and a.shape != b.shape and (b.color, a.shape) in seen and (a.color, b.shape) in seen:
        objs[i], objs[j] = replace(a, color=b.color), replace(b, color=a.color)
        return Scene(objs)
    return None


def hard_negative_scene(scene: Scene, kind: str, rng: np.random.Generator) -> Scene | None:
    """The scene with one attribute changed so that a caption of this kind becomes false; only seen pairs are used.

    Full captions: swap the colors of two objects when that gives seen pairs (half of the time), else change one
    object's color or shape. Color / shape captions: change one object's color / shape. None if nothing fits."""
    objs, seen = list(scene.objects), set(SEEN_PAIRS)
    present = {o.pair for o in objs}
    if kind == "full" and len(objs) >= 2 and rng.random() < 0.5:
        swapped = _swap_colors(objs, rng, seen)
        if swapped is not None:
            return swapped
    attrs = ("color", "shape") if kind == "full" else (kind,)
    for _ in range(10):
        i = int(rng.integers(len(objs)))
        attr, o = attrs[int(rng.integers(len(attrs)))], objs[i]
        if attr == "color":
            options = [c for c in COLORS if c != o.color and (c, o.shape) in seen and (c, o.shape) not in present]
        else:
            options = [s for s in SHAPES if s != o.shape and (o.color, s) in seen and (o.color, s) not in present]
        if options:
            objs[i] = replace(o, **{attr: options[int(rng.integers(len(options)))]})
            return Scene(objs)
    return None


def paint_gray(images: torch.Tensor, mask: torch.Tensor, which: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """Repaint every object of the chosen images in its own random gray level (the instance mask says where)."""
    images = images.clone()
    for b in np.flatnonzero(which):
        for k in range(1, int(mask[b].max()) + 1):
            images[b][:, mask[b] == k] = float(rng.uniform(*GRAY_LEVELS))  # (3, n_pixels) <- one gray level
    return images


# ----------------------------------------------------------------------------- which caption is true of which image


def full_caption_truth(scenes: list[Scene], captions: list[str]) -> torch.Tensor:
    """(N_img, N_cap) bool: caption j is one of the captions the world writes for scene i (any template, either
    language), so "a small red circle at the top left." is false for a small red circle elsewhere."""
    index: dict[str, list[int]] = {}
    for j, c in enumerate(captions):
        index.setdefault(c, []).append(j)
    truth = torch.zeros(len(scenes), len(captions), dtype=torch.bool)
    for i, scene in enumerate(scenes):
        for c in set(all_captions(scene, "en")) | set(all_captions(scene, "zh")):
            truth[i, index.get(c, [])] = True
    return truth


def caption_truth(scenes, captions: list[str], cap_kind: torch.Tensor | None = None,
                  img_keys: torch.Tensor | None = None, cap_keys: torch.Tensor | None = None,
                  gray: torch.Tensor | None = None) -> torch.Tensor:
    """(N_img, N_cap) bool: caption j is true of image i.

    Full captions as ``full_caption_truth``, and false for every ``gray`` image (its objects have no palette color).
    Attribute-only captions (``cap_kind`` > 0) compare the description keys of ``make_batch`` (they name no place)."""
    truth = full_caption_truth(scenes, captions)
    if gray is not None and bool(gray.any()):
        truth[gray] = False  # the scene still lists its palette colors, the image shows gray
    if cap_kind is not None and bool((cap_kind > 0).any()):
        by_key = img_keys[:, cap_kind] == cap_keys[None, :]  # (N, N): same colors / shapes, positions not named
        truth = torch.where((cap_kind > 0)[None, :], by_key, truth)
    return truth


# ----------------------------------------------------------------------------- a training batch


def _caption_kinds(rng: np.random.Generator, n: int, remedies: frozenset) -> tuple[list[str], np.ndarray]:
    """What each caption names ("full" / "color" / "shape") and which images are painted gray."""
    kinds = ["full"] * n
    if "attribute_captions" in remedies:
        picks = rng.random(n)
        kinds = ["color" if p < ATTRIBUTE_SHARE / 2 else "shape" if p < ATTRIBUTE_SHARE else "full" for p in picks]
    gray = np.zeros(n, dtype=bool)
    if "color_augment" in remedies:
        gray = rng.random(n) < GRAY_SHARE
        kinds = ["shape" if g else k for g, k in zip(gray, kinds)]
    return kinds, gray


def _hard_negatives(rng, scenes, kinds, langs_of, templates_of, split: str) -> list[str]:
    """One false caption per image (``hard_negative_scene``), written like the image's own caption."""
    negs = []
    for i, (s, k, lang, t) in enumerate(zip(scenes, kinds, langs_of, templates_of)):
        bad = hard_negative_scene(s, k, rng)
        if bad is None:  # rare: no seen pair to swap to; another scene's caption is an ordinary negative
            bad = scenes[(i + 1) % len(scenes)] if len(scenes) > 1 else sample_split_scene(rng, split)
        negs.append(caption_of_kind(bad, k, lang, t))
    return negs


def make_batch(rng: np.random.Generator, batch_size: int, remedy: str | Iterable[str] | None = "all", *,
               langs: tuple[str, ...] = LANGS, caption_templates: tuple[str, ...] = CAPTION_TEMPLATES,
               split: str = "train") -> dict:
    """A batch of image-caption pairs from the world (held-out pairs excluded in the 'train' split).

    Returns a dict: "images" (B, 3, 32, 32), "tokens" (B, T), "captions", "scenes", "truth" (B, B) bool (caption j
    is true of image i, the diagonal included), "same" (the targets: "truth" with multi_positive, else the
    identity), "gray" (B,) bool, "img_keys" (B, 3) / "cap_keys" (B,) / "cap_kind" (B,) (what ``caption_truth``
    needs besides scenes and captions, for gathering across processes), and with hard negatives "neg_tokens" /
    "neg_captions": one false caption per image."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    remedies = parse_remedy(remedy)
    n_objects = MULTI_OBJECTS if "multi_object" in remedies else 1
    scenes = [sample_split_scene(rng, split, n_objects=n_objects) for _ in range(batch_size)]
    kinds, gray = _caption_kinds(rng, batch_size, remedies)
    langs_of = [langs[k] for k in rng.integers(len(langs), size=batch_size)]
    templates_of = [caption_templates[k] for k in rng.integers(len(caption_templates), size=batch_size)]
    captions = [caption_of_kind(*args) for args in zip(scenes, kinds, langs_of, templates_of)]
    rendered = render_batch(scenes, IMAGE_SIZE)
    images = paint_gray(rendered.rgb, rendered.mask, gray, rng) if gray.any() else rendered.rgb  # (B, 3, 32, 32)
    img_keys = torch.tensor([[description_key(s, k) for k in KINDS] for s in scenes])  # (B, 3)
    idx = torch.from_numpy(np.flatnonzero(gray))
    img_keys[idx, 0] = img_keys[idx, 1] = -1 - idx  # gray objects fit no caption that names a color
    cap_kind = torch.tensor([KINDS.index(k) for k in kinds])  # (B,)
    cap_keys = img_keys[torch.arange(batch_size), cap_kind]  # (B,)
    gray_t = torch.from_numpy(gray)
    eye = torch.eye(batch_size, dtype=torch.bool)
    truth = caption_truth(scenes, captions, cap_kind, img_keys, cap_keys, gray_t) | eye  # (B, B)
    batch = {"images": images, "tokens": tokenize(captions), "captions": captions, "scenes": scenes,
             "gray": gray_t, "truth": truth, "same": truth if "multi_positive" in remedies else eye,
             "img_keys": img_keys, "cap_keys": cap_keys, "cap_kind": cap_kind}
    if "hard_negatives" in remedies:
        batch["neg_captions"] = _hard_negatives(rng, scenes, kinds, langs_of, templates_of, split)
        batch["neg_tokens"] = tokenize(batch["neg_captions"])
    return batch


# ----------------------------------------------------------------------------- evaluation images


def single_object_images(pairs, n_per_class: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n_per_class one-object images (random size and place) of each (color, shape) pair, (N, 3, 32, 32), and
    their class index in PAIRS (N,)."""
    scenes, labels = [], []
    for pair in pairs:
        for _ in range(n_per_class):
            size = SIZES[int(rng.integers(len(SIZES)))]
            scenes.append(sample_scene(rng, 1, combos=[pair], sizes=(size,)))
            labels.append(PAIRS.index(pair))
    return render_batch(scenes, IMAGE_SIZE).rgb, torch.tensor(labels)


@lru_cache(maxsize=16)
def _class_images(held_out: bool, n_per_class: int, seed: int, stream: int) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = HELD_OUT_COMBOS if held_out else SEEN_PAIRS
    return single_object_images(pairs, n_per_class, np.random.default_rng([seed, int(held_out), stream]))


def class_images(held_out: bool, n_per_class: int, seed: int, purpose: str = "zero_shot"):
    """Single-object images of the seen (or held-out) pairs, n_per_class each, and their class index in PAIRS.

    ``purpose`` ("zero_shot", "probe_train", "probe_test") picks an independent draw of the same seed. The result is
    a fresh copy: editing it in place never changes a later call's images."""
    if purpose not in EVAL_STREAMS:
        raise ValueError(f"unknown purpose {purpose!r}; choose from {', '.join(EVAL_STREAMS)}")
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    images, labels = _class_images(bool(held_out), int(n_per_class), int(seed), EVAL_STREAMS[purpose])
    return images.clone(), labels.clone()


__all__ = [
    "ATTRIBUTE_SHARE", "CLASSNAMES", "CONTEXT_LENGTH", "GRAY_SHARE", "IMAGE_SIZE", "KINDS", "LANGS", "REMEDIES",
    "SEEN_PAIRS", "TEMPLATES_EN", "TEMPLATES_ZH", "attribute_caption", "caption_of_kind", "caption_truth",
    "class_images", "description_key", "full_caption_truth", "hard_negative_scene", "make_batch", "pad_cat",
    "paint_gray", "parse_remedy", "single_object_images", "templates", "tokenize", "tokenizer",
]
