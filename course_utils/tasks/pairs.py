"""The five mini-experiments of notebook 24.2, one per modality pair of the lecture's table.

| pair | task here | data | model |
|---|---|---|---|
| image-text | image -> caption | ``caption_retrieval_data`` | ``DualEncoder(ImageEncoder, ConvTextEncoder)`` |
| video-audio | audio-visual correspondence (L3-Net) | ``av_clips`` / ``correspondence_pairs`` | ``CorrespondenceNet`` |
| image-depth | "is A in front of B?" | ``depth_order_data`` | ``DepthOrderNet`` (RGB, D or RGB-D input) |
| text-speech | text -> sound -> attributes | ``speak`` / ``sound_attribute_data`` | ``SoundAttributeNet`` |
| multilingual | zh <-> en caption retrieval | ``parallel_caption_data`` | ``DualEncoder(ConvTextEncoder)`` (shared) |

The notebook writes every network and one training run of each experiment out in cells; ``run_image_text``,
``run_correspondence``, ``run_depth_order``, ``run_sound_attributes`` and ``run_multilingual`` repeat exactly that
run for another seed (data, batch order and initialization all follow the seed), which gives the seed-to-seed noise
of every number. Sizes are in ``CONFIGS`` (full mode) and ``FAST_CONFIGS`` (``COURSE_FAST=1``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import settings
from ..data import (
    COLOR_ZH,
    COLORS,
    DEPTH_STEP,
    SHAPE_ZH,
    SHAPES,
    SIZE_ZH,
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
from ..data.audio import N_FREQ
from ..data.splits import split_rng
from ..metrics import recall_at_k
from ..nn.clip import LOGIT_SCALE_MAX
from ..nn.clip_loss import multi_positive_clip_loss
from ..train import fit, predict

ATTRIBUTES = {"color": COLORS, "shape": SHAPES, "size": SIZES}
AV_FRAMES = 3                  # frames per clip in the audio-visual experiment
SOUND_NOISE = (0.0, 0.3)       # range of the noise std added to the training and test sounds of the text-speech run


# ----------------------------------------------------------------------------------------------------------------
# Sizes of the runs, and seeds
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunConfig:
    """How big one mini-experiment is: training / test examples, optimizer steps, batch size, learning rate."""

    n_train: int
    n_test: int
    steps: int
    batch_size: int
    lr: float = 3e-3


CONFIGS = {
    "image-text": RunConfig(n_train=4000, n_test=500, steps=60, batch_size=128),
    "video-audio": RunConfig(n_train=2000, n_test=500, steps=120, batch_size=64),
    "image-depth": RunConfig(n_train=3000, n_test=1000, steps=80, batch_size=64),
    "text-speech": RunConfig(n_train=3000, n_test=1000, steps=100, batch_size=128),
    "multilingual": RunConfig(n_train=3000, n_test=500, steps=80, batch_size=128),
}
FAST_CONFIGS = {
    "image-text": RunConfig(n_train=800, n_test=300, steps=15, batch_size=32),
    "video-audio": RunConfig(n_train=300, n_test=200, steps=15, batch_size=32),
    "image-depth": RunConfig(n_train=600, n_test=300, steps=15, batch_size=32),
    "text-speech": RunConfig(n_train=600, n_test=300, steps=20, batch_size=32),
    "multilingual": RunConfig(n_train=600, n_test=300, steps=20, batch_size=32),
}


def config(pair: str) -> RunConfig:
    """The sizes of the experiment of ``pair`` in the current mode (fast or full)."""
    if pair not in CONFIGS:
        raise ValueError(f"unknown modality pair {pair!r}; allowed: {', '.join(CONFIGS)}")
    return settings.pick(FAST_CONFIGS[pair], CONFIGS[pair])


def torch_generator(seed: int, stream: int = 0) -> torch.Generator:
    """An independent torch random stream per (seed, stream): e.g. training batches (0) and test pairs (1)."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))



# ----------------------------------------------------------------------------------------------------------------
# Keys, relevance and chance levels
# ----------------------------------------------------------------------------------------------------------------
def scene_key(scene: Scene) -> tuple:
    """What a 'list' caption says about a scene (and what its sound is made of): the sorted (size, color, shape)
    of every object, without positions or order."""
    return tuple(sorted((o.size, o.color, o.shape) for o in scene.objects))


def same_key(keys_a, keys_b=None) -> torch.Tensor:
    """Bool (A, B): True where item i of keys_a and item j of keys_b have equal keys."""
    keys_b = keys_a if keys_b is None else keys_b
    ids = {k: i for i, k in enumerate(dict.fromkeys([*keys_a, *keys_b]))}
    a = torch.tensor([ids[k] for k in keys_a])
    b = torch.tensor([ids[k] for k in keys_b])
    return a[:, None] == b[None, :]


def chance_recall(relevant: torch.Tensor, k: int) -> float:
    """Expected recall@k of a random ranking, eq. (24.2.3): mean over queries of 1 - C(G - r, k) / C(G, k)."""
    G = relevant.shape[1]
    out = []
    for r in relevant.sum(1).tolist():
        out.append(1.0 - math.comb(G - r, k) / math.comb(G, k) if k <= G else float(r > 0))
    return float(np.mean(out))


def chance_accuracy(labels: torch.Tensor) -> float:
    """Accuracy of the best guess that ignores the input (always the majority label) on 0/1 ``labels``."""
    p = float(labels.float().mean())
    return max(p, 1.0 - p)


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


class ConvTextEncoder(nn.Module):
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

    def __init__(self, n_freq: int = N_FREQ, width: int = 64, dim: int = 64):
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

    def __init__(self, width: int = 12, dim: int = 64):
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
    """Two encoders (or one shared) into one space, eq. (24.2.1): returns L2-normalized z_a, z_b and 1/tau."""

    def __init__(self, encoder_a: nn.Module, encoder_b: nn.Module | None = None, tau: float = 0.07):
        super().__init__()
        self.encoder_a = encoder_a
        self.encoder_b = encoder_a if encoder_b is None else encoder_b      # shared weights when None
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / tau)))     # log(1/tau), learned

    def encode_a(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.encoder_a(x), dim=-1)                       # (B, dim), unit length

    def encode_b(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.encoder_b(x), dim=-1)

    def forward(self, a, b):
        return self.encode_a(a), self.encode_b(b), self.log_scale.clamp(max=LOGIT_SCALE_MAX).exp()


def similarity(model: DualEncoder, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(len(a), len(b)) cosine similarities: rows ``a`` encoded by ``encode_a``, columns ``b`` by ``encode_b``."""
    return predict(model, a, fn=model.encode_a) @ predict(model, b, fn=model.encode_b).T


def pair_batches(a: torch.Tensor, b: torch.Tensor, same: torch.Tensor, batch_size: int,
                 generator: torch.Generator) -> Callable[[int], tuple]:
    """step -> (a_i, b_i, same among the batch): random rows, with the multi-positive targets of eq. (24.2.2)."""
    def batch(step):
        i = torch.randint(len(a), (batch_size,), generator=generator)
        return a[i], b[i], same[i][:, i]
    return batch


def contrastive_loss(model: DualEncoder, batch) -> torch.Tensor:
    """Multi-positive symmetric InfoNCE (24.2.2) of a batch from ``pair_batches``."""
    z_a, z_b, scale = model(batch[0], batch[1])
    return multi_positive_clip_loss(z_a, z_b, scale, batch[2])


def caption_retrieval_data(n: int, seed: int, split: str = "train", n_objects=(1, 2), tokenizer=None) -> dict:
    """Images, their 'list' captions (which name size, color and shape of every object) and scene keys."""
    ds = CaptionDataset(n, seed, split, lang="en", template="list", tokenizer=tokenizer, n_objects=n_objects,
                        max_len=24)
    return {"image": ds.rgb, "tokens": ds.tokens, "caption": ds.captions,
            "keys": [scene_key(s) for s in ds.scenes], "scenes": ds.scenes}


def parallel_caption_data(n: int, seed: int, split: str = "train", n_objects=(1, 3), tokenizer=None) -> dict:
    """Parallel English / Chinese captions of the same scenes (same template per scene), tokenized jointly."""
    tokenizer = tokenizer or Tokenizer.for_world()
    en = CaptionDataset(n, seed, split, lang="en", tokenizer=tokenizer, n_objects=n_objects, max_len=40)
    zh = CaptionDataset(n, seed, split, lang="zh", tokenizer=tokenizer, n_objects=n_objects, max_len=40)
    return {"en": en.tokens, "zh": zh.tokens, "en_text": en.captions, "zh_text": zh.captions,
            "keys": list(en.captions)}       # two captions mean the same when their English texts are equal


def run_image_text(seed: int, cfg: RunConfig | None = None, tokenizer: Tokenizer | None = None,
                   text_encoder: Callable[[int], nn.Module] = ConvTextEncoder) -> dict:
    """Train the image-text dual encoder of section 4.1 with ``seed``; test R@1, R@5 and their chance levels.

    ``text_encoder(vocab_size)`` builds the text side (another encoder for exercise 4)."""
    cfg = cfg or config("image-text")
    tok = tokenizer or Tokenizer.for_world()
    train = caption_retrieval_data(cfg.n_train, seed, "train", tokenizer=tok)
    test = caption_retrieval_data(cfg.n_test, seed, "test", tokenizer=tok)
    model = settings.seeded(lambda: DualEncoder(ImageEncoder(), text_encoder(tok.vocab_size)), seed)
    batches = pair_batches(train["image"], train["tokens"], same_key(train["keys"]), cfg.batch_size,
                           torch_generator(seed))
    fit(model, batches, contrastive_loss, steps=cfg.steps, lr=cfg.lr, plot=False, progress=False)
    relevant = same_key(test["keys"])
    return {**recall_at_k(similarity(model, test["image"], test["tokens"]), relevant, ks=(1, 5)),
            "chance R@1": chance_recall(relevant, 1), "chance R@5": chance_recall(relevant, 5)}


def run_multilingual(seed: int, cfg: RunConfig | None = None, tokenizer: Tokenizer | None = None) -> dict:
    """Train the shared zh-en text encoder of section 4.5 with ``seed``; test R@1 both ways and its chance level."""
    cfg = cfg or config("multilingual")
    tok = tokenizer or Tokenizer.for_world()
    train = parallel_caption_data(cfg.n_train, seed, "train", tokenizer=tok)
    test = parallel_caption_data(cfg.n_test, seed, "test", tokenizer=tok)
    model = settings.seeded(lambda: DualEncoder(ConvTextEncoder(tok.vocab_size)), seed)
    batches = pair_batches(train["en"], train["zh"], same_key(train["keys"]), cfg.batch_size, torch_generator(seed))
    fit(model, batches, contrastive_loss, steps=cfg.steps, lr=cfg.lr, plot=False, progress=False)
    sim, relevant = similarity(model, test["en"], test["zh"]), same_key(test["keys"])      # (en, zh)
    return {"en->zh R@1": recall_at_k(sim, relevant, (1,))["R@1"],
            "zh->en R@1": recall_at_k(sim.T, relevant.T, (1,))["R@1"], "chance R@1": chance_recall(relevant, 1)}


# ----------------------------------------------------------------------------------------------------------------
# Video-audio: audio-visual correspondence
# ----------------------------------------------------------------------------------------------------------------
def av_clips(n: int, seed: int, split: str = "train", frames: int = AV_FRAMES, size: int = 32, n_objects=(1, 3),
             sr: int = 8000, duration: float = 0.5) -> dict:
    """n scenes as clips (n, frames, 3, H, W) with their sounds as spectrograms (n, F, T) and scene keys."""
    rng = split_rng(seed, split, 6)
    scenes = [sample_scene(rng, n_objects, image_size=size) for _ in range(n)]
    video = animate_batch(scenes, frames, size, rng)                                     # (n, T, 3, H, W)
    spec = spectrogram(torch.stack([sonify(s, sr, duration) for s in scenes]))          # (n, F, T')
    return {"video": video, "spec": spec, "keys": [scene_key(s) for s in scenes], "scenes": scenes}


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


def altered_sounds(scenes, attribute: str, seed: int, sr: int = 8000, duration: float = 0.5) -> torch.Tensor:
    """Spectrograms (n, F, T) of each scene with one random object's color, shape or size changed: hard negatives
    that differ from the true sound in exactly one pitch, timbre or loudness."""
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attribute!r}; allowed: {', '.join(ATTRIBUTES)}")
    rng = np.random.default_rng([int(seed), list(ATTRIBUTES).index(attribute)])
    return spectrogram(torch.stack([sonify(_alter_one(s, attribute, rng), sr, duration) for s in scenes]))


def _alter_one(scene: Scene, attribute: str, rng: np.random.Generator) -> Scene:
    """The scene with one random object's ``attribute`` changed; no two objects end up with the same (color, shape)
    unless every change would do that (three objects of one color, and the shape is to change)."""
    objs = list(scene.objects)

    def others(i, unique=True):
        taken = {o.pair for j, o in enumerate(objs) if j != i}
        return [v for v in ATTRIBUTES[attribute] if v != getattr(objs[i], attribute)
                and not (unique and attribute != "size" and replace(objs[i], **{attribute: v}).pair in taken)]

    movable = [i for i in range(len(objs)) if others(i)] or list(range(len(objs)))
    i = movable[int(rng.integers(len(movable)))]
    values = others(i) or others(i, unique=False)
    objs[i] = replace(objs[i], **{attribute: values[int(rng.integers(len(values)))]})
    return Scene(objs)


class CorrespondenceNet(nn.Module):
    """Two streams (vision, audio) -> concatenated embeddings -> MLP -> one logit: does the sound belong to the
    clip? The L3-Net design of Arandjelovic & Zisserman (2017), scaled down; eq. (24.2.4)."""

    def __init__(self, dim: int = 64, video_width: int = 12, audio_width: int = 64, n_freq: int = N_FREQ):
        super().__init__()
        self.video = VideoEncoder(video_width, dim)
        self.audio = SpectrogramEncoder(n_freq, audio_width, dim)
        self.head = nn.Sequential(nn.Linear(2 * dim, 128), nn.ReLU(), nn.Linear(128, 1))

    def forward(self, video: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        z = torch.cat([self.video(video), self.audio(spec)], dim=1)         # (B, 2 dim)
        return self.head(z).squeeze(1)                                      # (B,) logits


def correspondence_batches(clips: dict, batch_size: int, generator: torch.Generator) -> Callable[[int], tuple]:
    """step -> (video, spectrogram, y): fresh random pairs every step, half of them matched."""
    def batch(step):
        v, a, y = correspondence_pairs(clips["keys"], batch_size, generator)
        return clips["video"][v], clips["spec"][a], y
    return batch


def correspondence_loss(model: CorrespondenceNet, batch):
    """Binary cross-entropy of eq. (24.2.4), with the batch accuracy for the progress bar."""
    logits = model(batch[0], batch[1])
    acc = ((logits > 0).float() == batch[2]).float().mean()
    return F.binary_cross_entropy_with_logits(logits, batch[2]), {"acc": acc}


def correspondence_report(model: CorrespondenceNet, test: dict, seed: int) -> dict:
    """Test accuracy on 2n random pairs (stream 1 of ``seed``) and its chance level, accuracy on matched and on
    mismatched pairs, and the share of hard negatives (one attribute changed) judged 'no match'."""
    vid, aud, y = correspondence_pairs(test["keys"], 2 * len(test["keys"]), torch_generator(seed, 1))
    said = (predict(model, test["video"][vid], test["spec"][aud], batch_size=250) > 0).float()     # (2n,)
    out = {"acc": (said == y).float().mean().item(), "chance": chance_accuracy(y),
           "acc matched": (said[y == 1] == 1).float().mean().item(),
           "acc mismatched": (said[y == 0] == 0).float().mean().item()}
    for attribute in ATTRIBUTES:
        spec = altered_sounds(test["scenes"], attribute, seed)                                  # (n, F, T)
        out[f"{attribute} changed"] = (predict(model, test["video"], spec, batch_size=250) < 0).float().mean().item()
    return out


def run_correspondence(seed: int, cfg: RunConfig | None = None) -> dict:
    """Train the audio-visual correspondence network of section 4.2 with ``seed``; ``correspondence_report``."""
    cfg = cfg or config("video-audio")
    train = av_clips(cfg.n_train, seed, "train")
    test = av_clips(cfg.n_test, seed, "test")
    model = settings.seeded(CorrespondenceNet, seed)
    fit(model, correspondence_batches(train, cfg.batch_size, torch_generator(seed)), correspondence_loss,
        steps=cfg.steps, lr=cfg.lr, plot=False, progress=False)
    return correspondence_report(model, test, seed)


# ----------------------------------------------------------------------------------------------------------------
# Image-depth: which of two named objects is in front?
# ----------------------------------------------------------------------------------------------------------------
def _swap_order(scene: Scene) -> Scene:
    """The same two objects with their draw order (depth) exchanged."""
    a, b = scene.objects
    return Scene([replace(a, depth=b.depth), replace(b, depth=a.depth)])


def _two_object_scenes(rng: np.random.Generator, n: int, p_occluded: float, size: int) -> tuple[list, torch.Tensor]:
    """n two-object scenes of distinct colors, a share p_occluded of them occluded (swapping the depths changes the
    image), in random order; returns the scenes and the occluded flags."""
    n_occ = int(round(n * p_occluded))
    want = {True: n_occ, False: n - n_occ}
    kept: list[tuple[Scene, bool]] = []
    while want[True] > 0 or want[False] > 0:
        cand = [sample_scene(rng, 2, distinct_colors=True, overlap=True, image_size=size) for _ in range(512)]
        r1 = render_batch(cand, size).rgb
        r2 = render_batch([_swap_order(s) for s in cand], size).rgb
        for s, o in zip(cand, (r1 != r2).flatten(1).any(1).tolist()):
            if want[o] > 0:
                kept.append((s, o))
                want[o] -= 1
    order = rng.permutation(len(kept))
    return [kept[i][0] for i in order], torch.tensor([kept[i][1] for i in order])


def depth_order_data(n: int, seed: int, split: str = "train", size: int = 32, p_occluded: float = 0.5) -> dict:
    """Two objects of distinct colors; question "is the <color A> object in front of the <color B> object?".

    Returns rgb (n, 3, H, W), depth (n, 1, H, W) nearness, query (n, 2) color ids (A, B), label (n,) float,
    occluded (n,) bool: True when one object hides part of the other, i.e. swapping their depths changes the
    image (only then can the RGB image show who is in front)."""
    if not 0.0 <= p_occluded <= 1.0:
        raise ValueError(f"p_occluded {p_occluded!r} must be in [0, 1]")
    rng = split_rng(seed, split, 7)
    scenes, occluded = _two_object_scenes(rng, n, p_occluded, size)
    r = render_batch(scenes, size)
    a_first = torch.from_numpy(rng.random(n) < 0.5)                         # which object the question names first
    col = torch.tensor([[COLORS.index(o.color) for o in s.objects] for s in scenes])     # (n, 2), [back, front]
    query = torch.where(a_first[:, None], col, col.flip(1))                 # (n, 2) colors (A, B)
    label = (~a_first).float()                                              # A is in front iff A is objects[1]
    return {"rgb": r.rgb, "depth": r.depth, "query": query, "label": label, "occluded": occluded, "scenes": scenes}


class DepthOrderNet(nn.Module):
    """Which of two named objects is in front? An image encoder over the chosen input (RGB: 3 channels, D: 1,
    RGB-D: 4) gives every color a "nearness score" s_c; the question (A, B) reads two of them, eq. (24.2.8):
    logit = s_A - s_B, so the model is told *how* to use the question and only has to learn to see."""

    INPUTS = {"rgb": 3, "depth": 1, "rgbd": 4}

    def __init__(self, inputs: str = "rgbd", width: int = 16, dim: int = 64):
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


def depth_order_batches(data: dict, batch_size: int, generator: torch.Generator) -> Callable[[int], tuple]:
    """step -> (rgb, depth, query, label) of random training scenes."""
    def batch(step):
        i = torch.randint(len(data["label"]), (batch_size,), generator=generator)
        return data["rgb"][i], data["depth"][i], data["query"][i], data["label"][i]
    return batch


def depth_order_loss(model: DepthOrderNet, batch) -> torch.Tensor:
    """Binary cross-entropy of "A is in front of B"."""
    return F.binary_cross_entropy_with_logits(model(*batch[:3]), batch[3])


def depth_order_correct(model: DepthOrderNet, data: dict) -> torch.Tensor:
    """(n,) bool: is each answer right?"""
    logits = predict(model, data["rgb"], data["depth"], data["query"])
    return (logits > 0).float() == data["label"]


def train_depth_order(inputs: str, train: dict, seed: int, steps: int, batch_size: int, lr: float = 3e-3,
                      **fit_kwargs) -> DepthOrderNet:
    """A ``DepthOrderNet`` on ``inputs`` trained on ``train`` (initial weights and batches from ``seed``)."""
    model = settings.seeded(lambda: DepthOrderNet(inputs), seed)
    fit(model, depth_order_batches(train, batch_size, torch_generator(seed)), depth_order_loss, steps=steps, lr=lr,
        **{"plot": False, "progress": False, **fit_kwargs})
    return model


def run_depth_order(seed: int, cfg: RunConfig | None = None) -> dict:
    """Section 4.3 with ``seed``: RGB, depth and RGB-D models; accuracy on all, occluded and separate test scenes."""
    cfg = cfg or config("image-depth")
    train = depth_order_data(cfg.n_train, seed, "train")
    test = depth_order_data(cfg.n_test, seed, "test")
    out = {}
    for inputs in DepthOrderNet.INPUTS:
        c = depth_order_correct(train_depth_order(inputs, train, seed, cfg.steps, cfg.batch_size, cfg.lr), test)
        occ = test["occluded"]
        out[inputs] = {"all": c.float().mean().item(), "occluded": c[occ].float().mean().item(),
                       "separate": c[~occ].float().mean().item()}
    return out


# ----------------------------------------------------------------------------------------------------------------
# Text-speech: a description becomes a sound; a classifier recovers the description
# ----------------------------------------------------------------------------------------------------------------
_EN_PHRASE = re.compile(rf"(?:\b({'|'.join(SIZES)})\s+)?\b({'|'.join(COLORS)})\s+({'|'.join(SHAPES)})\b")
_ZH = {"color": {v: k for k, v in COLOR_ZH.items()}, "shape": {v: k for k, v in SHAPE_ZH.items()},
       "size": {v: k for k, v in SIZE_ZH.items()}}
_ZH_PHRASE = re.compile(f"({'|'.join(_ZH['color'])})的?({'|'.join(_ZH['size'])})?({'|'.join(_ZH['shape'])})")


def parse_description(text: str) -> list[Obj]:
    """Objects named in an English or Chinese description: 'a large red circle' / '一个红色的大圆形'.

    A missing size means 'small'. Raises ValueError when the text names no object."""
    objs = [Obj(shape, color, size or "small") for size, color, shape in _EN_PHRASE.findall(text.lower())]
    if not objs:
        objs = [Obj(_ZH["shape"][s], _ZH["color"][c], _ZH["size"][z] if z else "small")
                for c, z, s in _ZH_PHRASE.findall(text)]
    if not objs:
        raise ValueError(f"the text {text!r} names no object ('<size> <color> <shape>', e.g. 'a large red circle')")
    return objs


def speak(text: str, sr: int = 8000, duration: float = 0.5) -> torch.Tensor:
    """Text -> waveform by two fixed rules: parse the description into objects, then sonify them (eq. 24.2.9)."""
    return sonify(Scene(parse_description(text)), sr, duration)


def sound_attribute_data(n: int, seed: int, split: str = "train", noise=SOUND_NOISE, sr: int = 8000,
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
    """Spectrogram encoder with one linear head per attribute: color (6), shape (3), size (2); eq. (24.2.11)."""

    def __init__(self, n_freq: int = N_FREQ, width: int = 64, dim: int = 64):
        super().__init__()
        self.encoder = SpectrogramEncoder(n_freq, width, dim)
        self.heads = nn.ModuleDict({k: nn.Linear(dim, len(v)) for k, v in ATTRIBUTES.items()})

    def forward(self, spec: torch.Tensor) -> dict[str, torch.Tensor]:
        z = F.relu(self.encoder(spec))                                      # (B, dim)
        return {k: head(z) for k, head in self.heads.items()}              # name -> (B, n_values)


def sound_batches(data: dict, batch_size: int, generator: torch.Generator) -> Callable[[int], tuple]:
    """step -> (spectrograms, labels) of random training sounds."""
    def batch(step):
        i = torch.randint(len(data["labels"]), (batch_size,), generator=generator)
        return data["spec"][i], data["labels"][i]
    return batch


def sound_loss(model: SoundAttributeNet, batch) -> torch.Tensor:
    """Eq. (24.2.11): the sum of the three attributes' cross-entropies."""
    out = model(batch[0])
    return sum(F.cross_entropy(out[name], batch[1][:, j]) for j, name in enumerate(ATTRIBUTES))


def sound_correct(model: SoundAttributeNet, data: dict) -> torch.Tensor:
    """(n, 3) bool: is the color, shape, size of each test sound heard right?"""
    logits = predict(model, data["spec"], fn=lambda x: torch.cat(list(model(x).values()), 1))     # (n, 6 + 3 + 2)
    parts = logits.split([len(v) for v in ATTRIBUTES.values()], dim=1)
    return torch.stack([p.argmax(1) == data["labels"][:, j] for j, p in enumerate(parts)], 1)


def noise_bins(noise: torch.Tensor, n_bins: int = 3, levels=SOUND_NOISE) -> tuple[torch.Tensor, list[str]]:
    """Bin index (n,) of each test sound's noise level in n_bins equal bins of ``levels``, and the bin labels."""
    edges = torch.linspace(levels[0], levels[1], n_bins + 1)
    labels = [f"{edges[b]:.1f}-{edges[b + 1]:.1f}" for b in range(n_bins)]
    return torch.bucketize(noise, edges[1:-1]), labels


def train_sound_attributes(train: dict, seed: int, cfg: RunConfig | None = None) -> SoundAttributeNet:
    """A ``SoundAttributeNet`` trained on ``train`` as in section 4.4 (initial weights and batches from ``seed``)."""
    cfg = cfg or config("text-speech")
    model = settings.seeded(SoundAttributeNet, seed)
    fit(model, sound_batches(train, cfg.batch_size, torch_generator(seed)), sound_loss, steps=cfg.steps, lr=cfg.lr,
        plot=False, progress=False)
    return model


def run_sound_attributes(seed: int, cfg: RunConfig | None = None) -> dict:
    """Section 4.4 with ``seed``: test accuracy per attribute, of the whole description, and per noise bin."""
    cfg = cfg or config("text-speech")
    train = sound_attribute_data(cfg.n_train, seed, "train")
    test = sound_attribute_data(cfg.n_test, seed, "test")
    correct = sound_correct(train_sound_attributes(train, seed, cfg), test)
    out = {name: correct[:, j].float().mean().item() for j, name in enumerate(ATTRIBUTES)}
    out["whole description"] = correct.all(1).float().mean().item()
    level, labels = noise_bins(test["noise"])
    for b, label in enumerate(labels):
        for j, name in enumerate(ATTRIBUTES):
            out[f"{name} @ noise {label}"] = correct[level == b, j].float().mean().item()
    return out


def describe_prediction(logits: dict[str, torch.Tensor], i: int = 0) -> str:
    """'a large red circle' from the i-th row of the attribute logits."""
    c, s, z = (ATTRIBUTES[k][int(logits[k][i].argmax())] for k in ("color", "shape", "size"))
    return f"a {z} {c} {s}"
