"""Notebook 24.3's retrieval comparison: a dual encoder (``clip_world``), a fusion encoder (``vilt_world``'s ITM
score) and retrieve-then-rerank, text -> image on galleries of 10² … 10⁴ unseen one-object scenes; and the
block diagrams of the five families. Private to notebook 24.3.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..data import clip_batches as B
from ..data.language import caption
from ..data.rendering import render_batch
from ..data.splits import sample_split_scenes
from ..train import predict

POOL_SEED = 24_030


@dataclass
class Gallery:
    """The first n images of one fixed pool of unseen scenes, and text queries: the captions of its first images."""

    images: torch.Tensor  # (N, 3, 32, 32)
    scenes: list
    queries: list[str]  # Q captions, query q describes image q (and possibly others)
    relevant: torch.Tensor  # (Q, N) bool: query q is true of image j
    same_object: torch.Tensor  # (Q, N) bool: image j shows an object of the same color and shape as image q

    def __len__(self) -> int:
        return len(self.images)


@lru_cache(maxsize=1)
def _pool(n: int, seed: int):
    scenes = sample_split_scenes(n, seed, "test", n_objects=1)
    rng = np.random.default_rng(seed)
    langs = rng.integers(2, size=n)
    captions = [caption(s, B.LANGS[int(k)], rng) for s, k in zip(scenes, langs)]
    return scenes, render_batch(scenes, B.IMAGE_SIZE).rgb, captions


def gallery(n: int, n_queries: int, pool_size: int = 10_000, seed: int = POOL_SEED) -> Gallery:
    """A gallery of the pool's first n images with the captions of its first n_queries images as queries (random
    template and language). Galleries are nested: a larger one holds every image of a smaller one."""
    if not 1 <= n <= pool_size:
        raise ValueError(f"gallery size {n!r} must be between 1 and the pool size {pool_size}")
    if not 1 <= n_queries <= n:
        raise ValueError(f"n_queries {n_queries!r} must be between 1 and the gallery size {n}")
    scenes, images, captions = _pool(pool_size, seed)
    queries = captions[:n_queries]
    relevant = B.full_caption_truth(scenes[:n], queries).T.contiguous()  # (Q, N)
    what = [(s.objects[0].color, s.objects[0].shape) for s in scenes[:n]]
    same_object = torch.tensor([[what[j] == what[q] for j in range(n)] for q in range(n_queries)])
    return Gallery(images[:n], scenes[:n], queries, relevant, same_object)


# ----------------------------------------------------------------------------- the three ways to score


@torch.no_grad()
def embed_images(clip, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The dual encoder's gallery index: (N, 3, 32, 32) -> (N, d) L2-normalized, computed once for all queries."""
    clip.eval()
    return torch.cat([clip.encode_image(images[i:i + batch_size], normalize=True)
                      for i in range(0, len(images), batch_size)])


@torch.no_grad()
def dual_scores(clip, queries: list[str], index: torch.Tensor) -> torch.Tensor:
    """(Q, N) cosine similarities: one text encoding per query, then N dot products."""
    if not queries:
        raise ValueError("the query list is empty")
    clip.eval()
    z_txt = clip.encode_text(B.tokenize(list(queries)), normalize=True)  # (Q, d)
    return z_txt @ index.T  # (Q, N)


@torch.no_grad()
def fusion_scores(vilt, queries: list[str], images: torch.Tensor) -> torch.Tensor:
    """(Q, N) ITM log-odds: one full forward pass of the fusion encoder for every (query, image) pair."""
    if not queries:
        raise ValueError("the query list is empty")
    return vilt.pair_scores(images, B.tokenize(list(queries))).T  # (Q, N)


@torch.no_grad()
def rerank(vilt, queries: list[str], images: torch.Tensor, shortlist_scores: torch.Tensor, k: int) -> torch.Tensor:
    """Retrieve then rerank: the top ``k`` images of each query by ``shortlist_scores`` (Q, N) are scored again by
    the fusion encoder and placed above the rest in that order; returns (Q, N) scores for ranking."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the shortlist size k must be an integer >= 1, got {k!r}")
    if not queries or len(queries) != len(shortlist_scores):
        raise ValueError(f"{len(queries)} queries for {len(shortlist_scores)} rows of shortlist scores")
    k = min(int(k), shortlist_scores.size(1))
    top = shortlist_scores.topk(k, dim=1).indices  # (Q, k)
    tokens = B.tokenize(list(queries))  # (Q, T)
    pair_tokens = tokens.repeat_interleave(k, dim=0)  # (Q·k, T)
    itm = predict(vilt, images[top.reshape(-1)], pair_tokens, fn=vilt.match_score)  # (Q·k,) one pass per pair
    return _place_on_top(shortlist_scores, top, itm.reshape(top.shape))


def _place_on_top(scores: torch.Tensor, top: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Scores where the shortlisted items rank above every other item, in the order of their ``new`` scores."""
    out = scores - scores.max() - 1.0 - new.abs().max() * 2  # everything else below any shortlisted item
    return out.scatter(1, top, new)


def timed(fn, *args, repeat: int = 1):
    """(result of the last call, seconds per call)."""
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn(*args)
    return out, (time.perf_counter() - start) / repeat





# ----------------------------------------------------------------------------- block diagrams of the five families

FROZEN, TRAINED, DATA, LOSS = "#cfd8e3", "#f6c28b", "#ffffff", "#b7e1b0"
# name -> (boxes {key: (x, y, w, h, label, color)}, arrows [(from, to)]); coordinates in a 10 × 6 frame
DIAGRAMS = {
    "CLIP (2021)": (
        {"img": (0.2, 4.0, 2.0, 1.0, "image", DATA), "txt": (0.2, 1.0, 2.0, 1.0, "text", DATA),
         "ie": (3.0, 4.0, 2.6, 1.0, "image encoder", TRAINED), "te": (3.0, 1.0, 2.6, 1.0, "text encoder", TRAINED),
         "sim": (6.6, 2.5, 3.2, 1.0, "cosine sim.\nInfoNCE (ITC)", LOSS)},
        [("img", "ie"), ("txt", "te"), ("ie", "sim"), ("te", "sim")]),
    "ViLT (2021)": (
        {"img": (0.2, 4.0, 2.4, 1.0, "patches\n(linear, no CNN)", DATA), "txt": (0.2, 1.0, 2.4, 1.0, "word emb.", DATA),
         "tf": (3.4, 1.5, 2.8, 3.0, "one transformer\n[image; text]", TRAINED),
         "itm": (7.0, 3.6, 2.8, 1.0, "ITM head", LOSS), "mlm": (7.0, 1.4, 2.8, 1.0, "MLM head", LOSS)},
        [("img", "tf"), ("txt", "tf"), ("tf", "itm"), ("tf", "mlm")]),
    "BLIP (2022)": (
        {"img": (0.2, 2.5, 1.6, 1.0, "image", DATA), "ie": (2.2, 2.5, 2.0, 1.0, "ViT", TRAINED),
         "itc": (4.8, 4.5, 2.6, 1.0, "text encoder", TRAINED),
         "itm": (4.8, 2.5, 2.6, 1.0, "text enc. + x-attn", TRAINED),
         "lm": (4.8, 0.5, 2.6, 1.0, "text dec. + x-attn", TRAINED),
         "l1": (8.0, 4.5, 1.8, 1.0, "ITC", LOSS), "l2": (8.0, 2.5, 1.8, 1.0, "ITM", LOSS),
         "l3": (8.0, 0.5, 1.8, 1.0, "LM", LOSS)},
        [("img", "ie"), ("ie", "itc"), ("ie", "itm"), ("ie", "lm"), ("itc", "l1"), ("itm", "l2"), ("lm", "l3")]),
    "Flamingo (2022)": (
        {"img": (0.2, 4.4, 1.7, 1.0, "images", DATA), "ve": (2.3, 4.4, 2.1, 1.0, "vision enc.", FROZEN),
         "pr": (4.8, 4.4, 2.6, 1.0, "Perceiver\nResampler", TRAINED),
         "txt": (0.2, 1.1, 1.9, 1.2, "interleaved\ntext", DATA),
         "xa": (4.8, 0.4, 2.6, 2.6, "gated x-attn\ntanh(α), α = 0\nat the start", TRAINED),
         "lm": (7.9, 0.4, 1.9, 2.6, "LM block\n(× L)\n→ next\nword", FROZEN)},
        [("img", "ve"), ("ve", "pr"), ("pr", "xa"), ("txt", "xa"), ("xa", "lm")]),
    "GPT-4V (2023)": (
        {"img": (0.2, 4.0, 2.0, 1.0, "image(s)", DATA),
         "ve": (2.8, 4.0, 2.6, 1.0, "vision enc.\n(undisclosed)", TRAINED),
         "txt": (0.2, 1.0, 2.0, 1.0, "text, code", DATA),
         "llm": (6.0, 1.0, 3.8, 4.0, "very large\nlanguage model\n(details not\npublished)", TRAINED)},
        [("img", "ve"), ("ve", "llm"), ("txt", "llm")]),
}


def draw_family(ax, name: str) -> None:
    """One family's block diagram on ``ax``: data white, trained orange, frozen blue-gray, objectives green."""
    import matplotlib.patches as mpatches

    if name not in DIAGRAMS:
        raise ValueError(f"unknown family {name!r}; expected one of {list(DIAGRAMS)}")
    boxes, arrows = DIAGRAMS[name]
    for x, y, w, h, label, color in boxes.values():
        ax.add_patch(mpatches.FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=10)
    for a, b in arrows:
        xa, ya, wa, ha = boxes[a][:4]
        xb, yb, wb, hb = boxes[b][:4]
        if xb >= xa + wa - 0.01:  # target to the right: right edge -> left edge
            start, end = (xa + wa, ya + ha / 2), (xb, yb + hb / 2)
        else:  # target below: bottom edge -> top edge
            start, end = (xa + wa / 2, ya), (xb + wb / 2, yb + hb)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1.2, color="black"))
    ax.set(xlim=(0, 10), ylim=(0, 6), title=name)
    ax.axis("off")

__all__ = ["DIAGRAMS", "Gallery", "draw_family", "dual_scores", "embed_images", "fusion_scores", "gallery", "rerank",
           "timed"]
