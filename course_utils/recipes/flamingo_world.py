"""Recipe ``flamingo_world``: Flamingo in miniature (notebook 24.3), the frozen ``world_lm`` made multimodal.

Config, build and train, nothing else (the model is ``nn.flamingo``, the sequences ``data.interleaved``). The image
features come from the frozen image tower of ``clip_world`` cut before its pool (16 cells × 144). Only the Perceiver
Resampler, the gated cross-attention layers and the <image> marker are trained: ``STEPS`` steps of ``BATCH_SIZE``
interleaved sequences of ``N_IMAGES`` one-object images, each sequence one random task (color or shape, English or
Chinese) that is never named; next-token loss on the answers and their <eos>. To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('flamingo_world')"
"""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .. import pretrained, settings
from ..data import interleaved as I
from ..data.tokenizer import Tokenizer
from ..nn.flamingo import FlamingoLM
from ..train import fit
from . import clip_world

NAME = "flamingo_world"
LM = "world_lm"
STEPS = 800
FAST_STEPS = 10
BATCH_SIZE = 32
N_IMAGES = 5  # images per training sequence: the loss at image j teaches the (j − 1)-shot answer
NUM_LATENTS = 8
LR = 1e-3
WEIGHT_DECAY = 0.05
SEED = 0  # initial weights
POOL_SEED, POOL_SIZE = 240_300, 4000  # training images
TEST_SEED, TEST_QUERIES = 24_03, 200  # held-out query and support images
SHOTS = (0, 1, 4)


@lru_cache(maxsize=1)
def image_encoder():
    """The frozen grid encoder of the shipped ``clip_world`` (16 tokens × 144 per 32×32 image)."""
    return clip_world.frozen_grid_encoder()


@torch.no_grad()
def features(images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """(N, 3, 32, 32) -> (N, 16, 144) frozen image features."""
    enc = image_encoder()
    return torch.cat([enc(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def build(num_latents: int = NUM_LATENTS, seed: int = SEED) -> FlamingoLM:
    """The frozen shipped ``world_lm`` with a resampler of ``num_latents`` latents (2 layers) and a gated
    cross-attention layer before each of its 4 blocks; new weights from ``seed``."""
    lm = pretrained.get(LM, verbose=False)
    feature_dim = image_encoder().channels + 16  # cell features + the one-hot of the cell
    return settings.seeded(lambda: FlamingoLM(lm, feature_dim, num_latents=num_latents), seed)


def sequence_loss(model: FlamingoLM, ids: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy on the answers and their <eos>; the <image> markers are inputs, never targets."""
    logits = model(ids, feats)  # (B, T, V)
    target = ids[:, 1:].masked_fill(ids[:, 1:] == model.image_id, Tokenizer.pad_id)  # (B, T − 1)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), target.reshape(-1),
                           ignore_index=Tokenizer.pad_id)


@lru_cache(maxsize=4)
def pool(n: int, seed: int, split: str) -> tuple[I.ImagePool, torch.Tensor]:
    """An image pool and its frozen features (cached: the notebook and the recipe share them)."""
    p = I.image_pool(n, seed, split)
    return p, features(p.images)


def train_flamingo(model: FlamingoLM, steps: int, *, seed: int, pool_size: int = POOL_SIZE, lr: float = LR,
                   progress: bool = True, plot: bool = False, eval_fn=None, desc: str = NAME):
    """Train the resampler, gates and marker on fresh interleaved batches drawn from ``seed`` (AdamW, warmup,
    cosine decay, ``train.fit``); returns the ``History``."""
    train_pool, train_feats = pool(pool_size, POOL_SEED, "train")
    rng = np.random.default_rng(seed)

    def loss_fn(m: FlamingoLM, batch: dict) -> torch.Tensor:
        return sequence_loss(m, batch["ids"], train_feats[batch["index"]])  # features (B, n, 16, 144)

    return fit(model, lambda step: I.training_batch(rng, train_pool, BATCH_SIZE, N_IMAGES), loss_fn, steps=steps,
               lr=lr, weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 20), eval_fn=eval_fn,
               eval_every=max(1, steps // 4), desc=desc, plot=plot, progress=progress)


@torch.no_grad()
def few_shot_accuracy(model: FlamingoLM, shots: int, *, n_queries: int = TEST_QUERIES, seed: int = TEST_SEED,
                      tasks: tuple[str, ...] = I.TASKS) -> dict:
    """Share of held-out query images whose greedy next word after ``shots`` examples of a task is that task's
    answer, per task and on average ("mean"); "right kind" = the word is one of the task's answers (the right
    attribute and language), "any task" = the word is the image's answer for one of the tasks. Queries and support
    images are unseen scenes drawn from ``seed``."""
    queries, q_feats = pool(n_queries, seed, "test")
    support, s_feats = pool(max(50, shots), seed + 1, "test")
    every_answer = torch.stack([queries.answers[t] for t in I.TASKS], dim=1)  # (Q, n_tasks)
    model.eval()
    out, kind, any_task = {}, [], []
    for k, task in enumerate(tasks):
        p = I.few_shot_prompts(support, n_queries, task, shots, np.random.default_rng(seed + k))
        feats = torch.cat([s_feats[p["support_index"]], q_feats[:, None]], dim=1)  # (Q, shots + 1, 16, 144)
        said = model.answer(p["ids"], feats)  # (Q,)
        out[task] = (said == queries.answers[task]).float().mean().item()
        words = torch.tensor([Tokenizer.for_world().stoi[w] for w in I.task_words(task)])
        kind.append(torch.isin(said, words).float().mean().item())
        any_task.append((said[:, None] == every_answer).any(1).float().mean().item())
    out["mean"] = float(np.mean([out[t] for t in tasks]))
    out["right kind"], out["any task"] = float(np.mean(kind)), float(np.mean(any_task))
    return out


def scores(model: FlamingoLM, fast: bool = False) -> dict:
    n = 40 if fast else TEST_QUERIES
    return {f"{k}-shot": few_shot_accuracy(model, k, n_queries=n)["mean"] for k in SHOTS}


def train(model: FlamingoLM, fast: bool) -> dict:
    start = time.perf_counter()
    steps = FAST_STEPS if fast else STEPS
    train_flamingo(model, steps, seed=SEED, progress=False,
                   eval_fn=pretrained.progress_eval(NAME, lambda m: scores(m, fast), quiet=fast))
    model.eval()
    return {**scores(model, fast), "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description=f"Flamingo-mini: frozen world_lm + frozen clip_world grid features, Perceiver Resampler "
                f"({NUM_LATENTS} latents, 2 layers) and gated cross-attention before each LM block; {STEPS} steps of "
                f"{BATCH_SIZE} interleaved sequences of {N_IMAGES} images (color/shape, en/zh)",
)

__all__ = ["NAME", "SHOTS", "build", "features", "few_shot_accuracy", "image_encoder", "pool", "scores",
           "sequence_loss", "train", "train_flamingo"]
