"""torch Datasets of the toy world, generated from (n, seed, split) and rendered once at construction.

Datasets with the same n, seed, split and scene options hold the same scenes, so e.g.
CaptionDataset(lang="en") and CaptionDataset(lang="zh") are parallel (same images, same templates).
The seed defaults to ``settings.SEED``, the one the notebook gave ``seed_everything``.
Every item is a dict; besides the keys listed per class, all items have
  "pairs": LongTensor (MAX_OBJECTS,), index in PAIRS of each object's (color, shape), -1 padding,
  "n_objects": LongTensor ().
The scene of item i is dataset.scenes[dataset.scene_index(i)].
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import settings
from .audio import sonify, sonify_batch, spectrogram
from .language import CAPTION_TEMPLATES, caption, check_lang
from .qa import FAMILIES, answer_index, questions, sort_of_clevr_vector
from .rendering import render_batch
from .scene import COLORS, MAX_OBJECTS, SHAPES, Scene, sort_of_clevr_scene
from .splits import PAIRS, check_split, sample_split_scenes, split_rng
from .tokenizer import Tokenizer

_PAIR_ID = {p: i for i, p in enumerate(PAIRS)}


def pair_ids(scene: Scene) -> torch.Tensor:
    """(MAX_OBJECTS,) index in PAIRS of each object's (color, shape), -1 padding."""
    out = torch.full((MAX_OBJECTS,), -1, dtype=torch.long)
    out[:len(scene.objects)] = torch.tensor([_PAIR_ID[o.pair] for o in scene.objects], dtype=torch.long)
    return out


class WorldDataset(Dataset):
    """Base: n scenes of a split, rendered at construction (self.rgb, self.depth, self.mask)."""

    def __init__(self, n: int = 1000, seed: Optional[int] = None, split: str = "train", *, image_size: int = 32,
                 n_objects=(1, 4), noise: float = 0.0, clutter: float = 0.0, scenes: Optional[Sequence[Scene]] = None,
                 **scene_kwargs):
        seed = settings.SEED if seed is None else seed          # default: the notebook's seed
        check_split(split)
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n {n!r} must be an int >= 1")
        self.n, self.seed, self.split, self.image_size = int(n), seed, split, image_size
        if scenes is None:
            scenes = sample_split_scenes(n, seed, split, n_objects=n_objects, image_size=image_size, **scene_kwargs)
        self.scenes = list(scenes)
        r = render_batch(self.scenes, image_size, noise=noise, clutter=clutter, rng=split_rng(seed, split, 3))
        self.rgb, self.depth, self.mask = r.rgb, r.depth, r.mask
        self._pairs = torch.stack([pair_ids(s) for s in self.scenes])
        self._counts = torch.tensor([len(s.objects) for s in self.scenes])

    def __len__(self) -> int:
        return len(self.scenes)

    def scene_index(self, i: int) -> int:
        return i

    def _common(self, j: int) -> dict:
        return {"pairs": self._pairs[j], "n_objects": self._counts[j]}


class CaptionDataset(WorldDataset):
    """Image-caption pairs. Item: "image" (3, H, W), "caption" str, "tokens" (T,) long (<bos> ... <eos>, padded
    with 0 to max_len, default the longest caption here), plus "pairs", "n_objects".

    template: one of CAPTION_TEMPLATES, or None for a random template per image."""

    def __init__(self, n: int = 1000, seed: Optional[int] = None, split: str = "train", *, lang: str = "en",
                 template: Optional[str] = None, tokenizer: Optional[Tokenizer] = None, max_len: Optional[int] = None,
                 **kwargs):
        seed = settings.SEED if seed is None else seed          # default: the notebook's seed
        check_lang(lang)
        if template is not None and template not in CAPTION_TEMPLATES:
            raise ValueError(f"unknown caption template {template!r}; allowed: {', '.join(CAPTION_TEMPLATES)}")
        super().__init__(n, seed, split, **kwargs)
        self.lang = lang
        self.tokenizer = tokenizer or Tokenizer.for_world()
        rng = split_rng(seed, split, 1)
        picks = rng.integers(len(CAPTION_TEMPLATES), size=len(self.scenes))
        self.captions = [caption(s, lang, template=template or CAPTION_TEMPLATES[k])
                         for s, k in zip(self.scenes, picks)]
        self.tokens = self.tokenizer.batch(self.captions, max_len=max_len)                  # (N, T)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.rgb[i], "caption": self.captions[i], "tokens": self.tokens[i], **self._common(i)}


class VQADataset(WorldDataset):
    """Image-question-answer triples, questions_per_image per scene, families drawn uniformly.

    Item: "image" (3, H, W), "question" str, "tokens" (T,) long, "answer" str, "answer_id" long (index in ANSWERS,
    shared by both languages), "family" str, "family_id" long (index in FAMILIES), "qvec" (11,) float
    (Sort-of-CLEVR mode only: the paper's question encoding), plus "pairs", "n_objects".
    mode="sort_of_clevr" uses sort_of_clevr_scene images; its splits are train/test (no held-out pairs); with
    two_hop=True its questions include the family "two-hop" (and items carry no "qvec": the paper's 11 numbers
    cannot say a two-step question)."""

    def __init__(self, n: int = 1000, seed: Optional[int] = None, split: str = "train", *,
                 lang: str = "en", mode: str = "world",
                 questions_per_image: int = 1, families: Optional[Sequence[str]] = None,
                 tokenizer: Optional[Tokenizer] = None, max_len: Optional[int] = None, two_hop: bool = False,
                 **kwargs):
        seed = settings.SEED if seed is None else seed          # default: the notebook's seed
        check_lang(lang)
        if two_hop and mode != "sort_of_clevr":
            raise ValueError(f"two_hop questions exist in mode 'sort_of_clevr' only, not in mode {mode!r}")
        families = tuple(families or FAMILIES)
        for f in families:
            if f not in FAMILIES:
                raise ValueError(f"unknown question family {f!r}; allowed: {', '.join(FAMILIES)}")
        if questions_per_image < 1:
            raise ValueError(f"questions_per_image {questions_per_image!r} must be >= 1")
        if mode == "sort_of_clevr":
            if split == "heldout":
                raise ValueError("split 'heldout' does not apply to mode='sort_of_clevr' (every color appears in "
                                 "every scene); use 'train' or 'test'")
            rng = split_rng(seed, split)
            kwargs["scenes"] = [sort_of_clevr_scene(rng, kwargs.get("image_size", 32)) for _ in range(int(n))]
        elif mode != "world":
            raise ValueError(f"unknown question mode {mode!r}; allowed: world, sort_of_clevr")
        super().__init__(n, seed, split, **kwargs)
        self.lang, self.mode, self.k = lang, mode, int(questions_per_image)
        self.tokenizer = tokenizer or Tokenizer.for_world()
        rng = split_rng(seed, split, 2)
        self.qas = []
        for s in self.scenes:
            qas = [q for q in questions(s, lang, rng, mode=mode, two_hop=two_hop) if q.family in families]
            if not qas:
                raise ValueError(f"a scene with {len(s.objects)} object(s) has no question of the families "
                                 f"{families}; relational questions need n_objects >= 2, e.g. n_objects=(2, 4)")
            by_family = [[q for q in qas if q.family == f] for f in families]
            by_family = [g for g in by_family if g]
            for _ in range(self.k):
                group = by_family[int(rng.integers(len(by_family)))]
                self.qas.append(group[int(rng.integers(len(group)))])
        self.tokens = self.tokenizer.batch([q.question for q in self.qas], max_len=max_len)
        self.answer_ids = torch.tensor([answer_index(q.answer) for q in self.qas])
        self.family_ids = torch.tensor([FAMILIES.index(q.family) for q in self.qas])
        self.qvecs = None
        if mode == "sort_of_clevr" and not two_hop:
            self.qvecs = torch.stack([sort_of_clevr_vector(q) for q in self.qas])

    def __len__(self) -> int:
        return len(self.qas)

    def scene_index(self, i: int) -> int:
        return i // self.k

    def __getitem__(self, i: int) -> dict:
        j, q = i // self.k, self.qas[i]
        item = {"image": self.rgb[j], "question": q.question, "tokens": self.tokens[i], "answer": q.answer,
                "answer_id": self.answer_ids[i], "family": q.family, "family_id": self.family_ids[i],
                **self._common(j)}
        if self.qvecs is not None:
            item["qvec"] = self.qvecs[i]
        return item


class AudioVisualDataset(WorldDataset):
    """Images with the sound of a scene. With p_mismatch > 0 that fraction of items carries the sound of another
    scene (audio-visual correspondence). Item: "image" (3, H, W), "audio" (n_samples,), "spec" (F, T) log-magnitude
    spectrogram (if spectrograms; n_fft 256, hop 64), "match" long (1 = the sound belongs to the image),
    "audio_index" long (the scene the sound comes from), plus "pairs", "n_objects".
    Sounds and spectrograms are computed at construction (about 50 KB per item)."""

    def __init__(self, n: int = 1000, seed: Optional[int] = None, split: str = "train", *,
                 sr: int = 8000, duration: float = 0.5,
                 p_mismatch: float = 0.0, audio_noise: float = 0.0, spectrograms: bool = True, **kwargs):
        seed = settings.SEED if seed is None else seed          # default: the notebook's seed
        if not 0.0 <= p_mismatch <= 1.0:
            raise ValueError(f"p_mismatch {p_mismatch!r} must be in [0, 1]")
        if audio_noise < 0:
            raise ValueError(f"audio_noise {audio_noise!r} must be >= 0")
        sonify(Scene(), sr, duration)                                             # validates sr and duration first
        super().__init__(n, seed, split, **kwargs)
        self.sr, self.duration = sr, duration
        rng = split_rng(seed, split, 4)
        N = len(self.scenes)
        swap = rng.random(N) < p_mismatch
        partner = (np.arange(N) + rng.integers(1, max(N, 2), size=N)) % N           # another scene (if N > 1)
        self.audio_index = torch.from_numpy(np.where(swap & (N > 1), partner, np.arange(N)))
        self.match = (self.audio_index == torch.arange(N)).long()
        self.audio = sonify_batch([self.scenes[a] for a in self.audio_index.tolist()], sr, duration)  # (N, n_samples)
        if audio_noise > 0:
            self.audio += audio_noise * torch.from_numpy(rng.standard_normal(self.audio.shape, dtype=np.float32))
        self.spec = spectrogram(self.audio) if spectrograms else None                # (N, F, T)

    def __getitem__(self, i: int) -> dict:
        item = {"image": self.rgb[i], "audio": self.audio[i], "match": self.match[i],
                "audio_index": self.audio_index[i], **self._common(i)}
        if self.spec is not None:
            item["spec"] = self.spec[i]
        return item


class RGBDDataset(WorldDataset):
    """RGB images with depth maps and instance masks. Item: "rgb" (3, H, W), "depth" (1, H, W) (0 background,
    nearer objects larger, see rendering.py), "mask" (H, W) long, "count" long, "front_shape" / "front_color" long
    (index in SHAPES / COLORS of the object drawn last), plus "pairs", "n_objects".
    depth_noise adds Gaussian noise to the depth map (a second, independently corrupted modality)."""

    def __init__(self, n: int = 1000, seed: Optional[int] = None, split: str = "train", *,
                 depth_noise: float = 0.0, **kwargs):
        seed = settings.SEED if seed is None else seed          # default: the notebook's seed
        super().__init__(n, seed, split, **kwargs)
        if depth_noise > 0:
            g = torch.Generator().manual_seed(int(split_rng(seed, split, 5).integers(2**31)))
            self.depth = self.depth + depth_noise * torch.randn(self.depth.shape, generator=g)
        front = [max(enumerate(s.objects), key=lambda t: (t[1].depth, t[0]))[1] for s in self.scenes]
        self.front_shape = torch.tensor([SHAPES.index(o.shape) for o in front])
        self.front_color = torch.tensor([COLORS.index(o.color) for o in front])

    def __getitem__(self, i: int) -> dict:
        return {"rgb": self.rgb[i], "depth": self.depth[i], "mask": self.mask[i], "count": self._counts[i],
                "front_shape": self.front_shape[i], "front_color": self.front_color[i], **self._common(i)}
