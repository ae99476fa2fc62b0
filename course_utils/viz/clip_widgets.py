"""Widgets of notebook 24.4 (CLIP): temperature slider, prompt search, embedding explorer.

Each is a ``draw`` function plus ``interactive_plot``, so the executed notebook keeps a static figure.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data import COLORS
from .plots import to_hwc
from .style import MAX_WIDTH, world_color
from .widgets import interactive_plot


def softmax_row(cos: torch.Tensor, tau: float) -> torch.Tensor:
    """p_j = softmax_j(c_j / τ) of one row of cosine similarities."""
    return torch.softmax(cos / tau, dim=-1)


def row_loss(cos: torch.Tensor, positive: int, tau: float) -> tuple[float, float]:
    """ℓ = −log p_pos and the norm of ∂ℓ/∂c = (p − onehot)/τ for one row of cosines."""
    log_p = torch.log_softmax(cos.double() / tau, dim=-1)  # in log space: exact when p_pos underflows
    onehot = torch.zeros_like(log_p)
    onehot[positive] = 1.0
    return -log_p[positive].item(), ((log_p.exp() - onehot) / tau).norm().item()


def _temperature_curves(cos: torch.Tensor, positive: int, taus: np.ndarray) -> np.ndarray:
    """(len(taus), 2): the row loss and its gradient norm at each τ."""
    return np.array([row_loss(cos, positive, t) for t in taus])


def hinge(cos: torch.Tensor, positive: int) -> float:
    """max(0, max_{j≠i} c_ij − c_ii): the margin by which the closest negative beats the positive, eq. (24.4.5)."""
    others = torch.cat([cos[:positive], cos[positive + 1:]])
    return max(0.0, (others.max() - cos[positive]).item())


def draw_temperature(cos: torch.Tensor, positive: int, log10_tau: float, labels: Sequence[str] | None = None,
                     contrast: tuple[torch.Tensor, int] | None = None):
    """One row of InfoNCE against τ = 10^log10_tau. Left: its softmax (positive in orange). Middle: its loss, the
    τ → 0 asymptote hinge/τ and the τ → ∞ limit log N. Right: the gradient norm |∂ℓ/∂c|. ``contrast`` = (cos, positive)
    of a second row drawn dashed in the middle and right panels (e.g. one whose own caption is the closest)."""
    tau = 10.0**log10_tau
    p = softmax_row(cos, tau).numpy()
    n = len(p)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(10, 3.4))
    ax1.bar(range(n), p, color=["C1" if j == positive else "C0" for j in range(n)])
    ax1.set(ylim=(0, 1.02), xlabel="caption j (orange: own caption)", ylabel="p_j = softmax(c_j / tau)")
    loss, grad = row_loss(cos, positive, tau)
    ax1.set_title(f"tau = {tau:.3g}: loss {loss:.2f}, |grad| {grad:.2g}", fontsize=10)
    if labels is not None and n <= 16:
        ax1.set_xticks(range(n), labels, rotation=90, fontsize=10)
    taus = np.logspace(-3, 2, 121)
    rows = [(cos, positive, "-", "this row")] + ([(*contrast, "--", "own caption closest")] if contrast else [])
    for c, pos, ls, name in rows:
        vals = _temperature_curves(c, pos, taus)
        ax2.plot(taus, vals[:, 0], color="C0", ls=ls, label=f"loss, {name}")
        ax3.plot(taus, vals[:, 1], color="C2", ls=ls, label=name)
    h = hinge(cos, positive)
    if h > 0:
        ax2.plot(taus, h / taus, color="C3", lw=1, ls=":", label="hinge / tau")
    ax2.axhline(math.log(n), color="gray", ls=":", lw=1, label="log N")
    for ax in (ax2, ax3):
        ax.axvline(tau, color="C1", lw=1)
        ax.set(xscale="log", xlabel="temperature tau")
        ax.legend(frameon=False, fontsize=10, loc="upper right")
    ax2.set(ylim=(0, max(3 * math.log(n), 1.0)), ylabel="row loss (nats)", title="loss vs tau")
    ax3.set(yscale="log", ylim=(1e-4, 1e4), ylabel="|dL/dc|", title="gradient norm vs tau")
    plt.tight_layout()
    return fig


def temperature_widget(cos: torch.Tensor, positive: int, labels: Sequence[str] | None = None,
                       log10_tau: float = math.log10(0.07), contrast: tuple[torch.Tensor, int] | None = None):
    """Slider over log10 τ for one row of cosine similarities ``cos`` (N,) whose own caption is ``positive``."""
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=log10_tau, min=-3.0, max=2.0, step=0.05, description="log10 tau",
                                 continuous_update=False)
    return interactive_plot(lambda log10_tau: draw_temperature(cos, positive, log10_tau, labels, contrast),
                            log10_tau=slider)


def draw_search(prompt: str, encode_text: Callable[[list[str]], torch.Tensor], z_img: torch.Tensor,
                images: torch.Tensor, k: int = 8, unknown: Callable[[str], list[str]] | None = None):
    """The k gallery images closest to the prompt (cosine similarity in the title of each)."""
    fig, axes = plt.subplots(1, k, figsize=(min(1.25 * k, MAX_WIDTH), 1.9))
    for ax in axes:
        ax.axis("off")
    if not prompt.strip():
        fig.suptitle("type a caption (English or Chinese)", fontsize=10)
        return fig
    z = encode_text([prompt])[0]  # (d,)
    sim = z_img @ z  # (G,)
    top = sim.topk(k)
    for ax, s, i in zip(axes, top.values.tolist(), top.indices.tolist()):
        ax.imshow(to_hwc(images[i]), interpolation="nearest")
        ax.set_title(f"{s:.2f}", fontsize=10)
    missing = unknown(prompt) if unknown else []
    note = f" (unknown words: {', '.join(missing)})" if missing else ""
    fig.suptitle(f"best matches for the prompt{note}", fontsize=10)
    plt.tight_layout()
    return fig


def prompt_search_widget(encode_text, z_img: torch.Tensor, images: torch.Tensor, prompt: str = "a large red circle.",
                         k: int = 8, unknown=None):
    """A text box: type a prompt, see the k best-matching gallery images."""
    import ipywidgets as widgets

    box = widgets.Text(value=prompt, description="prompt", continuous_update=False,
                       layout=widgets.Layout(width="420px"))
    return interactive_plot(lambda prompt: draw_search(prompt, encode_text, z_img, images, k, unknown), prompt=box)


class EmbeddingExplorer:
    """2-D projections (PCA / t-SNE) of image and text features together, computed once per method."""

    def __init__(self, z_img: torch.Tensor, z_txt: torch.Tensor, attributes: dict[str, Sequence[str]], seed: int = 0):
        if z_img.shape != z_txt.shape:
            raise ValueError(f"z_img {tuple(z_img.shape)} and z_txt {tuple(z_txt.shape)} must be matched pairs")
        for name, values in attributes.items():
            if len(values) != len(z_img):
                raise ValueError(f"attribute {name!r} has {len(values)} values for {len(z_img)} pairs")
        self.points = torch.cat([z_img, z_txt]).numpy()  # (2n, d): images first, then their captions
        self.n = len(z_img)
        self.attributes = attributes
        self.seed = seed
        self._cache: dict[str, np.ndarray] = {}

    def project(self, method: str) -> np.ndarray:
        if method not in self._cache:
            if method == "PCA":
                from sklearn.decomposition import PCA

                self._cache[method] = PCA(2, random_state=self.seed).fit_transform(self.points)
            elif method == "t-SNE":
                from sklearn.manifold import TSNE

                perplexity = min(30.0, (len(self.points) - 1) / 3)
                self._cache[method] = TSNE(2, perplexity=perplexity, init="pca", random_state=self.seed,
                                           metric="cosine").fit_transform(self.points)
            else:
                raise ValueError(f"unknown projection {method!r}; use 'PCA' or 't-SNE'")
        return self._cache[method]

    def draw(self, method: str, color_by: str, join_pairs: bool):
        """Images as dots, their captions as crosses, colored by an attribute (the world's colors in their own)."""
        p = self.project(method)
        values = list(self.attributes[color_by])
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        if join_pairs:
            for i in range(self.n):
                ax.plot(p[[i, i + self.n], 0], p[[i, i + self.n], 1], color="gray", lw=0.4, alpha=0.5)
        for k, value in enumerate(dict.fromkeys(values)):
            color = world_color(value) if value in COLORS else f"C{k % 10}"
            sel = np.array([v == value for v in values])
            ax.scatter(p[: self.n][sel, 0], p[: self.n][sel, 1], s=16, marker="o", color=color, label=str(value))
            ax.scatter(p[self.n:][sel, 0], p[self.n:][sel, 1], s=22, marker="x", color=color)
        ax.legend(frameon=False, fontsize=10, loc="best")
        ax.set(xticks=[], yticks=[])
        ax.set_title(f"{method}: images (o) and captions (x), colored by {color_by}", fontsize=10)
        plt.tight_layout()
        return fig

    def widget(self, method: str = "PCA", color_by: str | None = None, join_pairs: bool = True):
        import ipywidgets as widgets

        color_by = color_by or next(iter(self.attributes))
        return interactive_plot(
            self.draw,
            method=widgets.Dropdown(options=["PCA", "t-SNE"], value=method, description="projection"),
            color_by=widgets.Dropdown(options=list(self.attributes), value=color_by, description="color by"),
            join_pairs=widgets.Checkbox(value=join_pairs, description="join matched pairs"),
        )
