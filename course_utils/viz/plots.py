"""Static figures: image grids, scene views, attention overlays, similarity matrices, embedding projections.

Labels are in English: Chinese fonts are not on every machine.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data.scene import COLORS
from .style import world_color


def to_hwc(image) -> np.ndarray:
    """(C,H,W) or (H,W) tensor / array -> (H,W,C) or (H,W) numpy for imshow, clipped to [0, 1] for RGB."""
    x = image.detach().float().cpu().numpy() if torch.is_tensor(image) else np.asarray(image, dtype=np.float32)
    if x.ndim == 3 and x.shape[0] in (1, 3):
        x = x.transpose(1, 2, 0)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[..., 0]
    return np.clip(x, 0, 1) if x.ndim == 3 else x


def show_images(images, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 1.4, cmap=None,
                suptitle: str | None = None):
    """A grid of images ((N,C,H,W) tensor or a list), one optional title each."""
    images = list(images)
    if not images:
        raise ValueError("show_images got no images")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows * 1.1), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(to_hwc(img), cmap=cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    plt.tight_layout()
    return fig


def show_scene(rgb, depth=None, mask=None, title: str = "", scale: float = 2.2):
    """Image, depth map and instance mask of one scene side by side."""
    panels = [("image", to_hwc(rgb), None)]
    if depth is not None:
        panels.append(("depth", to_hwc(depth), "viridis"))
    if mask is not None:
        panels.append(("mask", to_hwc(mask), "tab10"))
    fig, axes = plt.subplots(1, len(panels), figsize=(scale * len(panels), scale * 1.1), squeeze=False)
    for ax, (name, img, cmap) in zip(axes[0], panels):
        ax.imshow(img, cmap=cmap, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    plt.tight_layout()
    return fig


def attention_overlay(image, attn, ax=None, alpha: float = 0.55, title: str = ""):
    """Draw an (h, w) attention map upsampled over an image."""
    img = to_hwc(image)
    a = attn.detach().float().cpu() if torch.is_tensor(attn) else torch.as_tensor(attn, dtype=torch.float32)
    a = torch.nn.functional.interpolate(a[None, None], size=img.shape[:2], mode="nearest")[0, 0].numpy()
    a = (a - a.min()) / (a.max() - a.min() + 1e-8)
    ax = ax or plt.gca()
    ax.imshow(img, cmap=None if img.ndim == 3 else "gray", interpolation="nearest")
    ax.imshow(a, cmap="inferno", alpha=alpha, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    return ax


def similarity_matrix(sim, xlabels=None, ylabels=None, ax=None, title: str = "similarity", cmap="viridis",
                      annotate: bool = False):
    """Heat map of an (N, M) similarity matrix with optional tick labels."""
    s = sim.detach().float().cpu().numpy() if torch.is_tensor(sim) else np.asarray(sim)
    ax = ax or plt.gca()
    im = ax.imshow(s, cmap=cmap)
    plt.colorbar(im, ax=ax, fraction=0.046)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), xlabels, rotation=90, fontsize=10)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), ylabels, fontsize=10)
    if annotate:
        for i in range(s.shape[0]):
            for j in range(s.shape[1]):
                ax.text(j, i, f"{s[i, j]:.2f}", ha="center", va="center", fontsize=10, color="w")
    ax.set_title(title, fontsize=10)
    return ax


def embedding_plot(points, labels=None, markers=None, pairs=None, ax=None, title: str = "", legend: bool = True):
    """2-D scatter of projected embeddings, colored by label, marker per group, optional lines joining pairs.

    Labels that are world colors ('red', 'yellow', ...) are drawn in that color (``style.world_color``)."""
    p = points.detach().cpu().numpy() if torch.is_tensor(points) else np.asarray(points)
    ax = ax or plt.gca()
    labels = np.asarray(labels) if labels is not None else np.zeros(len(p), dtype=int)
    markers = np.asarray(markers) if markers is not None else np.array(["o"] * len(p))
    if pairs is not None:
        for i, j in pairs:
            ax.plot([p[i, 0], p[j, 0]], [p[i, 1], p[j, 1]], color="gray", lw=0.4, alpha=0.5)
    uniq = list(dict.fromkeys(labels.tolist()))
    for k, lab in enumerate(uniq):
        for m in dict.fromkeys(markers.tolist()):
            sel = (labels == lab) & (markers == m)
            if sel.any():
                color = world_color(lab) if lab in COLORS else f"C{k % 10}"
                ax.scatter(p[sel, 0], p[sel, 1], s=14, marker=m, color=color, alpha=0.8,
                           label=str(lab) if m == markers[labels == lab][0] else None)
    if legend and len(uniq) <= 20:
        ax.legend(fontsize=10, frameon=False, markerscale=1.2)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
