"""Checkers of notebook 24.3's exercises (vision-language model families). Each runs in well under a second."""
from __future__ import annotations

import math

import torch

from ..metrics import recall_at_k
from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.3.1


@checker("24.3.1", "Flamingo's tanh-gated residual: y = x + tanh(α) · f(x), the identity at α = 0")
def check_gated_residual(fn) -> str:
    g = torch.Generator().manual_seed(31)
    x, fx = torch.randn(2, 5, 8, generator=g), torch.randn(2, 5, 8, generator=g)
    at_zero = call(fn, x.clone(), fx.clone(), torch.tensor(0.0))
    if not torch.is_tensor(at_zero) or tuple(at_zero.shape) != tuple(x.shape):
        raise Wrong(f"the function should return a tensor shaped like x {tuple(x.shape)}",
                    "y = x + torch.tanh(alpha) * fx keeps the shape of x")
    if torch.allclose(at_zero.double(), (x + 0.5 * fx).double(), atol=1e-6):
        raise Wrong("at α = 0 the layer lets half of f(x) through: the gate is a sigmoid",
                    "σ(0) = 0.5; Flamingo uses tanh, and tanh(0) = 0 so the frozen LM is untouched at the start")
    if not torch.equal(at_zero, x):
        raise Wrong("at α = 0 the output is not exactly x",
                    "the gate multiplies only the new branch: y = x + tanh(α) · f(x), and tanh(0) = 0")
    alpha = torch.tensor(0.7)
    got = call(fn, x.clone(), fx.clone(), alpha)
    if torch.allclose(got, x + alpha * fx, atol=1e-5):
        raise Wrong("the gate is α itself, not tanh(α)", "tanh keeps the gate in (−1, 1) however large α grows")
    if torch.allclose(got, torch.tanh(alpha) * (x + fx), atol=1e-5):
        raise Wrong("the gate also scales the residual x", "only the new branch is gated: x + tanh(α) · f(x)")
    close(got, x + torch.tanh(alpha) * fx, "y at α = 0.7", tol=1e-5, hint="y = x + torch.tanh(alpha) * fx")
    return f"identity at α = 0; at α = 0.7 the branch passes with weight tanh(0.7) = {math.tanh(0.7):.3f}"


# ----------------------------------------------------------------------------------------------- 24.3.2


@checker("24.3.2", "Recall@K from a score matrix: the share of queries with a relevant item among their top K")
def check_recall(fn) -> str:
    scores = torch.tensor([[0.9, 0.1, 0.5, 0.3],   # query 0: best item 0 (relevant)
                           [0.2, 0.8, 0.7, 0.1],   # query 1: best 1 (not relevant), relevant 2 is second
                           [0.6, 0.5, 0.1, 0.9],   # query 2: relevant 1 is third, relevant 2 is last
                           [0.3, 0.2, 0.1, 0.4]])  # query 3: relevant 0 and 3: the top item is relevant
    relevant = torch.tensor([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]], dtype=torch.bool)
    want = {k: recall_at_k(scores, relevant, (k,))[f"R@{k}"] for k in (1, 2, 3)}
    got = {k: float(call(fn, scores.clone(), relevant.clone(), k)) for k in (1, 2, 3)}
    if abs(got[1] - recall_at_k(-scores, relevant, (1,))["R@1"]) < 1e-6 and abs(got[1] - want[1]) > 1e-6:
        raise Wrong("the ranking is ascending: the lowest score comes first",
                    "a higher score means a better match: sort with descending=True (or use topk)")
    diag = torch.eye(4, dtype=torch.bool)
    if abs(got[1] - recall_at_k(scores, diag, (1,))["R@1"]) < 1e-6 and abs(got[1] - want[1]) > 1e-6:
        raise Wrong("only the item with the query's own index counts as relevant",
                    "use the relevance matrix: any relevant item among the top K is a hit")
    top2 = scores.topk(2, dim=1).indices
    precision2 = relevant.gather(1, top2).float().mean().item()
    if abs(got[2] - precision2) < 1e-6 and abs(got[2] - want[2]) > 1e-6:
        raise Wrong("this counts the share of relevant items among the top K (precision@K)",
                    "Recall@K in retrieval asks whether *any* relevant item is among the top K: .any(dim=1)")
    for k in (1, 2, 3):
        close(got[k], want[k], f"R@{k}", tol=1e-6,
              hint="order = scores.argsort(1, descending=True); hits = relevant.gather(1, order)[:, :K].any(1)")
    return f"R@1, R@2, R@3 = {want[1]:.2f}, {want[2]:.2f}, {want[3]:.2f} on the 4 × 4 example"


# ----------------------------------------------------------------------------------------------- 24.3.3


@checker("24.3.3", "the crossover: the gallery size above which a fusion encoder costs more per query than a dual "
                   "encoder with a rerank of the top k")
def check_crossover(fn) -> str:
    cases = [(5e-4, 2e-3, 1e-7, 10), (1e-3, 5e-4, 2e-7, 1), (2e-4, 1e-3, 5e-8, 50)]
    for c_pair, c_txt, c_dot, k in cases:
        got = float(call(fn, c_pair, c_txt, c_dot, k))
        want = (c_txt + k * c_pair) / (c_pair - c_dot)
        if abs(got - (c_txt + k * c_pair) / c_pair) < 1e-6 * want and abs(got - want) > 1e-6 * want:
            raise Wrong("the dual encoder's N dot products are left out",
                        "its per-query cost also grows with N, only much more slowly: N · c_dot")
        if abs(got - c_txt / (c_pair - c_dot)) < 1e-6 * want:
            raise Wrong("the rerank's k pair passes are left out",
                        "the dual encoder + rerank costs c_txt + N · c_dot + k · c_pair per query")
        if abs(got - k * c_pair / (c_pair - c_dot)) < 1e-6 * want:
            raise Wrong("the query's text encoding c_txt is left out",
                        "each query is encoded once by the text tower: c_txt + N · c_dot + k · c_pair")
        close(got, want, f"the crossover for c_pair={c_pair:g}, c_txt={c_txt:g}, c_dot={c_dot:g}, k={k}",
              tol=1e-6 * want, hint="solve N · c_pair = c_txt + N · c_dot + k · c_pair for N")
    c_pair, c_txt, c_dot, k = cases[0]
    return (f"with 0.5 ms per pair, 2 ms per text, 0.1 µs per dot product and k = 10 the fusion encoder is dearer "
            f"from N ≈ {(c_txt + k * c_pair) / (c_pair - c_dot):.0f} images on")
