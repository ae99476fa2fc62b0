"""Recipe ``vit_count``: a small ViT trained long enough to count 1–4 objects in the toy world (notebook 24.7).

A ViT has no built-in locality or translation equivariance, so on a short budget it trails a CNN of the same
size (notebook 24.7 measures it over seeds). With a longer schedule it gets there too: linear warmup, cosine decay,
AdamW with weight decay 0.05, a fresh batch of scenes at every step (the world is infinite) and random flips / 90°
rotations (they do not change the count). The notebook's attention maps, rollout and position-embedding
similarities are drawn with these weights.

Config, build and train, nothing else: the scenes, the stream and the augmentation are in
``course_utils.data.counting``. The shipped weights were trained exactly so: the model initialized under torch seed
``INIT_SEED``, ``FULL_STEPS`` steps of ``count_stream(BATCH_SIZE, seed=STREAM_SEED)``, evaluated on
``count_dataset(TEST_SIZE, seed=TEST_SEED)`` (98.45 % after 14.7 minutes on one CPU thread). To retrain them::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('vit_count')"
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .. import metrics, pretrained, settings
from ..data.counting import NUM_COUNT_CLASSES, count_dataset, count_stream
from ..nn import VisionTransformer, ViTConfig
from ..train import fit, predict

NAME = "vit_count"
FULL_STEPS = 4000
FAST_STEPS = 20
BATCH_SIZE = 128
FAST_BATCH_SIZE = 32
LR = 2e-3
WEIGHT_DECAY = 0.05
WARMUP = 200  # at most a tenth of the steps
TEST_SIZE = 2000
FAST_TEST_SIZE = 200
INIT_SEED = 0  # torch seed of the initial weights
STREAM_SEED = 0  # seed of the training scenes and their flips/rotations
TEST_SEED = 24_07  # seed of the test scenes (a different seed sequence from the stream's)


def config() -> ViTConfig:
    """The registered architecture: 32×32 images, 8×8 patches (16 tokens + [CLS]), width 64, 4 layers, 4 heads,
    the same as notebook 24.7's live counting ViT."""
    return ViTConfig(image_size=32, patch_size=8, num_classes=NUM_COUNT_CLASSES, dim=64, depth=4, heads=4,
                     mlp_ratio=2.0)


def build() -> VisionTransformer:
    """The untrained model, initialized under ``INIT_SEED`` without touching the global random state."""
    return settings.seeded(lambda: VisionTransformer(config()), INIT_SEED)


def loss(model: VisionTransformer, batch) -> torch.Tensor:
    """Cross-entropy of one (images, labels) batch."""
    x, y = batch
    return F.cross_entropy(model(x).float(), y)


def train(model: VisionTransformer, fast: bool) -> dict:
    """``FULL_STEPS`` steps of ``BATCH_SIZE`` fresh, randomly flipped/rotated scenes; returns the test accuracy."""
    start = time.perf_counter()
    steps, batch_size = (FAST_STEPS, FAST_BATCH_SIZE) if fast else (FULL_STEPS, BATCH_SIZE)
    x_test, y_test = count_dataset(FAST_TEST_SIZE if fast else TEST_SIZE, seed=TEST_SEED)

    def test_accuracy(m) -> float:
        return metrics.accuracy(predict(m, x_test), y_test)

    def eval_fn(m) -> dict:
        acc = test_accuracy(m)
        if not fast:
            print(f"[vit_count] test accuracy {acc:.4f} after {(time.perf_counter() - start) / 60:.1f} min",
                  flush=True)
        return {"test_acc": acc}

    fit(model, count_stream(batch_size, seed=STREAM_SEED), loss, steps=steps, lr=LR, weight_decay=WEIGHT_DECAY,
        warmup=min(WARMUP, steps // 10), eval_fn=eval_fn, eval_every=max(1, steps // 10), desc=NAME, plot=False,
        progress=not fast)
    model.eval()
    return {"test_acc": test_accuracy(model), "steps": steps, "batch_size": batch_size,
            "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description="ViT (32×32, patch 8, width 64, depth 4, heads 4) counting 1–4 objects in the toy world; "
                f"{FULL_STEPS} steps × {BATCH_SIZE} fresh scenes, warmup + cosine, AdamW wd {WEIGHT_DECAY}, "
                "flips/90° rotations",
)

__all__ = ["NAME", "build", "config", "loss", "train"]
