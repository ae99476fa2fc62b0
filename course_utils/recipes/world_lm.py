"""Recipe ``world_lm``: the tiny causal language model of 24.3 (Flamingo) and 24.12 (LLaVA), pre-trained on the
world's text (``data.world_text``: captions and question–answer lines, English and Chinese).

Config, build and train, nothing else: next-token cross-entropy (``nn.language_model.lm_loss``) on ``STEPS`` batches
of ``BATCH_SIZE`` fresh lines, AdamW with warmup and cosine decay. To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('world_lm')"
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from .. import pretrained, settings
from ..data.tokenizer import Tokenizer
from ..data.world_text import text_lines
from ..nn.language_model import CausalLM, LMConfig, lm_loss
from ..train import fit

NAME = "world_lm"
STEPS = 2000
FAST_STEPS = 10
BATCH_SIZE = 64
LR = 2e-3
WEIGHT_DECAY = 0.05
SEED = 0  # initial weights
STREAM_SEED = 241_200  # the training lines
TEST_SEED = 24_12
TEST_LINES = 1000


def config() -> LMConfig:
    return LMConfig(vocab_size=Tokenizer.for_world().vocab_size)


def build() -> CausalLM:
    """Width 128, 4 layers × 4 heads, 160 positions, tied embeddings; initial weights from ``SEED``."""
    return settings.seeded(lambda: CausalLM(config()), SEED)


def batch(rng: np.random.Generator, n: int) -> torch.Tensor:
    """(n, T) token ids of n fresh lines, ``<bos> text <eos>``, right-padded."""
    return Tokenizer.for_world().batch(text_lines(rng, n))


@torch.no_grad()
def scores(model: CausalLM, fast: bool = False) -> dict:
    """Next-token loss, perplexity and accuracy on held-out lines (padding ignored)."""
    ids = batch(np.random.default_rng(TEST_SEED), 100 if fast else TEST_LINES)
    model.eval()
    logits = model(ids)
    loss = lm_loss(logits, ids).item()
    target, keep = ids[:, 1:], ids[:, 1:] != Tokenizer.pad_id
    acc = (logits[:, :-1].argmax(-1) == target)[keep].float().mean().item()
    return {"loss": loss, "perplexity": math.exp(loss), "next_token_acc": acc}


def train(model: CausalLM, fast: bool) -> dict:
    start = time.perf_counter()
    steps = FAST_STEPS if fast else STEPS
    rng = np.random.default_rng(STREAM_SEED)
    fit(model, lambda step: batch(rng, BATCH_SIZE), lambda m, ids: lm_loss(m(ids), ids), steps=steps, lr=LR,
        weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 30),
        eval_fn=pretrained.progress_eval(NAME, lambda m: scores(m, fast), quiet=fast),
        eval_every=max(1, steps // 6), desc=NAME, plot=False, progress=False)
    return {**scores(model, fast), "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(NAME, build, train,
                    description=f"tiny causal language model (128 wide, 4 layers) on the world's captions and "
                                f"question-answer lines, English and Chinese, {STEPS} steps of {BATCH_SIZE} lines")

__all__ = ["NAME", "batch", "build", "config", "scores", "train"]
