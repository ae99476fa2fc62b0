"""Attention maps of a ViT over its image: per layer and head, attention rollout, position-embedding similarity.

Every function draws a static matplotlib figure; ``attention_explorer`` wraps them in controls through
``interactive_plot`` (a static figure first, then the live widget). Figures, titles and controls number layers and
heads from 1, as the course does everywhere; the tensors underneath are indexed from 0 as usual in Python
(``cls_attention(attns, layer=0)`` is layer 1).
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import torch

from .plots import attention_overlay, to_hwc
from .style import MAX_WIDTH


def _grid(n_patches: int) -> int:
    g = math.isqrt(n_patches)
    if g * g != n_patches:
        raise ValueError(f"{n_patches} patches do not form a square grid")
    return g


def cls_attention(attns: torch.Tensor, layer: int, head: int | str = "mean") -> torch.Tensor:
    """The class token's attention to the patches, (B, g, g), from attention weights (L, B, h, T, T).

    ``layer`` and an int ``head`` are Python indices (0 = layer 1 / head 1); ``head`` may be "mean" / "max" over
    the heads."""
    L, _, h = attns.shape[:3]
    if not 0 <= layer < L:
        raise ValueError(f"layer index {layer} does not exist; the model has layer indices 0..{L - 1} "
                         f"(layers 1..{L})")
    a = attns[layer, :, :, 0, 1:]  # (B, h, N): row of the class token, columns of the patches
    if head == "mean":
        a = a.mean(1)
    elif head == "max":
        a = a.amax(1)
    elif isinstance(head, int) and 0 <= head < h:
        a = a[:, head]
    else:
        raise ValueError(f"head index must be 0..{h - 1} (heads 1..{h}), 'mean' or 'max', got {head!r}")
    g = _grid(a.size(-1))
    return a.reshape(-1, g, g)  # (B, g, g)


def rollout_maps(rollout: torch.Tensor) -> torch.Tensor:
    """Attention rollout R (B, T, T) -> how much the class token draws from each patch, (B, g, g)."""
    r = rollout[:, 0, 1:]  # (B, N)
    g = _grid(r.size(-1))
    return r.reshape(-1, g, g)


def plot_layer_head_grid(image: torch.Tensor, attns_one: torch.Tensor, title: str = ""):
    """All layers (rows) × heads (columns) of the class token's attention over one image; attns_one (L, h, T, T)."""
    L, h = attns_one.shape[:2]
    g = _grid(attns_one.size(-1) - 1)
    fig, axes = plt.subplots(L, h + 1, figsize=(1.35 * (h + 1), 1.4 * L), squeeze=False)
    for layer in range(L):
        axes[layer, 0].imshow(to_hwc(image), interpolation="nearest")
        axes[layer, 0].set_title(f"layer {layer + 1}", fontsize=10)
        axes[layer, 0].axis("off")
        for head in range(h):
            a = attns_one[layer, head, 0, 1:].reshape(g, g)
            attention_overlay(image, a, ax=axes[layer, head + 1], title=f"head {head + 1}" if layer == 0 else "")
    if title:
        fig.suptitle(title, fontsize=10)
    plt.tight_layout()
    return fig


def plot_rollout_row(images: torch.Tensor, rollout: torch.Tensor, attns: torch.Tensor | None = None,
                     titles: Sequence[str] | None = None):
    """Images (B, C, H, W), the last layer's mean class-token attention (if ``attns`` given), and the rollout."""
    B = len(images)
    rows = 3 if attns is not None else 2
    side = min(1.5, MAX_WIDTH / B)  # inches per image: the whole row stays within the width of a notebook cell
    fig, axes = plt.subplots(rows, B, figsize=(side * B, 1.5 * rows), squeeze=False)
    roll = rollout_maps(rollout)
    last = cls_attention(attns, attns.size(0) - 1, "mean") if attns is not None else None
    for i in range(B):
        axes[0, i].imshow(to_hwc(images[i]), interpolation="nearest")
        axes[0, i].set_title(titles[i] if titles else "", fontsize=10)
        axes[0, i].axis("off")
        if last is not None:
            attention_overlay(images[i], last[i], ax=axes[1, i], title="last layer" if i == 0 else "")
        attention_overlay(images[i], roll[i], ax=axes[-1, i], title="rollout" if i == 0 else "")
    plt.tight_layout()
    return fig


def plot_pos_embed_similarity(sim: torch.Tensor, title: str = "position embedding similarity"):
    """Fig. 7 (center) of the ViT paper: for each patch position (i, j), a small map of the cosine similarity of
    its embedding with every other position; sim (g, g, g, g), sim[i, j] the map of position (i, j)."""
    g = sim.size(0)
    cell = max(0.6, 4.0 / g)  # inches per small map: small grids get bigger maps
    fig, axes = plt.subplots(g, g, figsize=(cell * g + 1.2, cell * g), squeeze=False)
    vmin, vmax = float(sim.min()), 1.0
    for i in range(g):
        for j in range(g):
            ax = axes[i, j]
            im = ax.imshow(sim[i, j].numpy(), cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(str(i + 1), fontsize=10, rotation=0, labelpad=6)
            if i == g - 1:
                ax.set_xlabel(str(j + 1), fontsize=10)
    fig.supxlabel("input patch column", fontsize=10)
    fig.supylabel("input patch row", fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.colorbar(im, ax=axes, fraction=0.03, pad=0.02, label="cosine similarity")
    return fig


def plot_embedding_filters(weight: torch.Tensor, patch_size: int, channels: int = 3, k: int = 16,
                           title: str = "principal components of the patch embedding E"):
    """Fig. 7 (left) of the ViT paper: the top-``k`` principal components of the rows of E (dim, C·p·p),
    each shown as a p×p patch."""
    w = weight.detach().float().cpu()
    w = w - w.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(w, full_matrices=False)  # vh: (r, C·p·p)
    k = min(k, vh.size(0))
    cols = min(8, k)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.0 * cols, 1.05 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < k:
            f = vh[i].view(channels, patch_size, patch_size)
            f = (f - f.min()) / (f.max() - f.min() + 1e-8)
            ax.imshow(to_hwc(f), cmap="gray" if channels == 1 else None, interpolation="nearest")
            ax.set_title(f"{i + 1}", fontsize=10)
    fig.suptitle(title, fontsize=10)
    plt.tight_layout()
    return fig


def mean_attention_distance(attns: torch.Tensor, patch_size: int = 1) -> torch.Tensor:
    """Mean attention distance per layer and head, (L, h), in pixels (Dosovitskiy et al. Fig. 7 right; Raghu et al.).

    For every patch query, the distance to each patch key weighted by its attention, averaged over queries and
    images; the class token is left out. Small = local, like a convolution; large = global."""
    L, B, h, T, _ = attns.shape
    g = _grid(T - 1)
    ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()], 1).float() * patch_size  # (N, 2)
    dist = torch.cdist(pos, pos)  # (N, N)
    a = attns[..., 1:, 1:].float()  # (L, B, h, N, N) patch-to-patch attention
    a = a / a.sum(-1, keepdim=True).clamp_min(1e-12)  # renormalize without the class token
    return (a * dist).sum(-1).mean(dim=(1, 3))  # (L, h)


def attention_explorer(model, images: torch.Tensor, titles: Sequence[str] | None = None, *, image: int = 1,
                       layer: int | None = None, head: int | str = "mean"):
    """A widget: choose an image, a layer and a head (or the mean / max over heads) and see where the class token
    looks, beside the rollout over all layers. ``image``, ``layer`` and ``head`` count from 1 (default layer: the
    last). It replays the model's attention (no training); a static figure is left for the chosen defaults."""
    import ipywidgets as widgets

    from ..nn.vit import attention_rollout
    from .widgets import interactive_plot

    device = next(model.parameters()).device
    attns = model.attention_maps(images.to(device)).float().cpu()  # (L, B, h, T, T)
    rollout = attention_rollout(attns)  # (B, T, T)
    L, B, h = attns.shape[:3]
    layer = L if layer is None else layer

    def draw(image: int, layer: int, head):
        i = image - 1
        fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.9))
        axes[0].imshow(to_hwc(images[i]), interpolation="nearest")
        axes[0].set_title(titles[i] if titles else f"image {image}", fontsize=10)
        axes[0].axis("off")
        a = cls_attention(attns[:, i:i + 1], layer - 1, head if isinstance(head, str) else head - 1)[0]
        attention_overlay(images[i], a, ax=axes[1], title=f"[CLS] attention\nlayer {layer}, head {head}")
        attention_overlay(images[i], rollout_maps(rollout[i:i + 1])[0], ax=axes[2], title="rollout\n(all layers)")
        plt.tight_layout()

    return interactive_plot(
        draw,
        image=widgets.IntSlider(value=image, min=1, max=B, description="image"),
        layer=widgets.IntSlider(value=layer, min=1, max=L, description="layer"),
        head=widgets.Dropdown(options=["mean", "max", *range(1, h + 1)], value=head, description="head"),
    )


__all__ = [
    "attention_explorer", "cls_attention", "mean_attention_distance", "plot_embedding_filters",
    "plot_layer_head_grid", "plot_pos_embed_similarity", "plot_rollout_row", "rollout_maps",
]
