"""Recipe ``coca_world``: the CoCa of notebook 24.8 on the frozen image encoder's tokens.

Config, build and train, nothing else (the loss is ``nn.coca.CoCa.loss``, the data ``data.caption_pairs``). CoCa
here reads the same frozen ``clip_world`` grid tokens as the Q-Former (the paper trains its image encoder too), so
the two differ only in how the text side is built and trained: loss = contrastive + 2 × captioning, a caption true
of several images of a batch counting as a positive for each, ``FULL_STEPS`` steps of ``BATCH_SIZE`` fresh pairs.
To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('coca_world')"
"""
from __future__ import annotations

import time

import numpy as np

from .. import pretrained, settings
from ..data import caption_pairs as P
from ..data import clip_batches as B
from ..nn.coca import CoCa
from ..train import fit
from .clip_world import frozen_grid_encoder
from .qformer_world import IMAGE_DIM, dual_encoder_scores

NAME = "coca_world"
FULL_STEPS = 1500
FAST_STEPS = 10
BATCH_SIZE = 64
LR = 2e-3
WEIGHT_DECAY = 0.05
CAPTION_QUERIES = 16
SEED = 0
STREAM_SEED = 240_802
TEST_PAIRS = 1000


def build() -> CoCa:
    return settings.seeded(lambda: CoCa(B.tokenizer().vocab_size, IMAGE_DIM, dim=64, heads=4,
                                        caption_queries=CAPTION_QUERIES, max_len=B.CONTEXT_LENGTH), SEED)


def scores(model: CoCa, encoder, fast: bool = False) -> dict:
    """R@1 both ways on TEST_PAIRS held-out pairs and caption accuracy."""
    return dual_encoder_scores(model, encoder, 100 if fast else TEST_PAIRS)


def train(model: CoCa, fast: bool) -> dict:
    start = time.perf_counter()
    encoder = frozen_grid_encoder()
    steps = FAST_STEPS if fast else FULL_STEPS
    rng = np.random.default_rng(STREAM_SEED)
    fit(model, lambda step: P.pairs(rng, BATCH_SIZE),
        lambda m, b: m.loss(encoder(b["images"]), b["tokens"], b["truth"]), steps=steps, lr=LR,
        weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 20),
        eval_fn=pretrained.progress_eval(NAME, lambda m: scores(m, encoder, fast), quiet=fast),
        eval_every=max(1, steps // 5), desc=NAME, plot=False, progress=False)
    return {**scores(model, encoder, fast), "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description=f"CoCa (attentional poolers with 1 and {CAPTION_QUERIES} queries, 2 unimodal + 2 multimodal layers, "
                f"width 64) over the frozen clip_world grid tokens; contrastive + 2 × captioning, {FULL_STEPS} steps "
                f"of {BATCH_SIZE} pairs",
)

__all__ = ["NAME", "build", "scores", "train"]
