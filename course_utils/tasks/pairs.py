"""The five mini-experiments of notebook 24.2, one per modality pair of the lecture's table.

| pair | task here | builder | model |
|---|---|---|---|
| image-text | image -> caption retrieval | ``caption_retrieval_data`` | ``DualEncoder(ImageEncoder, TextEncoder)`` |
| video-audio | audio-visual correspondence (L3-Net) | ``av_clips`` / ``correspondence_batch`` | ``CorrespondenceNet`` |
| image-depth | "is A in front of B?" | ``depth_order_data`` | ``DepthOrderNet`` (RGB, D or RGB-D input) |
| text-speech | text -> sound -> attributes | ``speak`` / ``sound_attribute_data`` | ``SoundAttributeNet`` |
| multilingual | zh <-> en caption retrieval | ``parallel_caption_data`` | ``DualEncoder(TextEncoder)`` (shared) |

Encoders are deliberately small (a few ten thousand parameters) so that each experiment trains in well under
a minute on a laptop CPU.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import (
    COLORS,
    DEPTH_STEP,
    SHAPES,
    SIZES,
    CaptionDataset,
    Obj,
    Scene,
    Tokenizer,
    animate_batch,
    render_batch,
    sample_scene,
    sonify,
    spectrogram,
)
from ..data.splits import split_rng

ATTRIBUTES = {"color": COLORS, "shape": SHAPES, "size": SIZES}


# ----------------------------------------------------------------------------------------------------------------
# Keys, relevance and chance levels
# ----------------------------------------------------------------------------------------------------------------
def attribute_key(scene: Scene) -> tuple:
    """What a 'list' caption says about a scene: the sorted (size, color, shape) of every object."""
    return tuple(sorted((o.size, o.color, o.shape) for o in scene.objects))


def same_key(keys_a, keys_b=None) -> torch.Tensor:
    """Bool (A, B): True where item i of keys_a and item j of keys_b have equal keys."""
    keys_b = keys_a if keys_b is None else keys_b
    ids = {k: i for i, k in enumerate(dict.fromkeys([*keys_a, *keys_b]))}
    a = torch.tensor([ids[k] for k in keys_a])
    b = torch.tensor([ids[k] for k in keys_b])
    return a[:, None] == b[None, :]


def chance_recall(relevant: torch.Tensor, k: int) -> float:
    """Expected recall@k of a random ranking: mean over queries of 1 - C(G - r, k) / C(G, k), r relevant of G."""
    G = relevant.shape[1]
    out = []
    for r in relevant.sum(1).tolist():
        out.append(1.0 - math.comb(G - r, k) / math.comb(G, k) if k <= G else float(r > 0))
    return float(np.mean(out))


# ----------------------------------------------------------------------------------------------------------------
# Encoders
# ----------------------------------------------------------------------------------------------------------------
class ImageEncoder(nn.Module):
    """(B, C, H, W) -> (B, dim): three conv3x3-BN-ReLU stages with 2x max-pooling, global max pool, linear.

    The global *max* pool lets a channel act as a detector ("a large red circle somewhere")."""

    def __init__(self, in_channels: int = 3, width: int = 32, dim: int = 64):
        super().__init__()
        self.in_channels, self.dim = in_channels, dim

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.net = nn.Sequential(
            *block(in_channels, width), nn.MaxPool2d(2),           # (B, w, H/2, W/2)
            *block(width, width), nn.MaxPool2d(2),                 # (B, w, H/4, W/4)
            *block(width, 2 * width),                              # (B, 2w, H/4, W/4)
        )
        self.proj = nn.Linear(2 * width, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        return self.proj(self.net(x).amax(dim=(2, 3)))             # (B, dim)


class TextEncoder(nn.Module):
    """(B, T) token ids -> (B, dim): embeddings, two width-3 convolutions (so 'small red circle' is read as one
    phrase, not a bag of words), max over the real tokens, linear."""

    def __init__(self, vocab_size: int, width: int = 96, dim: int = 64, pad_id: int = 0):
        super().__init__()
        self.pad_id, self.dim = pad_id, dim
        self.embed = nn.Embedding(vocab_size, width, padding_idx=pad_id)
        self.conv1 = nn.Conv1d(width, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, padding=1)
        self.proj = nn.Linear(width, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(f"expected token ids (B, T) of dtype long, got {tuple(tokens.shape)} {tokens.dtype}")
        keep = (tokens != self.pad_id)[:, None, :]                          # (B, 1, T)
        h = self.embed(tokens).transpose(1, 2)                              # (B, w, T), zeros at padding
        h = F.relu(self.conv1(h)) * keep                                    # (B, w, T), padding kept at zero
        h = F.relu(self.conv2(h)) * keep + h                                # (B, w, T)
        h = h.masked_fill(~keep, float("-inf")).amax(dim=2)                 # (B, w)
        return self.proj(h)                                                 # (B, dim)


class SpectrogramEncoder(nn.Module):
    """(B, F, T) log-magnitude spectrogram -> (B, dim): frequency bins as channels, two 1-D convolutions over
    time, mean over time. The tones of the world are stationary, so the spectrum is what matters."""

    def __init__(self, n_freq: int = 129, width: int = 64, dim: int = 64):
        super().__init__()
        self.n_freq = n_freq
        self.norm = nn.BatchNorm1d(n_freq)
        self.net = nn.Sequential(
            nn.Conv1d(n_freq, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),   # (B, w, T)
            nn.Conv1d(width, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),    # (B, w, T)
        )
        self.proj = nn.Linear(width, dim)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        if spec.dim() != 3 or spec.size(1) != self.n_freq:
            raise ValueError(f"expected spectrograms (B, {self.n_freq}, T), got shape {tuple(spec.shape)}")
        return self.proj(self.net(self.norm(spec)).mean(dim=2))             # (B, dim)


class VideoEncoder(nn.Module):
    """(B, T, 3, H, W) clip -> (B, dim): one image encoder shared by all frames, mean over time."""

    def __init__(self, width: int = 16, dim: int = 64):
        super().__init__()
        self.frame = ImageEncoder(3, width, dim)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5 or video.size(2) != 3:
            raise ValueError(f"expected clips (B, T, 3, H, W), got shape {tuple(video.shape)}")
        B, T = video.shape[:2]
        z = self.frame(video.flatten(0, 1))                                 # (B*T, dim)
        return z.view(B, T, -1).mean(dim=1)                                 # (B, dim)


# ----------------------------------------------------------------------------------------------------------------
# Retrieval: a dual encoder (image-text, and zh-en with one shared text encoder)
# ----------------------------------------------------------------------------------------------------------------
class DualEncoder(nn.Module):
    """Two encoders (or one shared) into one space: returns L2-normalized z_a, z_b and the logit scale 1/tau."""

    def __init__(self, encoder_a: nn.Module, encoder_b: nn.Module | None = None, tau: float = 0.07):
        super().__init__()
        self.encoder_a = encoder_a
        self.encoder_b = encoder_a if encoder_b is None else encoder_b      # shared weights when None
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / tau)))

    def encode_a(self, x):
        return F.normalize(self.encoder_a(x), dim=-1)

    def encode_b(self, x):
        return F.normalize(self.encoder_b(x), dim=-1)

    def forward(self, a, b):
        return self.encode_a(a), self.encode_b(b), self.log_scale.exp().clamp(max=100.0)


@torch.no_grad()
def embed(encode, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """encode(x) in batches, on CPU, float."""
    return torch.cat([encode(x[i:i + batch_size]).float().cpu() for i in range(0, len(x), batch_size)])


def caption_retrieval_data(n: int, seed: int = 0, split: str = "train", n_objects=(1, 2), tokenizer=None) -> dict:
    """Images, their 'list' captions (which name size, color and shape of every object) and attribute keys."""
    ds = CaptionDataset(n, seed, split, lang="en", template="list", tokenizer=tokenizer, n_objects=n_objects,
                        max_len=24)
    return {"image": ds.rgb, "tokens": ds.tokens, "caption": ds.captions,
            "keys": [attribute_key(s) for s in ds.scenes], "scenes": ds.scenes}


def parallel_caption_data(n: int, seed: int = 0, split: str = "train", n_objects=(1, 3), tokenizer=None) -> dict:
    """Parallel English / Chinese captions of the same scenes (same template per scene), tokenized jointly."""
    tokenizer = tokenizer or Tokenizer.for_world()
    en = CaptionDataset(n, seed, split, lang="en", tokenizer=tokenizer, n_objects=n_objects, max_len=40)
    zh = CaptionDataset(n, seed, split, lang="zh", tokenizer=tokenizer, n_objects=n_objects, max_len=40)
    return {"en": en.tokens, "zh": zh.tokens, "en_text": en.captions, "zh_text": zh.captions,
            "keys": list(en.captions)}       # two captions mean the same when their English texts are equal


# ----------------------------------------------------------------------------------------------------------------
# Video-audio: audio-visual correspondence
# ----------------------------------------------------------------------------------------------------------------
def av_clips(n: int, seed: int = 0, split: str = "train", frames: int = 4, size: int = 32, n_objects=(1, 3),
             sr: int = 8000, duration: float = 0.5) -> dict:
    """n scenes as clips (n, frames, 3, H, W) with their sounds as spectrograms (n, F, T) and attribute keys."""
    rng = split_rng(seed, split, 6)
    scenes = [sample_scene(rng, n_objects, image_size=size) for _ in range(n)]
    video = animate_batch(scenes, frames, size, rng)                                     # (n, T, 3, H, W)
    spec = spectrogram(torch.stack([sonify(s, sr, duration) for s in scenes]))          # (n, F, T')
    return {"video": video, "spec": spec, "keys": [attribute_key(s) for s in scenes], "scenes": scenes}


def correspondence_pairs(keys, n_pairs: int, generator: torch.Generator, p_match: float = 0.5):
    """Indices (video_i, audio_j) and labels y = 1[the sound of j is what clip i sounds like] (eq. 24.2.4).

    A negative takes the sound of a random other scene; when that scene happens to hold the same objects,
    the label is 1, because the sound then *does* belong to the clip."""
    n = len(keys)
    vid = torch.randint(n, (n_pairs,), generator=generator)
    other = (vid + torch.randint(1, n, (n_pairs,), generator=generator)) % n
    match = torch.rand(n_pairs, generator=generator) < p_match
    aud = torch.where(match, vid, other)
    same = same_key(keys)
    return vid, aud, same[vid, aud].float()


def altered_sounds(scenes, attribute: str, seed: int = 0, sr: int = 8000, duration: float = 0.5) -> torch.Tensor:
    """Spectrograms (n, F, T) of each scene with one random object's color, shape or size changed: hard negatives
    that differ from the true sound in exactly one pitch, timbre or loudness."""
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attribute!r}; allowed: {', '.join(ATTRIBUTES)}")
    rng = np.random.default_rng(seed)
    waves = []
    for s in scenes:
        objs = list(s.objects)
        i = int(rng.integers(len(objs)))
        taken = {o.pair for j, o in enumerate(objs) if j != i}
        values = [v for v in ATTRIBUTES[attribute] if v != getattr(objs[i], attribute)
                  and (attribute == "size" or replace(objs[i], **{attribute: v}).pair not in taken)]
        objs[i] = replace(objs[i], **{attribute: values[int(rng.integers(len(values)))]})
        waves.append(sonify(Scene(objs), sr, duration))
    return spectrogram(torch.stack(waves))


class CorrespondenceNet(nn.Module):
    """Two streams (vision, audio) -> concatenated embeddings -> MLP -> one logit: does the sound belong to the
    clip? The L3-Net design of Arandjelovic & Zisserman (2017), scaled down."""

    def __init__(self, dim: int = 64, video_width: int = 12, audio_width: int = 64, n_freq: int = 129):
        super().__init__()
        self.video = VideoEncoder(video_width, dim)
        self.audio = SpectrogramEncoder(n_freq, audio_width, dim)
        self.head = nn.Sequential(nn.Linear(2 * dim, 128), nn.ReLU(), nn.Linear(128, 1))

    def forward(self, video: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        z = torch.cat([self.video(video), self.audio(spec)], dim=1)         # (B, 2 dim)
        return self.head(z).squeeze(1)                                      # (B,) logits


# ----------------------------------------------------------------------------------------------------------------
# Image-depth: which of two named objects is in front?
# ----------------------------------------------------------------------------------------------------------------
def _swap_order(scene: Scene) -> Scene:
    """The same two objects with their draw order (depth) exchanged."""
    a, b = scene.objects
    return Scene([replace(a, depth=b.depth), replace(b, depth=a.depth)])


def depth_order_data(n: int, seed: int = 0, split: str = "train", size: int = 32, p_occluded: float = 0.5) -> dict:
    """Two objects of distinct colors; question "is the <color A> object in front of the <color B> object?".

    Returns rgb (n, 3, H, W), depth (n, 1, H, W) nearness, query (n, 2) color ids (A, B), label (n,) float,
    occluded (n,) bool: True when one object hides part of the other, i.e. swapping their depths changes the
    image (only then can the RGB image show who is in front)."""
    if not 0.0 <= p_occluded <= 1.0:
        raise ValueError(f"p_occluded {p_occluded!r} must be in [0, 1]")
    rng = split_rng(seed, split, 7)
    n_occ = int(round(n * p_occluded))
    want = {True: n_occ, False: n - n_occ}
    kept: list[tuple[Scene, bool]] = []
    while want[True] > 0 or want[False] > 0:
        cand = [sample_scene(rng, 2, distinct_colors=True, overlap=True, image_size=size) for _ in range(512)]
        r1 = render_batch(cand, size).rgb
        r2 = render_batch([_swap_order(s) for s in cand], size).rgb
        occ = (r1 != r2).flatten(1).any(1).tolist()
        for s, o in zip(cand, occ):
            if want[o] > 0:
                kept.append((s, o))
                want[o] -= 1
    order = rng.permutation(len(kept))
    scenes = [kept[i][0] for i in order]
    occluded = torch.tensor([kept[i][1] for i in order])
    r = render_batch(scenes, size)
    a_first = torch.from_numpy(rng.random(n) < 0.5)                         # which object the question names first
    col = torch.tensor([[COLORS.index(o.color) for o in s.objects] for s in scenes])     # (n, 2), [back, front]
    query = torch.where(a_first[:, None], col, col.flip(1))                 # (n, 2) colors (A, B)
    label = (~a_first).float()                                              # A is in front iff A is objects[1]
    return {"rgb": r.rgb, "depth": r.depth, "query": query, "label": label, "occluded": occluded, "scenes": scenes}


class DepthOrderNet(nn.Module):
    """Which of two named objects is in front? An image encoder over the chosen input (RGB: 3 channels, D: 1,
    RGB-D: 4) gives every color a "nearness score" s_c; the question (A, B) reads two of them:
    logit = s_A - s_B, so the model is told *how* to use the question and only has to learn to see."""

    INPUTS = {"rgb": 3, "depth": 1, "rgbd": 4}

    def __init__(self, inputs: str = "rgbd", width: int = 24, dim: int = 64):
        super().__init__()
        if inputs not in self.INPUTS:
            raise ValueError(f"unknown inputs {inputs!r}; allowed: {', '.join(self.INPUTS)}")
        self.inputs = inputs
        self.encoder = ImageEncoder(self.INPUTS[inputs], width, dim)
        self.score = nn.Sequential(nn.ReLU(), nn.Linear(dim, len(COLORS)))

    def select(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """The input channels this model sees; depth (steps of DEPTH_STEP) rescaled to about [0, 1]."""
        d = depth / (4 * DEPTH_STEP)
        return {"rgb": rgb, "depth": d, "rgbd": torch.cat([rgb, d], 1)}[self.inputs]

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        s = self.score(self.encoder(self.select(rgb, depth)))              # (B, 6) nearness score per color
        s_ab = s.gather(1, query)                                           # (B, 2) scores of A and B
        return s_ab[:, 0] - s_ab[:, 1]                                      # (B,) logit of "A in front of B"


# ----------------------------------------------------------------------------------------------------------------
# Text-speech: a description becomes a sound; a classifier recovers the description
# ----------------------------------------------------------------------------------------------------------------
_EN_PHRASE = re.compile(rf"(?:\b({'|'.join(SIZES)})\s+)?\b({'|'.join(COLORS)})\s+({'|'.join(SHAPES)})\b")


def parse_description(text: str) -> list[Obj]:
    """Objects named in an English or Chinese description: 'a large red circle' / '一个红色的大圆形'.

    A missing size means 'small'. Raises ValueError when the text names no object."""
    from ..data import COLOR_ZH, SHAPE_ZH, SIZE_ZH

    objs = [Obj(shape, color, size or "small") for size, color, shape in _EN_PHRASE.findall(text.lower())]
    if not objs:
        inv_c = {v: k for k, v in COLOR_ZH.items()}
        inv_s = {v: k for k, v in SHAPE_ZH.items()}
        inv_z = {v: k for k, v in SIZE_ZH.items()}
        zh = re.compile(f"({'|'.join(inv_c)})的?({'|'.join(inv_z)})?({'|'.join(inv_s)})")
        objs = [Obj(inv_s[s], inv_c[c], inv_z[z] if z else "small") for c, z, s in zh.findall(text)]
    if not objs:
        raise ValueError(f"the text {text!r} names no object ('<size> <color> <shape>', e.g. 'a large red circle')")
    return objs


def speak(text: str, sr: int = 8000, duration: float = 0.5) -> torch.Tensor:
    """Text -> waveform: parse the description into objects (the 'front end'), then sonify them (the 'vocoder')."""
    return sonify(Scene(parse_description(text)), sr, duration)


def sound_attribute_data(n: int, seed: int = 0, split: str = "train", noise=(0.0, 0.3), sr: int = 8000,
                         duration: float = 0.5) -> dict:
    """Single objects heard through Gaussian noise of a random level in [noise[0], noise[1]].

    Returns spec (n, F, T), labels (n, 3) = indices of (color, shape, size), noise (n,)."""
    rng = split_rng(seed, split, 8)
    lab = np.stack([rng.integers(len(v), size=n) for v in ATTRIBUTES.values()], 1)      # (n, 3)
    levels = rng.uniform(noise[0], noise[1], size=n)
    waves = torch.stack([
        sonify(Scene([Obj(SHAPES[s], COLORS[c], SIZES[z])]), sr, duration, noise=float(lv), rng=rng)
        for (c, s, z), lv in zip(lab, levels)])
    return {"spec": spectrogram(waves), "labels": torch.from_numpy(lab), "noise": torch.from_numpy(levels).float()}


class SoundAttributeNet(nn.Module):
    """Spectrogram encoder with one linear head per attribute: color (6), shape (3), size (2)."""

    def __init__(self, n_freq: int = 129, width: int = 64, dim: int = 64):
        super().__init__()
        self.encoder = SpectrogramEncoder(n_freq, width, dim)
        self.heads = nn.ModuleDict({k: nn.Linear(dim, len(v)) for k, v in ATTRIBUTES.items()})

    def forward(self, spec: torch.Tensor) -> dict[str, torch.Tensor]:
        z = F.relu(self.encoder(spec))                                      # (B, dim)
        return {k: head(z) for k, head in self.heads.items()}              # name -> (B, n_values)


def describe_prediction(logits: dict[str, torch.Tensor], i: int = 0) -> str:
    """'a large red circle' from the i-th row of the attribute logits."""
    c, s, z = (ATTRIBUTES[k][int(logits[k][i].argmax())] for k in ("color", "shape", "size"))
    return f"a {z} {c} {s}"
