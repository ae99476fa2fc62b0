"""Three ways to align images and captions in one space (lecture 24.5): contrastive, matching, reconstruction.

All three train the same dual encoder, ``course_utils.nn.CLIP`` (a small ViT f_V and a causal text transformer f_T,
eq. 24.5.1), on the same batches of the toy world; they differ only in the head and the loss:

* contrastive    — multi-positive symmetric InfoNCE on s_ij = <z_v_i, z_t_j> / τ            (24.5.4), (24.5.6)
* matching       — a pair head g(z_v, z_t) trained as binary classification, with negatives
                   sampled from the batch in proportion to exp(g) (ALBEF's hard negatives)     (24.5.8)–(24.5.10)
* reconstruction — shared decoders D_T (bag of words) and D_V (pooled pixels) read both z_v and z_t
                   (a cross-modal autoencoder, Ngiam et al. 2011)                              (24.5.11), (24.5.12)

Retrieval uses the cosine (24.5.2) for contrastive and reconstruction and the head's score g for matching.
Notebook 24.5 writes each loss and one training step of each objective in cells; this module is the same code,
used for the runs over several seeds and the sweeps there, and for the small runs a student launches in homework 3
(the key factors of alignment). Every random choice takes its seed from the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import COLORS, SHAPES, SIZES, Tokenizer, caption, render_batch, sample_scene
from .data.tokenizer import N_SPECIAL
from .metrics import alignment, recall_at_k, uniformity
from .nn.clip import CLIP, CLIPConfig
from .nn.clip_loss import multi_positive_clip_loss
from .nn.text import TextConfig
from .nn.vit import ViTConfig
from .nn.zero_shot import build_zero_shot_classifier
from .train import fit, predict

OBJECTIVES = ("contrastive", "matching", "reconstruction")
SPLITS = ("train", "test")
CLASSES = [f"{c} {s}" for c in COLORS for s in SHAPES]  # the 18 color–shape classes of the zero-shot test
PROMPTS = ("a small {}.", "a large {}.", "there is one object: a small {}.", "there is one object: a large {}.")
N_ATTRIBUTES = len(COLORS) * len(SHAPES) * len(SIZES)  # 36 distinct descriptions (color, shape, size)
FINAL_LOSS_STEPS = 50  # "final loss" of a run = mean training loss over its last 50 steps


# ----------------------------------------------------------------------------------------------- data


@dataclass
class Pairs:
    """n image–caption pairs of one-object scenes; ``*_attr`` = attribute id (``attribute_id``) of what each side
    shows or says."""

    images: torch.Tensor  # (n, 3, H, W) in [0, 1]
    tokens: torch.Tensor  # (n, T) token ids, <bos> ... <eos> then padding
    captions: list[str]
    img_attr: torch.Tensor  # (n,) attribute id of the image, in [0, 36)
    txt_attr: torch.Tensor  # (n,) attribute id the caption describes (differs from img_attr on mismatched pairs)
    label: torch.Tensor  # (n,) color–shape class of the image, in [0, 18)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx) -> Pairs:
        idx = torch.as_tensor(idx)
        return Pairs(self.images[idx], self.tokens[idx], [self.captions[i] for i in idx.tolist()],
                     self.img_attr[idx], self.txt_attr[idx], self.label[idx])


def attribute_id(color: str, shape: str, size: str) -> int:
    """(color, shape, size) -> one int in [0, 36); the color–shape class is attribute_id // 2."""
    return (COLORS.index(color) * len(SHAPES) + SHAPES.index(shape)) * len(SIZES) + SIZES.index(size)


def world_pairs(n: int, seed: int, split: str = "train", *, mismatch: float = 0.0, tokenizer: Tokenizer | None = None,
                context_length: int = 16, image_size: int = 32) -> Pairs:
    """n one-object scenes, each with one caption from a random template, drawn from (``seed``, ``split``): the
    train and test splits of one seed are independent draws. A share ``mismatch`` of the captions is replaced by the
    caption of another random scene (noisy correspondence, as in web-crawled pairs)."""
    if not 0.0 <= mismatch <= 1.0:
        raise ValueError(f"mismatch must be a share in [0, 1], got {mismatch}")
    if n < 2:
        raise ValueError(f"need at least 2 pairs, got n={n}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    tokenizer = tokenizer or Tokenizer.for_world()
    scenes = [sample_scene(rng, 1, image_size=image_size) for _ in range(n)]
    captions = [caption(s, "en", rng) for s in scenes]
    ids = torch.tensor([attribute_id(s.objects[0].color, s.objects[0].shape, s.objects[0].size) for s in scenes])
    txt_attr = ids.clone()
    bad = np.flatnonzero(rng.random(n) < mismatch)
    if len(bad):
        src = (bad + rng.integers(1, n, size=len(bad))) % n  # another scene's caption (may say the same, by chance)
        captions = list(captions)
        for i, j in zip(bad, src):
            captions[i] = captions[j]
            txt_attr[i] = ids[j]
    tokens = tokenizer.batch(captions, max_len=context_length)
    images = render_batch(scenes, image_size).rgb
    return Pairs(images, tokens, captions, ids, txt_attr, ids // len(SIZES))


def batch_stream(pairs: Pairs, batch_size: int, seed: int) -> Callable[[int], tuple]:
    """``step -> (images, tokens, txt_attr)``: random batches drawn from ``seed``, the same for every objective."""
    if batch_size > len(pairs):
        raise ValueError(f"batch size {batch_size} is larger than the {len(pairs)} training pairs")
    gen = torch.Generator().manual_seed(seed)

    def get(step: int):
        idx = torch.randperm(len(pairs), generator=gen)[:batch_size]
        return pairs.images[idx], pairs.tokens[idx], pairs.txt_attr[idx]

    return get


# ----------------------------------------------------------------------------------------------- losses


def info_nce(z_img: torch.Tensor, z_txt: torch.Tensor, tau: torch.Tensor | float,
             same: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric multi-positive InfoNCE, eqs. (24.5.4)/(24.5.6); ``same[i, j]``: caption j is a positive of image i."""
    n = len(z_img)
    same = torch.eye(n, dtype=torch.bool, device=z_img.device) if same is None else same
    return multi_positive_clip_loss(z_img, z_txt, 1.0 / tau, same)


class MatchingHead(nn.Module):
    """g(z_v, z_t) = γ z_vᵀz_t + w2ᵀ GELU(W1 √d [z_v ⊙ z_t ; |z_v − z_t|] + b1) + b2, the matching logit, eq. (24.5.10).

    The first term is the dual-encoder similarity (γ learned, starts at 10); the MLP reads element-wise interactions
    of the pair (√d makes their entries O(1)). Without the first term the head stays at the prior in our budget.
    """

    def __init__(self, dim: int, hidden: int = 64, similarity: bool = True):
        super().__init__()
        self.scale = math.sqrt(dim)
        self.gamma = nn.Parameter(torch.tensor(10.0)) if similarity else None
        self.fc1 = nn.Linear(2 * dim, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, z_img: torch.Tensor, z_txt: torch.Tensor) -> torch.Tensor:
        """Row-wise pairs: (..., d), (..., d) -> logits (...); broadcasts like ``z_img * z_txt``."""
        x = self.scale * torch.cat(torch.broadcast_tensors(z_img * z_txt, (z_img - z_txt).abs()), dim=-1)  # (..., 2d)
        g = self.fc2(F.gelu(self.fc1(x))).squeeze(-1)  # (...)
        if self.gamma is not None:
            g = g + self.gamma * (z_img * z_txt).sum(-1)  # + γ <z_v, z_t>
        return g

    def score_matrix(self, z_img: torch.Tensor, z_txt: torch.Tensor, chunk: int = 128) -> torch.Tensor:
        """g for every image–caption pair: (N_img, d), (N_txt, d) -> (N_img, N_txt), in chunks of images."""
        rows = [self(z_img[i:i + chunk, None, :], z_txt[None, :, :]) for i in range(0, len(z_img), chunk)]
        return torch.cat(rows)  # (N_img, N_txt)


def sample_hard_negatives(scores: torch.Tensor, same: torch.Tensor, generator: torch.Generator | None = None,
                          hard: bool = True) -> torch.Tensor:
    """For each row i a column j ∉ P(i), drawn with q(j|i) ∝ exp(scores_ij) (eq. 24.5.9), or uniformly if not ``hard``.

    scores, same: (N, M); returns (N,) column indices. Rows whose every column is a positive get their own index i
    (the caller masks them out).
    """
    logits = scores.detach().float() if hard else torch.zeros_like(scores, dtype=torch.float)
    logits = logits.masked_fill(same, float("-inf"))  # positives are never negatives
    has_neg = ~same.all(dim=1)
    probs = torch.softmax(logits[has_neg], dim=1)  # (N', M)
    out = torch.arange(len(scores), device=scores.device).clamp(max=scores.size(1) - 1)
    if len(probs):
        out[has_neg] = torch.multinomial(probs, 1, generator=generator).squeeze(1)
    return out


def itm_loss(head: MatchingHead, z_img: torch.Tensor, z_txt: torch.Tensor, same: torch.Tensor,
             generator: torch.Generator | None = None, hard: bool = True) -> tuple[torch.Tensor, float]:
    """BCE over N positives, one negative caption per image and one negative image per caption, eq. (24.5.8).

    Returns the loss and the pair-classification accuracy of the batch.
    """
    n = len(z_img)
    scores = head.score_matrix(z_img, z_txt)  # (N, N): g_ij for every pair in the batch
    neg_txt = sample_hard_negatives(scores, same, generator, hard)  # (N,) a negative caption for image i
    neg_img = sample_hard_negatives(scores.T, same.T, generator, hard)  # (N,) a negative image for caption j
    ar = torch.arange(n, device=z_img.device)
    logits = torch.cat([scores[ar, ar], scores[ar, neg_txt], scores[neg_img, ar]])  # (3N,)
    labels = torch.cat([torch.ones(n), torch.zeros(2 * n)]).to(logits)
    valid = torch.cat([torch.ones(n, dtype=torch.bool, device=z_img.device),
                       ~same[ar, neg_txt], ~same.T[ar, neg_img]])  # drop "negatives" of rows with no negative
    loss = F.binary_cross_entropy_with_logits(logits[valid], labels[valid])
    acc = ((logits[valid] > 0).float() == labels[valid]).float().mean().item()
    return loss, acc


def bag_of_words(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """b_w(t) of eq. (24.5.12): (B, T) token ids -> (B, V) 0/1, special tokens (pad, bos, eos, ...) left at 0."""
    bag = torch.zeros(tokens.size(0), vocab_size, device=tokens.device)
    bag.scatter_(1, tokens, 1.0)
    bag[:, :N_SPECIAL] = 0.0
    return bag


def pooled_pixels(images: torch.Tensor, size: int = 8) -> torch.Tensor:
    """pool(v) of eq. (24.5.12): (B, 3, H, W) -> (B, 3·size·size) average-pooled pixels."""
    return F.adaptive_avg_pool2d(images, size).flatten(1)


class CrossModalDecoders(nn.Module):
    """D_T: latent -> bag-of-words logits (V,); D_V: latent -> pooled pixels (3·s·s,). Shared by both modalities."""

    def __init__(self, dim: int, vocab_size: int, hidden: int = 64, pixels: int = 8):
        super().__init__()
        self.pixels = pixels
        self.scale = math.sqrt(dim)  # decoders read √d·z: entries O(1), as for the matching head
        self.text = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, vocab_size))
        self.image = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 3 * pixels * pixels))


def reconstruction_loss(dec: CrossModalDecoders, z_img: torch.Tensor, z_txt: torch.Tensor, bag: torch.Tensor,
                        pix: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. (24.5.11): cross terms (image -> words, text -> pixels) plus self terms (text -> words, image -> pixels)."""
    n = len(z_img)
    l_t = lambda z: F.binary_cross_entropy_with_logits(dec.text(dec.scale * z), bag, reduction="sum") / n  # ℓ_T
    l_v = lambda z: F.mse_loss(dec.image(dec.scale * z), pix, reduction="sum") / n  # ℓ_V
    cross = l_t(z_img) + l_v(z_txt)
    intra = l_t(z_txt) + l_v(z_img)
    return cross + intra, {"cross": cross.item(), "intra": intra.item()}


# ----------------------------------------------------------------------------------------------- model


@dataclass
class AlignConfig:
    """One alignment run: seed, encoders, objective and budget. Defaults are the full-mode sizes.

    ``seed`` (no default: the notebook passes it, derived from its SEED) fixes the initial weights, the order of the
    batches and the sampling of hard negatives."""

    seed: int
    objective: str = "contrastive"
    embed_dim: int = 32  # d of eq. (24.5.1)
    width: int = 32  # width of both towers
    layers: int = 2  # depth of both towers
    patch_size: int = 8
    tau: float | None = None  # fixed temperature; None = learned (CLIP), starting at tau_init
    tau_init: float = 0.07
    hidden: int = 64  # width of the matching head and of the decoders
    pixels: int = 8  # the image decoder reconstructs (3, pixels, pixels) pooled pixels
    hard_negatives: bool = True  # matching: sample negatives ∝ exp(g) (True) or uniformly (False)
    head_similarity: bool = True  # matching: keep the γ<z_v, z_t> term of the head (False = MLP only)
    steps: int = 600
    batch_size: int = 64
    lr: float = 5e-3
    warmup: int = 20

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; use one of {', '.join(OBJECTIVES)}")
        for name in ("tau", "tau_init"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"temperature {name} must be positive, got {value}")
        if self.width % 2:
            raise ValueError(f"width {self.width} must be even (2 attention heads)")

    @classmethod
    def fast(cls, seed: int, **overrides) -> AlignConfig:
        """A few steps of the same model, for COURSE_FAST=1 and tests."""
        return cls(**{"seed": seed, "steps": 40, "warmup": 5, **overrides})

    def clip_config(self, vocab_size: int, context_length: int) -> CLIPConfig:
        vision = ViTConfig(image_size=32, patch_size=self.patch_size, num_classes=0, dim=self.width, depth=self.layers,
                           heads=2, mlp_ratio=2.0, ln_pre=True, ln_eps=1e-5,
                           pool="mean")  # the mean of the patch tokens learns much faster than a class token here
        text = TextConfig(vocab_size=vocab_size, context_length=context_length, width=self.width, heads=2,
                          layers=self.layers, mlp_ratio=2.0, output_dim=None, eos_id=Tokenizer.eos_id)
        init = math.log(1 / (self.tau if self.tau is not None else self.tau_init))
        return CLIPConfig(vision=vision, text=text, embed_dim=self.embed_dim, init_logit_scale=init)


class AlignmentModel(nn.Module):
    """The shared dual encoder (CLIP towers) plus the head of one objective."""

    def __init__(self, config: AlignConfig, vocab_size: int, context_length: int = 16):
        super().__init__()
        self.config = c = config
        with torch.random.fork_rng(devices=[]):  # same initial encoders for every objective; global RNG untouched
            torch.manual_seed(c.seed)
            self.clip = CLIP(c.clip_config(vocab_size, context_length))
            self.itm = MatchingHead(c.embed_dim, c.hidden, c.head_similarity) if c.objective == "matching" else None
            self.decoders = (CrossModalDecoders(c.embed_dim, vocab_size, c.hidden, c.pixels)
                             if c.objective == "reconstruction" else None)
        if c.tau is not None:
            self.clip.logit_scale.requires_grad_(False)  # fixed temperature
        self.vocab_size = vocab_size
        self.generator = torch.Generator().manual_seed(c.seed)  # hard-negative sampling

    @property
    def tau(self) -> float:
        return 1.0 / self.clip.scale().item()

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """z_v (B, d), L2-normalized, eq. (24.5.2)."""
        return self.clip.encode_image(images, normalize=True)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """z_t (B, d), L2-normalized, eq. (24.5.2)."""
        return self.clip.encode_text(tokens, normalize=True)

    def loss(self, images: torch.Tensor, tokens: torch.Tensor, attr: torch.Tensor):
        """(loss, logs) of the configured objective on one batch; ``attr`` (B,) = attribute id of each caption."""
        z_img, z_txt = self.encode_image(images), self.encode_text(tokens)  # (B, d) each
        same = attr[:, None] == attr[None, :]  # (B, B): caption j describes what caption i describes
        if self.config.objective == "contrastive":
            return info_nce(z_img, z_txt, 1.0 / self.clip.scale(), same)
        if self.config.objective == "matching":
            gen = self.generator if self.generator.device == z_img.device else None
            loss, acc = itm_loss(self.itm, z_img, z_txt, same, gen, self.config.hard_negatives)
            return loss, {"acc": acc}
        bag = bag_of_words(tokens, self.vocab_size)
        return reconstruction_loss(self.decoders, z_img, z_txt, bag, pooled_pixels(images, self.config.pixels))

    @torch.no_grad()
    def score(self, z_img: torch.Tensor, z_txt: torch.Tensor, head: bool = True) -> torch.Tensor:
        """Retrieval scores (N_img, N_txt) on CPU: the matching head's g (if any and ``head``), else the cosine."""
        if self.itm is not None and head:
            device = self.itm.fc1.weight.device
            return self.itm.score_matrix(z_img.to(device), z_txt.to(device)).float().cpu()
        return z_img @ z_txt.T


# ----------------------------------------------------------------------------------------------- train and evaluate


def embed_pairs(model: AlignmentModel, pairs: Pairs) -> tuple[torch.Tensor, torch.Tensor]:
    """(z_img, z_txt) of every pair, on CPU: ``train.predict`` with each encoder."""
    return (predict(model, pairs.images, fn=model.encode_image),
            predict(model, pairs.tokens, fn=model.encode_text))


def train_alignment(model: AlignmentModel, train: Pairs, *, probe: Pairs | None = None, snapshots: int = 0,
                    eval_fn=None, plot: bool = False, desc: str | None = None, progress: bool = True):
    """Train with ``course_utils.train.fit``; with ``probe`` keep ``snapshots`` (step, z_img, z_txt) frames on the way.

    Returns (history, frames).
    """
    c = model.config
    stream = batch_stream(train, c.batch_size, c.seed)
    frames: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    at = set(np.linspace(0, c.steps, snapshots).round().astype(int).tolist()) if snapshots else set()

    def data(step: int):
        if probe is not None and step in at:
            frames.append((step, *embed_pairs(model, probe)))
        return stream(step)

    history = fit(model, data, lambda m, b: m.loss(*b), steps=c.steps, lr=c.lr, warmup=c.warmup, eval_fn=eval_fn,
                  desc=desc or c.objective, plot=plot, progress=progress)
    if probe is not None and c.steps in at:
        frames.append((c.steps, *embed_pairs(model, probe)))
    return history, frames


@torch.no_grad()
def zero_shot_scores(model: AlignmentModel, z_img: torch.Tensor, tokenizer: Tokenizer, head: bool = True,
                     classes: Sequence[str] = CLASSES, templates: Sequence[str] = PROMPTS,
                     reduce: str = "max") -> torch.Tensor:
    """(N, C) class scores from each method's own score (``model.score``) against every prompt of every class.

    ``reduce="max"``: a class scores its best prompt; ``"mean"``: the score against the renormalized mean of the
    class's prompt embeddings (CLIP's prompt ensembling, ``build_zero_shot_classifier``; cosine scores only).
    """
    tok = lambda texts: tokenizer.batch(texts, max_len=model.clip.config.text.context_length)
    if reduce == "mean":
        if model.itm is not None and head:
            raise ValueError("reduce='mean' averages prompt embeddings, which only makes sense for cosine scores")
        device = next(model.parameters()).device
        w = build_zero_shot_classifier(model.clip, tok, list(classes), list(templates), device=device)
        return z_img @ w.float().cpu()  # (N, C)
    if reduce != "max":
        raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
    prompts = [t.format(c) for c in classes for t in templates]  # class-major: c0t0, c0t1, ...
    z_p = predict(model, tok(prompts), fn=model.encode_text)  # (C·K, d)
    s = model.score(z_img, z_p, head=head)  # (N, C·K)
    return s.view(len(z_img), len(classes), len(templates)).amax(-1)  # (N, C)


def evaluate(model: AlignmentModel, test: Pairs, tokenizer: Tokenizer, head: bool = True) -> dict[str, float]:
    """R@1 image->text and text->image (a hit = same color, shape and size) and 18-class zero-shot accuracy.

    ``head=False`` scores a matching model by the cosine of its embeddings instead of its head."""
    z_img, z_txt = embed_pairs(model, test)
    s = model.score(z_img, z_txt, head=head)  # (N, N)
    relevant = test.img_attr[:, None] == test.txt_attr[None, :]  # (N, N): caption j describes image i
    zs = zero_shot_scores(model, z_img, tokenizer, head=head)  # (N, 18)
    return {
        "R@1 i→t": recall_at_k(s, relevant, ks=(1,))["R@1"],
        "R@1 t→i": recall_at_k(s.T, relevant.T, ks=(1,))["R@1"],
        "zero-shot": (zs.argmax(1) == test.label).float().mean().item(),
    }


def geometry(z_img: torch.Tensor, z_txt: torch.Tensor, seed: int) -> dict[str, float]:
    """Modality gap ‖Δ‖ (24.5.13), accuracy of a linear image-vs-text classifier on held-out halves (split drawn from
    ``seed``), mean positive cosine, and Wang & Isola's alignment (24.5.14) and uniformity (24.5.15) (per modality
    and of the union)."""
    from sklearn.linear_model import LogisticRegression

    delta = z_img.mean(0) - z_txt.mean(0)  # Δ, (d,)
    x = torch.cat([z_img, z_txt]).numpy()
    y = np.r_[np.zeros(len(z_img)), np.ones(len(z_txt))]
    perm = np.random.default_rng(seed).permutation(len(x))
    tr, te = perm[: len(x) // 2], perm[len(x) // 2:]
    clf = LogisticRegression(max_iter=1000).fit(x[tr], y[tr])
    return {
        "gap": delta.norm().item(),
        "modality classifier acc": float(clf.score(x[te], y[te])),
        "mean positive cos": (z_img * z_txt).sum(1).mean().item(),
        "align": alignment(z_img, z_txt),
        "unif (img)": uniformity(z_img),
        "unif (txt)": uniformity(z_txt),
        "unif (all)": uniformity(torch.cat([z_img, z_txt])),
    }


def shift_gap(z_img: torch.Tensor, z_txt: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Liang et al.'s experiment: move each modality by λΔ towards the other and renormalize."""
    delta = z_img.mean(0) - z_txt.mean(0)
    return F.normalize(z_img - lam * delta, dim=-1), F.normalize(z_txt + lam * delta, dim=-1)


def summarize(model: AlignmentModel, history, test: Pairs, tokenizer: Tokenizer) -> dict[str, float]:
    """The metrics of one trained model: R@1 both ways, their mean, zero-shot accuracy, the training loss averaged
    over the last steps, the final τ (learned or fixed), and the geometry of the test embeddings."""
    metrics = evaluate(model, test, tokenizer)
    metrics["R@1 mean"] = (metrics["R@1 i→t"] + metrics["R@1 t→i"]) / 2
    metrics["final loss"] = float(np.mean(history.loss[-FINAL_LOSS_STEPS:]))
    metrics["final τ"] = model.tau
    metrics.update(geometry(*embed_pairs(model, test), seed=model.config.seed))
    return metrics


def run(config: AlignConfig, train: Pairs, test: Pairs, tokenizer: Tokenizer, *, progress: bool = False,
        **kwargs) -> tuple[AlignmentModel, dict[str, float]]:
    """Build, train (``train_alignment``) and evaluate (``summarize``) one configuration: the model and its metrics."""
    model = AlignmentModel(config, tokenizer.vocab_size, train.tokens.size(1))
    history, _ = train_alignment(model, train, progress=progress, **kwargs)
    return model, summarize(model, history, test, tokenizer)


def sweep(name: str, values: Sequence, base: AlignConfig, seeds: Sequence[int],
          make_train: Callable[[int, object], Pairs], test: Pairs, tokenizer: Tokenizer) -> list[dict]:
    """Vary ``name`` (a field of AlignConfig, or anything ``make_train(seed, value)`` reads, e.g. the share of
    mismatched pairs) over ``values``, each value trained once per seed (``seed`` sets the initial weights, the
    batches and the training pairs). Returns one row per value: {name: value, metric: [one value per seed], ...}."""
    fields = AlignConfig.__dataclass_fields__
    rows = []
    for v in values:
        per_seed: dict[str, list[float]] = {}
        for s in seeds:
            cfg = replace(base, seed=s, **({name: v} if name in fields else {}))
            _, m = run(cfg, make_train(s, v), test, tokenizer)
            for k, x in m.items():
                per_seed.setdefault(k, []).append(float(x))
        rows.append({name: v, **per_seed})
    return rows
