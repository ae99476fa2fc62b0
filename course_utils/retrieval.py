"""Text -> image retrieval on galleries of unseen one-object scenes, three ways (notebook 24.3 and homework 2): a dual
encoder (``clip_world``: one embedding per image, computed once, then a dot product per pair), a fusion encoder
(``vilt_world``'s ITM score: one forward pass per (query, image) pair) and retrieve-then-rerank (BLIP: the dual
encoder's top k, scored again by the fusion encoder). Notebook 24.3 writes each way in a cell; this module is the same
code, shared with homework 2.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .data import clip_batches as B
from .data.language import caption
from .data.rendering import render_batch
from .data.splits import sample_split_scenes
from .train import predict

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
__all__ = ["POOL_SEED", "Gallery", "dual_scores", "embed_images", "fusion_scores", "gallery", "rerank", "timed"]
