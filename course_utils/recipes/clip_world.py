"""Recipe ``clip_world``: a small CLIP trained on the toy world's images and captions (English and Chinese).

Config, build and train, nothing else: the batches and the remedies' data changes are in
``course_utils.data.clip_batches``, the losses in ``course_utils.nn.clip_loss``, zero-shot classification in
``course_utils.nn.zero_shot``. Notebook 24.4 writes each piece out in a cell before it calls ``train_clip``.

The registered model has a small CNN image tower (``CLIPConfig(image_tower="conv")``, as CLIP also ships ResNet
towers) and the causal text transformer, trained with every remedy for ``FULL_STEPS`` steps of ``BATCH_SIZE`` pairs
(about 8 minutes on one CPU thread). ``live_config`` is the thinner model notebook 24.4 trains live.
"""
from __future__ import annotations

import time
from typing import Iterable

import numpy as np
import torch

from .. import metrics, pretrained, settings
from ..data import clip_batches as B
from ..nn.clip import CLIP, CLIPConfig
from ..nn.clip_loss import clip_loss, multi_positive_clip_loss, negclip_loss
from ..nn.cnn import FrozenGridTokens
from ..nn.text import TextConfig
from ..nn.vit import ViTConfig
from ..nn.zero_shot import build_zero_shot_classifier, zero_shot_logits

NAME = "clip_world"
FULL_STEPS = 1500
FAST_STEPS = 30
BATCH_SIZE = 128
LR = 2e-3
WEIGHT_DECAY = 0.05
BETAS = (0.9, 0.98)  # CLIP's β2 for large-batch contrastive training
SEED = 0  # the registered run's seed (initial weights, batches, evaluation images)
CONV_WIDTH = 32  # the registered conv image tower's widths 32, 64, 128
LIVE_CONV_WIDTH = 16  # the live model's


def _text_config(width: int, layers: int, embed_dim: int) -> TextConfig:
    tok = B.tokenizer()
    return TextConfig(vocab_size=tok.vocab_size, context_length=B.CONTEXT_LENGTH, width=width, heads=4,
                      layers=layers, mlp_ratio=2.0, eos_id=tok.eos_id, pool="eos_id", output_dim=embed_dim)


def config(fast: bool = False, image_tower: str = "conv") -> CLIPConfig:
    """The registered architecture (``fast=True``: the tiny one of tests and COURSE_FAST=1; ``image_tower="vit"``:
    the same text tower with a 4×64 ViT, mean-pooled, patch 8)."""
    tok = B.tokenizer()
    if fast:
        return CLIPConfig.fast(vocab_size=tok.vocab_size, eos_id=tok.eos_id, context_length=B.CONTEXT_LENGTH,
                               image_tower=image_tower, conv_width=8)
    vision = ViTConfig(image_size=B.IMAGE_SIZE, patch_size=8, num_classes=0, dim=64, depth=4, heads=4, mlp_ratio=2.0,
                       ln_pre=True, ln_eps=1e-5, pool="mean")
    return CLIPConfig(vision=vision, text=_text_config(64, 3, 64), embed_dim=64, image_tower=image_tower,
                      conv_width=CONV_WIDTH)


def live_config(fast: bool = False, image_tower: str = "conv") -> CLIPConfig:
    """The CLIP notebook 24.4 trains live: the registered towers, thinner and shallower (conv width 16, text 2×48;
    ``image_tower="vit"``: a 2×48 ViT, patch 4, mean-pooled)."""
    if fast:
        return config(fast=True, image_tower=image_tower)
    vision = ViTConfig(image_size=B.IMAGE_SIZE, patch_size=4, num_classes=0, dim=48, depth=2, heads=4, mlp_ratio=2.0,
                       ln_pre=True, ln_eps=1e-5, pool="mean")
    return CLIPConfig(vision=vision, text=_text_config(48, 2, 48), embed_dim=48, image_tower=image_tower,
                      conv_width=LIVE_CONV_WIDTH)



def build(fast: bool = False, seed: int = SEED, image_tower: str = "conv") -> CLIP:
    """The untrained registered model (``image_tower="vit"``: its ViT variant), initial weights from ``seed``."""
    return settings.seeded(lambda: CLIP(config(fast, image_tower)), seed)


def build_live(seed: int, fast: bool = False, image_tower: str = "conv") -> CLIP:
    """A fresh live model (``live_config``) whose initial weights come from ``seed``."""
    return settings.seeded(lambda: CLIP(live_config(fast, image_tower)), seed)


def frozen_grid_encoder() -> FrozenGridTokens:
    """The shipped model's image tower cut before its pool, frozen: images (B, 3, 32, 32) -> 16 tokens of width
    128 + 16 (the frozen image encoder of notebook 24.8's Q-Former and CoCa)."""
    return FrozenGridTokens(pretrained.get(NAME, verbose=False).visual)


# ----------------------------------------------------------------------------- the loss of one batch


def loss_from_features(z_img: torch.Tensor, z_txt: torch.Tensor, scale: torch.Tensor,
                       same: torch.Tensor | None = None, z_neg: torch.Tensor | None = None) -> torch.Tensor:
    """The contrastive loss given normalized features: InfoNCE, multi-positive with ``same``, NegCLIP with ``z_neg``."""
    if z_neg is not None:
        return negclip_loss(z_img, z_txt, scale, z_neg, same)
    if same is not None:
        return multi_positive_clip_loss(z_img, z_txt, scale, same)
    return clip_loss(z_img, z_txt, scale)


def batch_loss(model: CLIP, batch: dict, remedy: str | Iterable[str] | None = "all") -> torch.Tensor:
    """The contrastive loss of one ``make_batch`` batch with the chosen remedies (captions and hard negatives are
    encoded in one pass of the text tower)."""
    remedies = B.parse_remedy(remedy)
    tokens, n = batch["tokens"], len(batch["tokens"])
    use_negs = "hard_negatives" in remedies and "neg_tokens" in batch
    if use_negs:
        tokens = B.pad_cat(tokens, batch["neg_tokens"])  # (B + M, T)
    z_img, z_all, scale = model(batch["images"], tokens)[:3]
    z_txt, z_neg = z_all[:n], (z_all[n:] if use_negs else None)
    same = batch["same"] if "multi_positive" in remedies else None
    return loss_from_features(z_img, z_txt, scale, same, z_neg)


# ----------------------------------------------------------------------------- zero-shot accuracy and training


def evaluate_zero_shot(model: CLIP, held_out: bool, *, seed: int, n_per_class: int = 50,
                       prompt_templates=None) -> float:
    """Zero-shot top-1 among all 18 color-shape classes on single-object images of the seen (or held-out) pairs,
    drawn from ``seed``; the classifier ensembles ``prompt_templates`` (default: both sizes, both languages)."""
    images, labels = B.class_images(held_out, n_per_class, seed)
    chosen = B.templates() if prompt_templates is None else list(prompt_templates)
    w = build_zero_shot_classifier(model, B.tokenizer().batch, B.CLASSNAMES, chosen, num_classes_per_batch=None)
    return metrics.accuracy(zero_shot_logits(model, images, w), labels)


def train_clip(model: CLIP, steps: int, remedy: str | Iterable[str] | None = "all", *, seed: int,
               batch_size: int = BATCH_SIZE, lr: float = LR, langs: tuple[str, ...] = B.LANGS,
               eval_every: int | None = None, plot: bool = False, progress: bool = True, desc: str | None = None):
    """Train ``model`` in place on batches drawn from ``seed`` with the chosen remedies; returns the
    ``course_utils.train.History``, whose evaluations are zero-shot top-1 on seen ("seen_acc") and held-out
    ("held_out_acc") pairs (50 images per class from ``seed``).

    Each step is the one notebook 24.4 writes by hand: clamp 1/τ ≤ 100, encode, contrastive loss, backward,
    AdamW step (``course_utils.train.fit``: linear warmup over 5 % of the steps, then cosine decay)."""
    from ..train import fit

    remedies = B.parse_remedy(remedy)
    rng = np.random.default_rng(seed)

    def loss_fn(m: CLIP, batch: dict) -> torch.Tensor:
        m.clamp_logit_scale_()  # 1/τ ≤ 100, as after every optimizer step in open_clip
        return batch_loss(m, batch, remedies)

    def eval_fn(m: CLIP) -> dict:
        return {"seen_acc": evaluate_zero_shot(m, False, seed=seed),
                "held_out_acc": evaluate_zero_shot(m, True, seed=seed)}

    label = desc or f"CLIP [{'+'.join(sorted(remedies)) or 'naive'}]"
    return fit(model, lambda step: B.make_batch(rng, batch_size, remedies, langs=langs), loss_fn, steps=steps,
               lr=lr, weight_decay=WEIGHT_DECAY, betas=BETAS, warmup=max(1, steps // 20), eval_fn=eval_fn,
               eval_every=eval_every or max(1, steps // 5), desc=label, plot=plot, progress=progress)


def train(model: CLIP, fast: bool) -> dict:
    """Registered training: every remedy, FULL_STEPS steps of BATCH_SIZE pairs, seed SEED."""
    start = time.perf_counter()
    steps = FAST_STEPS if fast else FULL_STEPS
    train_clip(model, steps, "all", seed=SEED, batch_size=32 if fast else BATCH_SIZE, progress=not fast,
               eval_every=steps)
    model.eval()
    return {"seen_acc": evaluate_zero_shot(model, False, seed=SEED),
            "held_out_acc": evaluate_zero_shot(model, True, seed=SEED),
            "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description="CLIP (CNN image tower 32-64-128 + causal text transformer 3×64, embed 64) on toy-world captions "
                "en+zh with every binding remedy (multi-object scenes, multi-positive targets, NegCLIP hard "
                "negatives, attribute captions, gray color augmentation)",
)

__all__ = ["NAME", "batch_loss", "build", "build_live", "config", "evaluate_zero_shot", "frozen_grid_encoder",
           "live_config", "loss_from_features", "train", "train_clip"]
