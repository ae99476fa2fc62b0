"""Tasks of notebook 24.7 (ViT vs CNN): sklearn's 8×8 digits, models of similar size, training over seeds, the
data-efficiency experiment (training-set size vs test accuracy), the cost of attention and readings of a trained ViT.

The counting scenes, their stream and their augmentation are in ``course_utils.data.counting`` (the ``vit_count``
recipe trains on them too). Every function that draws random numbers takes its seed; none touches the global state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import metrics
from ..data.counting import NUM_COUNT_CLASSES
from ..nn import SmallCNN, ViTConfig
from ..report import Spread
from ..settings import seeded  # re-exported: the notebook builds its models with T.seeded(make, seed)
from ..train import History, count_parameters, fit, predict

# ----------------------------------------------------------------------------- sklearn digits (8×8)


def load_digits_split(*, seed: int, test_fraction: float = 0.25):
    """sklearn's 1,797 handwritten digits as (N, 1, 8, 8) floats in [0, 1]: (x_train, y_train, x_test, y_test).

    The split is stratified by class and drawn with ``seed``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8)
    y = torch.tensor(digits.target)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=test_fraction, random_state=seed,
                                           stratify=digits.target)
    return x[idx_train], y[idx_train], x[idx_test], y[idx_test]


def random_shift(x: torch.Tensor, generator: torch.Generator | None = None, max_shift: int = 1) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero padding): mild, label-preserving for digits."""
    if max_shift == 0:
        return x
    B, _, H, W = x.shape
    padded = F.pad(x, (max_shift,) * 4)  # (B, C, H+2m, W+2m)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, B), generator=generator)
    out = torch.empty_like(x)
    for i in range(B):
        out[i] = padded[i, :, dy[i]:dy[i] + H, dx[i]:dx[i] + W]
    return out


def tensor_stream(x: torch.Tensor, y: torch.Tensor, batch_size: int, *, seed: int,
                  augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None):
    """``step -> (x, y)``: random minibatches (reshuffled every epoch) of a fixed training set, drawn with ``seed``."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must have the same non-zero length, got {len(x)} and {len(y)}")
    gen = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, len(x))
    state = {"perm": torch.randperm(len(x), generator=gen), "pos": 0}

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if state["pos"] + batch_size > len(x):
            state["perm"], state["pos"] = torch.randperm(len(x), generator=gen), 0
        idx = state["perm"][state["pos"]:state["pos"] + batch_size]
        state["pos"] += batch_size
        xb = x[idx]
        return (augment(xb, gen) if augment is not None else xb), y[idx]

    return batch


def balanced_order(y: torch.Tensor, seed: int) -> torch.Tensor:
    """A permutation of the indices of ``y`` whose every prefix is as class-balanced as possible."""
    gen = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    per_class = [(y == c).nonzero().flatten() for c in classes]
    per_class = [ix[torch.randperm(len(ix), generator=gen)] for ix in per_class]
    longest = max(len(ix) for ix in per_class)
    order = [ix[i].item() for i in range(longest) for ix in per_class if i < len(ix)]
    return torch.tensor(order)


# ----------------------------------------------------------------------------- models of similar size


def count_vit_config(fast: bool = False) -> ViTConfig:
    """The ViT of the counting task: 32×32 images, 8×8 patches (16 tokens + [CLS]), width 64, 4 layers, 4 heads
    (the architecture of the registered ``vit_count``); a thinner 2-layer one in fast mode."""
    if fast:
        return ViTConfig(image_size=32, patch_size=8, num_classes=NUM_COUNT_CLASSES, dim=32, depth=2, heads=2,
                         mlp_ratio=2.0)
    return ViTConfig(image_size=32, patch_size=8, num_classes=NUM_COUNT_CLASSES, dim=64, depth=4, heads=4,
                     mlp_ratio=2.0)


def digits_vit_config(fast: bool = False) -> ViTConfig:
    """The ViT of the digits task: 8×8 gray images, 2×2 patches (16 tokens + [CLS])."""
    if fast:
        return ViTConfig(image_size=8, patch_size=2, in_channels=1, num_classes=10, dim=32, depth=2, heads=2,
                         mlp_ratio=2.0)
    return ViTConfig(image_size=8, patch_size=2, in_channels=1, num_classes=10, dim=64, depth=4, heads=4,
                     mlp_ratio=2.0)


def cnn_width_like(n_params: int, in_channels: int = 3, num_classes: int = 10) -> int:
    """The SmallCNN width whose parameter count is closest to ``n_params``."""
    return min(range(4, 65), key=lambda w: abs(count_parameters(SmallCNN(in_channels, num_classes, w)) - n_params))



# ----------------------------------------------------------------------------- training and evaluation


def classification_loss(model: nn.Module, batch) -> tuple[torch.Tensor, dict]:
    """Cross-entropy of one (x, y) batch, with the batch accuracy for the progress bar."""
    x, y = batch
    logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    return loss, {"acc": (logits.argmax(-1) == y).float().mean().item()}


def train_classifier(model: nn.Module, data, x_eval: torch.Tensor, y_eval: torch.Tensor, *, steps: int,
                     lr: float = 1e-3, weight_decay: float = 0.05, warmup: int | None = None,
                     eval_every: int | None = None, extra_eval: dict[str, Callable[[nn.Module], float]] | None = None,
                     desc: str = "train", plot: bool = False, progress: bool = True) -> History:
    """``train.fit`` with AdamW, linear warmup (5 % of the steps by default) and cosine decay; records the accuracy
    on (x_eval, y_eval) as "test_acc" every ``eval_every`` steps and at the end, with ``{name: fn(model)}`` of
    ``extra_eval`` beside it. Returns the ``History``."""
    warmup = max(1, steps // 20) if warmup is None else warmup

    def eval_fn(m: nn.Module) -> dict[str, float]:
        return {"test_acc": metrics.accuracy(predict(m, x_eval), y_eval),
                **{name: fn(m) for name, fn in (extra_eval or {}).items()}}

    return fit(model, data, classification_loss, steps=steps, lr=lr, weight_decay=weight_decay, warmup=warmup,
               eval_fn=eval_fn, eval_every=eval_every, desc=desc, plot=plot, progress=progress)


def curve_over_seeds(histories: Sequence[History], name: str = "test_acc"):
    """Steps and the per-step mean, min and max of a metric over the histories of several seeds (same schedule)."""
    steps = histories[0].metric(name)[0]
    values = np.array([h.metric(name)[1] for h in histories])  # (seeds, evaluations)
    return steps, values.mean(0), values.min(0), values.max(0)


# ----------------------------------------------------------------------------- data efficiency


@dataclass
class EfficiencyRow:
    model: str
    n_train: int
    seed: int
    test_acc: float


def data_efficiency(
    models: dict[str, Callable[[], nn.Module]],
    train_set: tuple[torch.Tensor, torch.Tensor],
    test_set: tuple[torch.Tensor, torch.Tensor],
    sizes: Sequence[int],
    seeds: Sequence[int],
    *,
    steps: int = 200,
    batch_size: int = 64,
    lr: float = 2e-3,
    augment: Callable | None = None,
    progress: bool = True,
) -> list[EfficiencyRow]:
    """For every size ``n``, seed and model: train the model from scratch on a class-balanced subset of ``n``
    training examples for ``steps`` steps and measure its test accuracy.

    The seed draws the initial weights, which ``n`` examples are taken (``balanced_order``) and the minibatches.
    The same number of steps for every size keeps the compute fixed, so only the amount of data changes."""
    from tqdm.auto import tqdm

    (x_train, y_train), (x_test, y_test) = train_set, test_set
    if any(n < 1 or n > len(x_train) for n in sizes):
        raise ValueError(f"sizes {list(sizes)} must lie in 1..{len(x_train)} (the training set)")
    rows = []
    jobs = [(n, seed, name) for n in sizes for seed in seeds for name in models]
    for n, seed, name in tqdm(jobs, desc="data efficiency", disable=not progress, leave=False):
        idx = balanced_order(y_train, seed)[:n]
        model = seeded(models[name], seed)
        data = tensor_stream(x_train[idx], y_train[idx], batch_size, seed=seed, augment=augment)
        train_classifier(model, data, x_test, y_test, steps=steps, lr=lr, eval_every=steps, progress=False)
        rows.append(EfficiencyRow(name, n, seed, metrics.accuracy(predict(model, x_test), y_test)))
    return rows


def efficiency_table(rows: Sequence[EfficiencyRow]) -> dict[str, dict[int, Spread]]:
    """{model: {n_train: Spread of the test accuracy over the seeds}} from ``data_efficiency`` rows."""
    values: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        values.setdefault(r.model, {}).setdefault(r.n_train, []).append(r.test_acc)
    return {m: {n: Spread(v) for n, v in sorted(by_n.items())} for m, by_n in values.items()}


def gaps_by_seed(rows: Sequence[EfficiencyRow], better: str, worse: str, n_train: int) -> list[float]:
    """Accuracy of ``better`` minus ``worse`` at ``n_train``, one gap per seed (both trained with that seed)."""
    acc = {(r.model, r.seed): r.test_acc for r in rows if r.n_train == n_train}
    seeds = sorted({s for m, s in acc if m == better} & {s for m, s in acc if m == worse})
    if not seeds:
        raise ValueError(f"no seed has both {better!r} and {worse!r} at n_train={n_train}")
    return [acc[(better, s)] - acc[(worse, s)] for s in seeds]


# ----------------------------------------------------------------------------- cost of attention


def vit_flops(image_size: int, patch_size: int, dim: int, depth: int, mlp_ratio: float = 4.0,
              in_channels: int = 3) -> dict[str, float]:
    """Multiply-adds ×2 (FLOPs) of one forward pass for one image, split into the parts of eq. (24.7.7).

    patch embedding N·(C·p²)·d, per layer: QKV + output projections 4·T·d², scores QKᵀ and AV 2·T²·d,
    MLP 2·T·d·(r·d), with T = N + 1 tokens."""
    if image_size % patch_size:
        raise ValueError(f"image size {image_size} is not divisible by patch size {patch_size}")
    N = (image_size // patch_size) ** 2
    T = N + 1
    hidden = int(mlp_ratio * dim)
    embed = 2 * N * in_channels * patch_size**2 * dim
    proj = depth * 2 * 4 * T * dim**2
    attn = depth * 2 * 2 * T**2 * dim
    mlp = depth * 2 * 2 * T * dim * hidden
    return {"tokens": T, "embed": embed, "projections": proj, "attention": attn, "mlp": mlp,
            "total": embed + proj + attn + mlp}


# ----------------------------------------------------------------------------- reading a trained model


def similarity_by_distance(sim: torch.Tensor) -> dict[int, float]:
    """Mean cosine similarity of two different positions' embeddings by their grid distance |Δrow| + |Δcol|;
    ``sim`` (g, g, g, g) holds at [i, j] the map of position (i, j)'s similarity to every position."""
    g = sim.size(0)
    idx = torch.arange(g)
    drow = (idx[:, None, None, None] - idx[None, None, :, None]).abs()  # (g, 1, g, 1)
    dcol = (idx[None, :, None, None] - idx[None, None, None, :]).abs()  # (1, g, 1, g)
    dist = (drow + dcol).expand(g, g, g, g)
    return {int(d): sim[dist == d].mean().item() for d in torch.unique(dist) if d > 0}


def object_patches(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, N) bool: which patches of world images (black background) contain object pixels, row-major."""
    if images.dim() != 4:
        raise ValueError(f"expected images (B, C, H, W), got shape {tuple(images.shape)}")
    colored = (images.amax(1, keepdim=True) > 0).float()  # (B, 1, H, W)
    return F.max_pool2d(colored, patch_size).flatten(1) > 0  # (B, N)


def mass_on(maps: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean share of each map's total weight (B, N) that falls on the masked patches (B, N)."""
    maps = maps.flatten(1).float()
    maps = maps / maps.sum(-1, keepdim=True).clamp_min(1e-12)
    return (maps * mask.flatten(1).float()).sum(-1).mean().item()


__all__ = [
    "EfficiencyRow", "balanced_order", "classification_loss", "cnn_width_like",
    "count_vit_config", "curve_over_seeds", "data_efficiency", "digits_vit_config", "efficiency_table",
    "gaps_by_seed", "load_digits_split", "mass_on", "object_patches", "random_shift", "seeded",
    "similarity_by_distance", "tensor_stream", "train_classifier", "vit_flops",
]
