"""Recipe ``vit_count``: a small ViT trained long enough to count 1–4 objects in the toy world (notebook 24.7).

A ViT has no built-in locality or translation equivariance, so on a short budget it trails a CNN of the same
size (DESIGN.md §10). With a longer schedule it gets there too: linear warmup, cosine decay, AdamW with
weight decay 0.05, a fresh batch of scenes at every step (the world is infinite) and random flips / 90°
rotations (they do not change the count). The notebook's attention maps, rollout and position-embedding
similarities are drawn with these weights.

Train in the background (15 minutes on one thread of a busy 2-core CPU: 4000 steps, test accuracy 0.985)::

    COURSE_FAST=0 .venv/bin/python -c "import torch; torch.set_num_threads(1); \
        from course_utils import pretrained; pretrained.get('vit_count')"

(On a CPU shared with other jobs, one thread ran about 20× faster than two: the threads of a step wait for each other.)
"""
from __future__ import annotations

import time

import torch

from .. import pretrained
from ..nn import VisionTransformer, ViTConfig
from ..tasks import vit_tasks as T

NAME = "vit_count"
FULL_STEPS = 4000
FAST_STEPS = 20
BATCH_SIZE = 128
LR = 2e-3
WEIGHT_DECAY = 0.05
WARMUP = 200
TEST_SIZE = 2000


def config() -> ViTConfig:
    """The registered architecture: the notebook's live counting ViT (32×32, patch 8, width 64, 4 layers)."""
    return T.count_vit_config(fast=False)


def build() -> VisionTransformer:
    torch.manual_seed(0)
    return VisionTransformer(config())


def train(model: VisionTransformer, fast: bool) -> dict:
    """FULL_STEPS steps of BATCH_SIZE fresh, randomly flipped/rotated scenes; returns the test accuracy."""
    start = time.perf_counter()
    steps = FAST_STEPS if fast else FULL_STEPS
    x_test, y_test = T.count_test_set(200 if fast else TEST_SIZE)
    log = []

    def eval_fn(m) -> dict:
        acc = T.accuracy(m, x_test, y_test)
        log.append(acc)
        if not fast:
            print(f"[vit_count] eval {len(log)}: test accuracy {acc:.4f} after "
                  f"{(time.perf_counter() - start) / 60:.1f} min", flush=True)
        return {"test_acc": acc}

    from ..train import fit

    torch.manual_seed(0)
    fit(model, T.count_stream(32 if fast else BATCH_SIZE, seed=0), T.classification_loss, steps=steps, lr=LR,
        weight_decay=WEIGHT_DECAY, warmup=min(WARMUP, steps // 10), eval_fn=eval_fn,
        eval_every=max(1, steps // 10), desc=NAME, plot=False, progress=not fast)
    model.eval()
    return {
        "test_acc": T.accuracy(model, x_test, y_test),
        "steps": steps,
        "batch_size": 32 if fast else BATCH_SIZE,
        "train_minutes": (time.perf_counter() - start) / 60,
    }


pretrained.register(
    NAME, build, train,
    description="ViT (32×32, patch 8, width 64, depth 4, heads 4) counting 1–4 objects in the toy world; "
                f"{FULL_STEPS} steps × {BATCH_SIZE} fresh scenes, warmup + cosine, AdamW wd {WEIGHT_DECAY}, "
                "flips/90° rotations",
)

__all__ = ["NAME", "build", "config", "train"]
