"""Recipe ``vilt_world``: the ViLT of notebook 24.8, pre-trained on the world's image-caption pairs and fine-tuned
for retrieval.

Config, build and train, nothing else (the losses are ``nn.vilt.pretraining_loss`` and ``retrieval_loss``, the data
``data.caption_pairs``). Stage 1, pre-training: ``PRETRAIN_STEPS`` steps of ``BATCH_SIZE`` fresh pairs (1–4 objects,
every template, English and Chinese) with ITM (the image of half the pairs swapped) + MLM (15 % of the words).
Stage 2, fine-tuning for retrieval: ``FINETUNE_STEPS`` steps of ITM on true pairs, one-attribute-wrong captions and
swapped images. Both stages AdamW with warmup and cosine decay. To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('vilt_world')"
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import metrics, pretrained, settings
from ..data import caption_pairs as P
from ..data import clip_batches as B
from ..nn.vilt import ViLT, pretraining_loss, retrieval_loss
from ..train import fit, predict

NAME = "vilt_world"
PRETRAIN_STEPS = 4000
FINETUNE_STEPS = 1000
FAST_STEPS = 10
BATCH_SIZE = 64
LR = 2e-3
FINETUNE_LR = 5e-4
WEIGHT_DECAY = 0.05
SEED = 0  # initial weights
STREAM_SEED = 240_800  # the training pairs; fine-tuning draws from STREAM_SEED + 1
TEST_SEED = 24_08
TEST_PAIRS = 2000
MAX_LEN = B.CONTEXT_LENGTH  # 48 tokens: the longest world caption has 38 with <bos> and <eos>


def build() -> ViLT:
    """32×32 images in 8×8 patches (16 + [CLS] image tokens), width 64, 4 layers × 4 heads, initial weights from
    ``SEED``."""
    return settings.seeded(lambda: ViLT(B.tokenizer().vocab_size, image_size=32, patch_size=8, dim=64, depth=4,
                                        heads=4, max_len=MAX_LEN), SEED)


def scores(model: ViLT, fast: bool = False) -> dict:
    """ITM accuracy on held-out pairs (half swapped), and how often the true caption of a held-out image scores
    above its one-attribute-wrong caption."""
    n = 100 if fast else TEST_PAIRS
    s = P.itm_set(n, TEST_SEED)
    itm = metrics.accuracy(predict(model, s["images"], s["tokens"], fn=model.itm_logits), s["labels"])
    h = P.hard_set(n, TEST_SEED)
    true = predict(model, h["images"], h["tokens"], fn=model.match_score)
    wrong = predict(model, h["images"], h["neg_tokens"], fn=model.match_score)
    return {"itm_acc": itm, "hard_negative_acc": (true > wrong).float().mean().item()}


def train(model: ViLT, fast: bool) -> dict:
    start = time.perf_counter()
    pre, fine = (FAST_STEPS, FAST_STEPS) if fast else (PRETRAIN_STEPS, FINETUNE_STEPS)
    rng, gen, tok = np.random.default_rng(STREAM_SEED), torch.Generator().manual_seed(STREAM_SEED), B.tokenizer()

    def report(stage):
        return pretrained.progress_eval(f"{NAME} {stage}", lambda m: scores(m, fast), quiet=fast)

    fit(model, lambda step: P.pairs(rng, BATCH_SIZE), lambda m, b: pretraining_loss(m, b, tok, gen), steps=pre, lr=LR,
        weight_decay=WEIGHT_DECAY, warmup=max(1, pre // 20), eval_fn=report("pre-training"),
        eval_every=max(1, pre // 8), desc=NAME, plot=False, progress=False)
    after_pretraining = scores(model, fast)
    rng2 = np.random.default_rng(STREAM_SEED + 1)
    fit(model, lambda step: P.hard_pairs(rng2, BATCH_SIZE), lambda m, b: retrieval_loss(m, b, gen), steps=fine,
        lr=FINETUNE_LR, weight_decay=WEIGHT_DECAY, warmup=max(1, fine // 20), eval_fn=report("fine-tuning"),
        eval_every=max(1, fine // 4), desc=NAME, plot=False, progress=False)
    return {**scores(model, fast), **{f"pretrained_{k}": v for k, v in after_pretraining.items()},
            "steps": pre + fine, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description=f"ViLT (patch 8, width 64, 4 layers × 4 heads) over [image; text]; {PRETRAIN_STEPS} steps ITM + MLM "
                f"then {FINETUNE_STEPS} steps ITM with one-attribute-wrong captions, {BATCH_SIZE} pairs a step",
)

__all__ = ["NAME", "build", "scores", "train"]
