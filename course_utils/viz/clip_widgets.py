"""Widgets of notebook 24_04 (CLIP): temperature slider, prompt search, embedding explorer.

Each is a ``draw`` function plus ``interactive_plot``, so the executed notebook keeps a static figure.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .plots import embedding_plot, to_hwc
from .widgets import interactive_plot


def softmax_row(cos: torch.Tensor, tau: float) -> torch.Tensor:
    """p_j = softmax_j(c_j / τ) of one row of cosine similarities."""
    return torch.softmax(cos / tau, dim=-1)


def row_loss(cos: torch.Tensor, positive: int, tau: float) -> tuple[float, float]:
    """ℓ = −log p_pos and the norm of ∂ℓ/∂c = (p − onehot)/τ for one row of cosines."""
    p = softmax_row(cos, tau)
    onehot = torch.zeros_like(p)
    onehot[positive] = 1.0
    return -math.log(max(p[positive].item(), 1e-45)), ((p - onehot) / tau).norm().item()


def draw_temperature(cos: torch.Tensor, positive: int, log10_tau: float, labels: Sequence[str] | None = None):
    """Left: one row's softmax at τ = 10^log10_tau (positive in orange). Right: the row loss and gradient vs τ."""
    tau = 10.0**log10_tau
    p = softmax_row(cos, tau).numpy()
    n = len(p)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    colors = ["C1" if j == positive else "C0" for j in range(n)]
    ax1.bar(range(n), p, color=colors)
    ax1.set_ylim(0, 1.02)
    ax1.set_xlabel("caption j (orange: the true caption)")
    ax1.set_ylabel("p_ij = softmax(c_ij / tau)")
    loss, grad = row_loss(cos, positive, tau)
    ax1.set_title(f"tau = {tau:.3g}: loss = {loss:.3f}, |dL/dc| = {grad:.3g}", fontsize=10)
    if labels is not None and n <= 16:
        ax1.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=10)
    taus = np.logspace(-3, 2, 120)
    vals = np.array([row_loss(cos, positive, t) for t in taus])
    ax2.plot(taus, vals[:, 0], color="C0", label="loss -log p_ii")
    ax2.axhline(math.log(n), color="gray", ls=":", lw=1, label="log N (uniform)")
    ax2.axvline(tau, color="C1", lw=1)
    ax2.set_xscale("log")
    ax2.set_xlabel("temperature tau")
    ax2.set_ylabel("loss")
    ax2.set_ylim(0, max(2 * math.log(n), 1.0))
    ax3 = ax2.twinx()
    ax3.plot(taus, vals[:, 1], color="C2", label="|dL/dc|")
    ax3.set_yscale("log")
    ax3.set_ylim(1e-4, max(10.0, float(vals[:, 1].max()) * 2))
    ax3.set_ylabel("|dL/dc|", color="C2")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=10, frameon=False, loc="upper left")
    ax2.set_title("one row of InfoNCE against tau", fontsize=10)
    plt.tight_layout()
    return fig


def temperature_widget(cos: torch.Tensor, positive: int, labels: Sequence[str] | None = None,
                       log10_tau: float = math.log10(0.07)):
    """Slider over log10 τ for one row of cosine similarities ``cos`` (N,) whose true caption is ``positive``."""
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=log10_tau, min=-3.0, max=2.0, step=0.05, description="log10 tau",
                                 continuous_update=False)
    return interactive_plot(lambda log10_tau: draw_temperature(cos, positive, log10_tau, labels), log10_tau=slider)


def draw_search(prompt: str, encode_text: Callable[[list[str]], torch.Tensor], z_img: torch.Tensor,
                images: torch.Tensor, k: int = 8, unknown: Callable[[str], list[str]] | None = None):
    """The k gallery images closest to the prompt (cosine similarity in the title of each)."""
    fig, axes = plt.subplots(1, k, figsize=(1.3 * k, 1.75))
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
        p = self.project(method)
        labels = list(self.attributes[color_by]) * 2
        markers = ["o"] * self.n + ["x"] * self.n
        pairs = [(i, i + self.n) for i in range(self.n)] if join_pairs else None
        fig, ax = plt.subplots(figsize=(6.2, 4.6))
        embedding_plot(p, labels=labels, markers=markers, pairs=pairs, ax=ax,
                       title=f"{method} of image (o) and text (x) features, colored by {color_by}")
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
