"""Checkers of notebook 24.6's exercises (multimodal fusion). Each runs in well under a second."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.6.1


@checker("24.6.1", "cross-attention softmax(QK^T / sqrt(d)) V with a key padding mask")
def check_cross_attention(fn) -> str:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, t, 8, generator=g) for t in (3, 5, 5))           # Tq = 3 queries, Tk = 5 keys
    got = call(fn, q, k, v)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Wrong(f"cross_attention returned {type(got).__name__}, expected a tuple (out, weights)",
                    "return out, weights")
    out, w = got
    if tuple(w.shape) != (2, 3, 5):
        raise Wrong(f"the weights have shape {tuple(w.shape)}, expected (B, Tq, Tk) = (2, 3, 5)",
                    "one row per query, one column per key: q @ k.transpose(-2, -1)")
    if not torch.allclose(w.sum(-1), torch.ones(2, 3), atol=1e-5):
        raise Wrong("the rows of the weights do not sum to 1",
                    "the softmax runs over the keys, the last axis of the (B, Tq, Tk) scores")
    scores = q @ k.transpose(-2, -1)
    if torch.allclose(w, scores.softmax(-1), atol=1e-5):
        raise Wrong("the scores are not scaled: softmax(QK^T) saturates as d grows",
                    "divide the scores by sqrt(d), d = q.size(-1)")
    if torch.allclose(w, (scores / 8).softmax(-1), atol=1e-5):
        raise Wrong("the scores are divided by d, not by sqrt(d)", "the dot product has variance d: divide by d ** 0.5")
    close(w, (scores / 8 ** 0.5).softmax(-1), "the attention weights", tol=1e-5,
          hint="weights = softmax(q @ k^T / sqrt(d)) over the keys")
    close(out, F.scaled_dot_product_attention(q, k, v), "the output", tol=1e-5, hint="out = weights @ v")
    pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    out, w = call(fn, q, k, v, pad)
    if w[1, :, 3:].abs().max() > 1e-6:
        raise Wrong("padded keys still receive attention", "set their scores to -inf before the softmax")
    close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=~pad[:, None, :]), "the output with padding",
          tol=1e-5, hint="mask the scores of padded keys with -inf, then softmax over the keys")
    return "matches F.scaled_dot_product_attention, with and without padded keys"


# ----------------------------------------------------------------------------------------------- 24.6.2


@checker("24.6.2", "the full bilinear tensor W_k = sum_j P_jk u_j v_j^T of a low-rank bilinear layer")
def check_full_bilinear(fn) -> str:
    g = torch.Generator().manual_seed(1)
    d_x, d_y, d_out, r = 4, 3, 2, 5
    U, V, P = torch.randn(d_x, r, generator=g), torch.randn(d_y, r, generator=g), torch.randn(r, d_out, generator=g)
    W = call(fn, U, V, P)
    if not torch.is_tensor(W):
        raise Wrong(f"full_bilinear returned {type(W).__name__}, expected a tensor (d_out, d_x, d_y)")
    if tuple(W.shape) == (d_out, d_y, d_x):
        raise Wrong("W has the shape (d_out, d_y, d_x): x and y are exchanged", "z_k = x^T W_k y, so W_k is (d_x, d_y)")
    if tuple(W.shape) != (d_out, d_x, d_y):
        raise Wrong(f"W has shape {tuple(W.shape)}, expected (d_out, d_x, d_y) = {(d_out, d_x, d_y)}")
    x, y = torch.randn(6, d_x, generator=g), torch.randn(6, d_y, generator=g)
    expected = ((x @ U) * (y @ V)) @ P                                               # eq. (24.6.3), sigma = identity
    got = torch.einsum("bx,kxy,by->bk", x, W, y)
    if torch.allclose(got, ((x @ U) * (y @ V)).sum(1, keepdim=True).expand(-1, d_out), atol=1e-4):
        raise Wrong("every output is the same: P is missing", "W_k = sum_j P[j, k] * outer(U[:, j], V[:, j])")
    close(got, expected, "x^T W_k y", tol=1e-4, hint="W[k] = sum over j of P[j, k] * outer(U[:, j], V[:, j])")
    return (f"x^T W_k y equals the low-rank layer; at d = 32, r = 64 the full tensor has {32 ** 3:,} weights, "
            f"the low-rank one {64 * 96:,}")


# ----------------------------------------------------------------------------------------------- 24.6.3


@checker("24.6.3", "product of experts with a non-uniform prior, eq. (24.6.6)")
def check_poe(fn) -> str:
    from ..nn.fusion import product_of_experts

    g = torch.Generator().manual_seed(2)
    logits = [torch.randn(4, 3, generator=g) for _ in range(3)]                      # M = 3 experts
    log_prior = torch.tensor([0.6, 0.3, 0.1]).log()
    got = call(fn, logits, log_prior)
    if not torch.is_tensor(got) or tuple(got.shape) != (4, 3):
        raise Wrong(f"poe returned {getattr(got, 'shape', type(got).__name__)}, expected log-probabilities (B, K) "
                    "= (4, 3)")
    if not torch.allclose(got.exp().sum(-1), torch.ones(4), atol=1e-5):
        raise Wrong("exp(output) does not sum to 1 over the answers", "normalize at the end: log_softmax")
    no_prior = torch.stack([s.log_softmax(-1) for s in logits]).sum(0).log_softmax(-1)
    if torch.allclose(got, no_prior, atol=1e-5):
        raise Wrong("the prior is ignored: each expert's posterior already contains p(y) once",
                    "subtract (M - 1) * log p(y) before normalizing")
    once = (torch.stack([s.log_softmax(-1) for s in logits]).sum(0) - log_prior).log_softmax(-1)
    if torch.allclose(got, once, atol=1e-5):
        raise Wrong("the prior is divided out once, but M experts counted it M times and the posterior needs it once",
                    "subtract (M - 1) * log p(y), here 2 * log p(y)")
    avg = torch.stack(logits).mean(0).log_softmax(-1)
    if torch.allclose(got, avg, atol=1e-5):
        raise Wrong("this averages the logits (eq. 24.6.5), it does not multiply the experts' probabilities",
                    "sum the log_softmax of every expert")
    close(got, product_of_experts(logits, log_prior), "the log-posterior", tol=1e-5,
          hint="log_softmax( sum_m log_softmax(s_m) - (M - 1) log p(y) )")
    return "matches eq. (24.6.6): the prior is counted once, not M times"


# ----------------------------------------------------------------------------------------------- 24.6.4


@checker("24.6.4", "parameter counts of the four feature-fusion layers")
def check_fusion_parameters(fn) -> str:
    from ..nn.fusion import feature_fusion

    cases = [("concat", 32, 32, 32), ("sum", 32, 32, 32), ("bilinear", 32, 32, 32), ("film", 32, 32, 32),
             ("concat", 10, 7, 5), ("sum", 10, 7, 5), ("bilinear", 10, 7, 5), ("film", 10, 7, 10)]
    for kind, d_x, d_y, d_out in cases:
        got = call(fn, kind, d_x, d_y, d_out)
        expected = sum(p.numel() for p in feature_fusion(kind, d_x, d_y, d_out).parameters())
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, int):
            raise Wrong(f"fusion_parameters returned {type(got).__name__} for {kind}, expected an int")
        if got != expected:
            hints = {"concat": "one linear map from d_x + d_y to d_out, with a bias of d_out",
                     "sum": "two linear maps (d_x -> d_out and d_y -> d_out), each with its own bias",
                     "bilinear": "U (d_x, r) and V (d_y, r) without bias, P (r, d_out) with a bias",
                     "film": "two linear maps d_y -> d_x (gamma and beta), each with a bias"}
            raise Wrong(f"{kind} with d_x = {d_x}, d_y = {d_y}, d_out = {d_out}: you count {got}, the layer has "
                        f"{expected}", hints[kind])
    return "at d = 32: concat 2,080, sum 2,112 (one bias more), low-rank bilinear (r = 64) 6,176, FiLM 2,112"
