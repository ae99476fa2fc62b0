"""Recipe of notebook 24.12's world model: ``world_model_video``, a convolutional next-frame predictor
(``nn.world_model.FramePredictor``, width 16, context 2 frames) of the toy world's videos of 1–2 moving, bouncing
objects at 32 × 32, trained on fresh videos with the mean squared error of 3-step rollouts.

Config, build, train and the held-out evaluation (MSE per horizon against copy-last-frame), nothing else.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import pretrained, settings
from ..data import video_prediction as V
from ..nn.world_model import FramePredictor, WorldModelConfig, copy_last, mse_per_horizon, rollout, rollout_loss

NAME = "world_model_video"
SEED = 0
CONTEXT, WIDTH = 2, 16
TRAIN_HORIZON = 3                  # the loss is the MSE of a rollout this long (predictions fed back in)
BATCH_SIZE = 32
FULL_STEPS, FAST_STEPS, LR = 1500, 5, 2e-3
N_OBJECTS = (1, 2)
EVAL_SEED, EVAL_VIDEOS, EVAL_HORIZON = 1000, 256, 10


def config() -> WorldModelConfig:
    return WorldModelConfig(context=CONTEXT, width=WIDTH)


def build() -> FramePredictor:
    return settings.seeded(lambda: FramePredictor(config()), SEED)


def train_predictor(model: FramePredictor, steps: int, *, seed: int = SEED, batch_size: int = BATCH_SIZE,
                    horizon: int = TRAIN_HORIZON, n_objects=N_OBJECTS, lr: float = LR, progress: bool = True,
                    plot: bool = False, desc: str = "world model"):
    """Train in place on fresh videos of ``context + horizon`` frames (one new batch per step), loss = the MSE of a
    ``horizon``-step rollout; returns the ``train.History``."""
    from ..train import fit

    rng = np.random.default_rng(seed)
    context = model.config.context
    return fit(model, lambda step: V.training_batch(rng, batch_size, context, horizon, n_objects),
               lambda m, b: rollout_loss(m, b["past"], b["future"]), steps=steps, lr=lr,
               warmup=min(100, steps // 10), plot=plot, progress=progress, desc=desc)


def held_out(n: int = EVAL_VIDEOS, horizon: int = EVAL_HORIZON, seed: int = EVAL_SEED, context: int = CONTEXT,
             n_objects=N_OBJECTS) -> V.Videos:
    """Videos never seen in training (their own seed): ``context + horizon`` frames each."""
    return V.sample_videos(np.random.default_rng(seed), n, context + horizon, n_objects=n_objects)


@torch.no_grad()
def evaluate(model: FramePredictor, videos: V.Videos | None = None, horizon: int = EVAL_HORIZON) -> dict:
    """MSE per horizon of the model's rollout and of copy-last-frame: {"model h=1": …, "copy-last h=1": …, …}."""
    videos = videos if videos is not None else held_out(horizon=horizon)
    past, future = V.split_context(videos.frames, model.config.context)
    future = future[:, :horizon]
    out = {}
    for name, pred in [("model", rollout(model.eval(), past, horizon)), ("copy-last", copy_last(past, horizon))]:
        for k, v in enumerate(mse_per_horizon(pred, future).tolist(), start=1):
            out[f"{name} h={k}"] = v
    return out


def train(model: FramePredictor, fast: bool) -> dict:
    start = time.perf_counter()
    steps = FAST_STEPS if fast else FULL_STEPS
    train_predictor(model, steps, batch_size=8 if fast else BATCH_SIZE, progress=not fast)
    model.eval()
    scores = evaluate(model, held_out(n=16 if fast else EVAL_VIDEOS))
    keep = [f"{name} h={k}" for name in ("model", "copy-last") for k in (1, 5, 10)]
    return {**{k: scores[k] for k in keep}, "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description="convolutional next-frame predictor (width 16, 2 past frames + coordinate channels) of the toy "
                "world's bouncing-object videos, 32×32, trained on 3-step rollouts",
)

__all__ = ["CONTEXT", "NAME", "TRAIN_HORIZON", "build", "config", "evaluate", "held_out", "train",
           "train_predictor"]
