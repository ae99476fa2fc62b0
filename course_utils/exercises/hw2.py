"""Checkers of homework 2 (comparing the retrieval of vision-language models): rerank a shortlist, the median rank."""
from __future__ import annotations

import torch

from .core import Wrong, call, checker, close


def _case(q: int = 4, n: int = 30, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shortlist = torch.randn(q, n, generator=g)                     # (Q, N) dual-encoder scores
    fusion = torch.randn(q, n, generator=g) * 3                    # what the fusion encoder would say of every pair
    return shortlist, fusion


@checker("hw2.1", "retrieve then rerank: only the top k of each query are scored again, and they rank first")
def check_rerank(fn) -> str:
    shortlist, fusion = _case()
    q, n, k = *shortlist.shape, 5
    asked = []

    def score_pairs(top):                                           # top (Q, k) image indices -> (Q, k) new scores
        if not torch.is_tensor(top) or top.dim() != 2 or top.size(0) != q:
            raise Wrong(f"score_pairs got {getattr(top, 'shape', type(top).__name__)}, expected image indices "
                        f"(Q, k) = ({q}, {k})", "pass shortlist_scores.topk(k, dim=1).indices")
        asked.append(top.size(1))
        return fusion.gather(1, top)

    out = call(fn, shortlist.clone(), score_pairs, k)
    if sum(asked) > k:
        raise Wrong(f"score_pairs was asked about {sum(asked)} images per query, the shortlist has k = {k}",
                    "the point of retrieve-then-rerank is to pay the expensive fusion encoder for k images only")
    if not torch.is_tensor(out) or tuple(out.shape) != (q, n):
        raise Wrong(f"returned {getattr(out, 'shape', type(out).__name__)}, expected scores (Q, N) = ({q}, {n}) "
                    "for ranking every image", "keep the images outside the shortlist, below the shortlisted ones")
    top = shortlist.topk(k, dim=1).indices
    ranked = out.argsort(dim=1, descending=True)
    for i in range(q):
        first = set(ranked[i, :k].tolist())
        if first != set(top[i].tolist()):
            raise Wrong(f"query {i}: the first {k} places are not the {k} shortlisted images",
                        "an image outside the shortlist must never rank above a shortlisted one: put the new scores "
                        "above every old score")
        want_order = top[i][fusion[i, top[i]].argsort(descending=True)]
        if not torch.equal(ranked[i, :k], want_order):
            if torch.equal(ranked[i, :k], top[i][fusion[i, top[i]].argsort()]):
                raise Wrong("the shortlisted images are in ascending order of the new score",
                            "a higher ITM score means a better match: sort descending")
            raise Wrong(f"query {i}: the shortlisted images are not in the order of the fusion encoder's scores",
                        "rank the k shortlisted images by score_pairs' scores")
        rest = [j for j in shortlist[i].argsort(descending=True).tolist() if j not in first]
        if ranked[i, k:].tolist() != rest:
            raise Wrong(f"query {i}: the images after the shortlist are not in the shortlist scores' order",
                        "below the shortlist, keep the dual encoder's order")
    return f"the top {k} of {n} rescored and ranked first; the other {n - k} keep the dual encoder's order"


@checker("hw2.2", "the median rank (MedR): the median over queries of the 1-based rank of the first relevant image")
def check_median_rank(fn) -> str:
    scores = torch.tensor([[0.9, 0.1, 0.5, 0.3],    # query 0: relevant image 2 ranks 2nd
                           [0.2, 0.8, 0.7, 0.1],    # query 1: relevant images 0 and 2: image 2 ranks 2nd
                           [0.4, 0.3, 0.2, 0.6],    # query 2: relevant image 3 ranks 1st
                           [0.1, 0.2, 0.3, 0.4],    # query 3: relevant image 0 ranks 4th
                           [0.5, 0.6, 0.7, 0.8]])   # query 4: relevant images 1 and 0: image 1 ranks 3rd
    relevant = torch.tensor([[0, 0, 1, 0], [1, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    got = call(fn, scores.clone(), relevant.clone())
    try:
        got = float(got)
    except (TypeError, ValueError):
        raise Wrong(f"returned {type(got).__name__}, expected one number") from None
    if abs(got - 1.0) < 1e-6:
        raise Wrong("MedR = 1.0: the ranks start at 0", "rank 1 is the best: add 1 to the 0-based position")
    if abs(got - 3.0) < 1e-6:
        raise Wrong("MedR = 3.0: a query with several relevant images counts its worst one",
                    "take the rank of the FIRST relevant image in the ranking (the best-ranked one)")
    if abs(got - 2.4) < 1e-6:
        raise Wrong("2.4 is the mean rank, not the median", "torch.median of the five ranks (2, 2, 1, 4, 3)")
    close(got, 2.0, "MedR", tol=1e-6, hint="ranks of the first relevant image: 2, 2, 1, 4, 3 → median 2")
    return "MedR = 2 (ranks 2, 2, 1, 4, 3)"
