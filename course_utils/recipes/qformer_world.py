"""Recipe ``qformer_world``: the Q-Former of notebook 24.8 (BLIP-2's first stage) against a frozen image encoder.

Config, build and train, nothing else (the objectives are ``nn.qformer.QFormer.stage1_loss``, the data
``data.caption_pairs``). The frozen image encoder is the shipped ``clip_world`` conv tower cut before its pool
(``clip_world.frozen_grid_encoder``: 16 tokens of width 128 + 16); the Q-Former (``N_QUERIES`` queries, width 64,
4 layers, cross-attention in layers 1 and 3) learns ITC + ITM + ITG for ``FULL_STEPS`` steps of ``BATCH_SIZE`` fresh
pairs (1–4 objects, every template, English and Chinese), a caption true of several images of a batch counting as a
positive for each. To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('qformer_world')"
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import metrics, pretrained, settings
from ..data import caption_pairs as P
from ..data import clip_batches as B
from ..nn.qformer import QFormer
from ..train import fit, predict
from .clip_world import frozen_grid_encoder

NAME = "qformer_world"
FULL_STEPS = 1500
FAST_STEPS = 10
BATCH_SIZE = 64
LR = 2e-3
WEIGHT_DECAY = 0.05
N_QUERIES = 8
SEED = 0  # initial weights
STREAM_SEED = 240_801
TEST_SEED = 24_08
TEST_PAIRS = 1000  # the retrieval set (as in 24.4: single-object held-out scenes, any true caption counts)
IMAGE_DIM = 128 + 16  # the frozen grid tokens: clip_world's 128 channels + the one-hot of the 4 × 4 cell
MAX_LEN = B.CONTEXT_LENGTH


def build() -> QFormer:
    return settings.seeded(lambda: QFormer(B.tokenizer().vocab_size, IMAGE_DIM, n_queries=N_QUERIES, dim=64, heads=4,
                                           depth=4, max_len=MAX_LEN), SEED)


def retrieval_scores(sim: torch.Tensor, rs: P.RetrievalSet) -> dict[str, float]:
    """R@1 image→text and text→image, a hit being anything the retrieved item is true of."""
    return {"R@1 i2t": metrics.recall_at_k(sim, rs.relevant, (1,))["R@1"],
            "R@1 t2i": metrics.recall_at_k(sim.T, rs.relevant.T, (1,))["R@1"]}


def captions(model, feats: torch.Tensor) -> list[str]:
    """Greedy captions of a Q-Former or CoCa (anything with ``generate``) from frozen image tokens."""
    tok = B.tokenizer()
    model.eval()
    return tok.decode_batch(model.generate(feats, tok.bos_id, tok.eos_id))


def dual_encoder_scores(model, encoder, n: int) -> dict:
    """A Q-Former's or CoCa's R@1 both ways on n held-out pairs and caption accuracy on n // 2 held-out scenes."""
    model.eval()
    rs = P.retrieval_set(n, TEST_SEED)
    out = retrieval_scores(model.similarity(encoder(rs.images), B.tokenizer().batch(rs.captions)), rs)
    cs = P.pairs(np.random.default_rng(TEST_SEED), n // 2, "test")
    out["caption_acc"] = P.caption_accuracy(captions(model, encoder(cs["images"])), cs["scenes"])
    return out


def scores(model: QFormer, encoder, fast: bool = False) -> dict:
    """R@1 both ways on TEST_PAIRS held-out pairs, ITM accuracy on held-out pairs, caption accuracy."""
    n = 100 if fast else TEST_PAIRS
    out = dual_encoder_scores(model, encoder, n)
    s = P.itm_set(n, TEST_SEED)
    logits = predict(model, s["images"], s["tokens"], fn=lambda i, t: model.itm_logits(encoder(i), t))
    return {**out, "itm_acc": metrics.accuracy(logits, s["labels"])}


def train(model: QFormer, fast: bool) -> dict:
    start = time.perf_counter()
    encoder = frozen_grid_encoder()
    steps = FAST_STEPS if fast else FULL_STEPS
    rng, gen = np.random.default_rng(STREAM_SEED), torch.Generator().manual_seed(STREAM_SEED)
    fit(model, lambda step: P.pairs(rng, BATCH_SIZE),
        lambda m, b: m.stage1_loss(encoder(b["images"]), b["tokens"], gen, b["truth"]), steps=steps, lr=LR,
        weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 20),
        eval_fn=pretrained.progress_eval(NAME, lambda m: scores(m, encoder, fast), quiet=fast),
        eval_every=max(1, steps // 5), desc=NAME, plot=False, progress=False)
    return {**scores(model, encoder, fast), "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description=f"Q-Former ({N_QUERIES} queries, width 64, 4 layers) over the frozen clip_world conv tower's 16 "
                f"grid tokens; ITC + ITM + ITG, {FULL_STEPS} steps of {BATCH_SIZE} pairs",
)

__all__ = ["IMAGE_DIM", "NAME", "build", "captions", "dual_encoder_scores", "retrieval_scores", "scores",
           "train"]
