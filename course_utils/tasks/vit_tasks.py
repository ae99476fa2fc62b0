"""Tasks of notebook 24.7 (ViT vs CNN): counting objects in the toy world, sklearn's 8×8 digits, and the
data-efficiency experiment (training-set size vs test accuracy).

Counting needs the whole image: the label (1–4 objects) is a property of the scene, not of one patch, so a
model must gather evidence from everywhere. Flips and 90° rotations (the dihedral group D4) leave the count
unchanged, and a new batch of scenes can be rendered at every step, so the training set is effectively infinite.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import render_batch, sample_scene
from ..nn import SmallCNN, VisionTransformer, ViTConfig

COUNT_RANGE = (1, 4)  # objects per counting scene; label = count - COUNT_RANGE[0]
NUM_COUNT_CLASSES = COUNT_RANGE[1] - COUNT_RANGE[0] + 1
COUNT_TEST_SEED = 24_07  # the fixed test scenes of the counting task


# ----------------------------------------------------------------------------- counting in the toy world


def count_scenes(rng: np.random.Generator | int, n: int, image_size: int = 32,
                 counts: tuple[int, int] = COUNT_RANGE) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` fresh scenes of 1–4 objects: images (n, 3, S, S) in [0, 1] and labels (n,) = count - counts[0]."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    scenes = [sample_scene(rng, counts, image_size=image_size) for _ in range(n)]
    x = render_batch(scenes, image_size).rgb  # (n, 3, S, S)
    y = torch.tensor([len(s.objects) - counts[0] for s in scenes])  # (n,)
    return x, y


def count_dataset(n: int, seed: int = 0, image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed counting set, the same for the same (n, seed, image_size)."""
    return count_scenes(np.random.default_rng([seed, image_size, 7]), n, image_size)


def count_test_set(n: int = 2000, image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """The counting test set shared by the notebook and the registered recipe (never used for training)."""
    return count_dataset(n, seed=COUNT_TEST_SEED, image_size=image_size)


def dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image (B, C, H, W) under a random one of the 8 flips/90° rotations (label-preserving for counting)."""
    if x.dim() != 4 or x.size(-1) != x.size(-2):
        raise ValueError(f"expected square images (B, C, S, S), got shape {tuple(x.shape)}")
    k = torch.randint(0, 8, (x.size(0),), generator=generator)  # (B,): k % 4 quarter turns, k // 4 flip
    out = x.clone()
    for t in range(8):
        idx = (k == t).nonzero().flatten()
        if len(idx):
            xt = torch.rot90(x[idx], t % 4, dims=(-2, -1))
            out[idx] = xt.flip(-1) if t >= 4 else xt
    return out


def count_stream(batch_size: int, seed: int = 0, image_size: int = 32,
                 augment: bool = True) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """``step -> (x, y)``: a new batch of scenes at every step (the world is infinite), for ``train.fit``."""
    rng = np.random.default_rng([seed, 11])
    gen = torch.Generator().manual_seed(seed)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = count_scenes(rng, batch_size, image_size)
        return (dihedral(x, gen) if augment else x), y

    return batch


# ----------------------------------------------------------------------------- sklearn digits (8×8)


def load_digits_split(test_fraction: float = 0.25, seed: int = 0):
    """sklearn's 1,797 handwritten digits as (N, 1, 8, 8) floats in [0, 1]: (x_train, y_train, x_test, y_test).

    The split is stratified by class and fixed by ``seed``."""
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


def tensor_stream(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int = 0,
                  augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None):
    """``step -> (x, y)``: random minibatches (with reshuffling per epoch) from a fixed training set."""
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


# ----------------------------------------------------------------------------- models of similar size


def count_vit_config(fast: bool = False) -> ViTConfig:
    """The ViT of the counting task: 32×32 images, 8×8 patches (16 tokens + [CLS]), width 64, 4 layers, 4 heads.

    (With 4×4 patches, 64 tokens, the same ViT learns to count several times slower per step and per second:
    an object then covers up to 9 patches that have to be grouped before they can be counted.)"""
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
    def size(w: int) -> int:
        return sum(p.numel() for p in SmallCNN(in_channels, num_classes, w).parameters())

    return min(range(4, 65), key=lambda w: abs(size(w) - n_params))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- training and evaluation


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` on (x, y), evaluated in eval mode on the model's device."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i:i + batch_size].to(device))
        correct += (logits.argmax(-1).cpu() == y[i:i + batch_size]).sum().item()
    model.train(was_training)
    return correct / len(x)


def classification_loss(model: nn.Module, batch) -> tuple[torch.Tensor, dict]:
    """Cross-entropy of one (x, y) batch, with the batch accuracy for the progress bar."""
    x, y = batch
    logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    return loss, {"acc": (logits.argmax(-1) == y).float().mean().item()}


def train_classifier(model: nn.Module, data, x_test: torch.Tensor, y_test: torch.Tensor, *, steps: int,
                     lr: float = 1e-3, weight_decay: float = 0.05, warmup: int | None = None,
                     eval_every: int | None = None, desc: str = "train",
                     plot: bool = False, progress: bool = True):
    """``train.fit`` with AdamW, linear warmup (5 % of the steps by default) and cosine decay; evaluates the
    test accuracy ("test_acc") along the way. Returns the ``History``."""
    from ..train import fit

    warmup = max(1, steps // 20) if warmup is None else warmup
    return fit(model, data, classification_loss, steps=steps, lr=lr, weight_decay=weight_decay, warmup=warmup,
               eval_fn=lambda m: {"test_acc": accuracy(m, x_test, y_test)}, eval_every=eval_every,
               desc=desc, plot=plot, progress=progress)


# ----------------------------------------------------------------------------- data efficiency


@dataclass
class EfficiencyRow:
    model: str
    n_train: int
    test_acc: float
    seconds: float


def data_efficiency(
    models: dict[str, Callable[[], nn.Module]],
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    sizes: Sequence[int],
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr: float | dict[str, float] = 1e-3,
    augment: Callable | None = None,
    seed: int = 0,
    progress: bool = True,
) -> list[EfficiencyRow]:
    """Train each model from scratch on the first ``n`` training examples (a class-balanced prefix) for every
    ``n`` in ``sizes``, with the same number of steps, and measure test accuracy.

    ``models`` maps a name to a function that builds a fresh model. The same steps for every size keep the
    compute fixed, so only the amount of data changes."""
    from tqdm.auto import tqdm

    if any(n < 1 or n > len(x_train) for n in sizes):
        raise ValueError(f"sizes {list(sizes)} must lie in 1..{len(x_train)} (the training set)")
    order = balanced_order(y_train, seed)
    rows = []
    jobs = [(n, name) for n in sizes for name in models]
    for n, name in tqdm(jobs, desc="data efficiency", disable=not progress, leave=False):
        torch.manual_seed(seed)
        model = models[name]()
        idx = order[:n]
        start = time.perf_counter()
        data = tensor_stream(x_train[idx], y_train[idx], batch_size, seed=seed, augment=augment)
        train_classifier(model, data, x_test, y_test, steps=steps, lr=lr[name] if isinstance(lr, dict) else lr,
                         eval_every=steps, plot=False, progress=False)
        rows.append(EfficiencyRow(name, n, accuracy(model, x_test, y_test), time.perf_counter() - start))
    return rows


def balanced_order(y: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A permutation of the indices of ``y`` whose every prefix is as class-balanced as possible."""
    gen = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    per_class = [(y == c).nonzero().flatten() for c in classes]
    per_class = [ix[torch.randperm(len(ix), generator=gen)] for ix in per_class]
    longest = max(len(ix) for ix in per_class)
    order = [ix[i].item() for i in range(longest) for ix in per_class if i < len(ix)]
    return torch.tensor(order)


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


def make_vit(config: ViTConfig) -> VisionTransformer:
    return VisionTransformer(config)


def efficiency_table(rows: list[EfficiencyRow]) -> dict[str, dict[int, float]]:
    """{model: {n_train: test_acc}} from ``data_efficiency`` rows."""
    table: dict[str, dict[int, float]] = {}
    for r in rows:
        table.setdefault(r.model, {})[r.n_train] = r.test_acc
    return table


def cosine_similarity_grid(pos_embed: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each patch position's embedding with every other one, as maps:
    pos_embed (N, d) or (1, N[+1], d) of a square grid g×g -> (g, g, g, g), entry [i, j] is the map of position (i, j).

    A leading class-token row (N + 1 rows, N + 1 not a square) is dropped."""
    pe = pos_embed.detach().float()
    pe = pe[0] if pe.dim() == 3 else pe
    n = pe.size(0)
    if math.isqrt(n) ** 2 != n:
        if math.isqrt(n - 1) ** 2 == n - 1:
            pe = pe[1:]
        else:
            raise ValueError(f"{n} position embeddings are neither a square grid nor a grid plus a class token")
    g = math.isqrt(pe.size(0))
    pe = F.normalize(pe, dim=-1)
    return (pe @ pe.T).view(g, g, g, g)  # (g, g, g, g)


# ----------------------------------------------------------------------------- reading a trained model


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


def similarity_by_distance(sim: torch.Tensor) -> dict[int, float]:
    """Mean cosine similarity of two different positions' embeddings by their grid distance |Δrow| + |Δcol|;
    sim (g, g, g, g) from ``cosine_similarity_grid``."""
    g = sim.size(0)
    idx = torch.arange(g)
    drow = (idx[:, None, None, None] - idx[None, None, :, None]).abs()  # (g, 1, g, 1)
    dcol = (idx[None, :, None, None] - idx[None, None, None, :]).abs()  # (1, g, 1, g)
    dist = (drow + dcol).expand(g, g, g, g)
    return {int(d): sim[dist == d].mean().item() for d in torch.unique(dist) if d > 0}


__all__ = [
    "COUNT_RANGE", "NUM_COUNT_CLASSES", "EfficiencyRow", "accuracy", "balanced_order", "classification_loss",
    "cnn_width_like", "cosine_similarity_grid", "count_dataset", "count_params", "count_scenes", "count_stream",
    "count_test_set", "count_vit_config", "data_efficiency", "digits_vit_config", "dihedral", "efficiency_table",
    "load_digits_split", "make_vit", "mass_on", "object_patches", "random_shift", "similarity_by_distance",
    "tensor_stream", "train_classifier", "vit_flops",
]
