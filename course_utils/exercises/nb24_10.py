"""Checkers of notebook 24.10's exercises (image captioning). Each runs in well under a second."""
from __future__ import annotations

import math
from collections import Counter

import torch

from ..metrics import ngram_counts
from ..nn.captioner import SoftAttention
from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.10.1


def _same(x, y) -> bool:
    return torch.is_tensor(x) and x.shape == y.shape and torch.allclose(x.double(), y.double(), atol=1e-5)


@checker("24.10.1", "Show, Attend and Tell's soft attention: z = Σ_i α_i a_i, α = softmax_i(w^T tanh(W_a a_i + W_h h))")
def check_soft_attention(fn) -> str:
    g = torch.Generator().manual_seed(10)
    B, L, D, H, A = 3, 5, 4, 6, 7  # all different, so a wrong axis shows in the shapes or the sums
    a, h = torch.randn(B, L, D, generator=g), torch.randn(B, H, generator=g)
    W_a, W_h, w = torch.randn(A, D, generator=g), torch.randn(A, H, generator=g), torch.randn(A, generator=g)
    got = call(fn, a.clone(), h.clone(), W_a.clone(), W_h.clone(), w.clone())
    if not isinstance(got, (tuple, list)) or len(got) != 2 or not all(torch.is_tensor(x) for x in got):
        raise Wrong(f"soft_attention returned {type(got).__name__}, expected a pair of tensors (z, alpha)",
                    "return z, alpha")
    z, alpha = got
    if tuple(alpha.shape) == (B, L, 1):
        raise Wrong(f"alpha has shape {(B, L, 1)}, expected (B, L) = {(B, L)}",
                    "squeeze the last axis of the scores e (B, L, 1) before the softmax")
    if tuple(alpha.shape) != (B, L):
        raise Wrong(f"alpha has shape {tuple(alpha.shape)}, expected (B, L) = {(B, L)}",
                    "one weight per image cell: e_i = w^T tanh(W_a a_i + W_h h) is a number for each of the L cells")
    if tuple(z.shape) != (B, D):
        raise Wrong(f"z has shape {tuple(z.shape)}, expected (B, D) = {(B, D)}",
                    "z is a weighted sum of the L feature vectors a_i: sum over the cells (dim=1)")

    att = SoftAttention(D, H, A)  # the package's module with the given weights and zero biases
    with torch.no_grad():
        for layer, weight in ((att.W_a, W_a), (att.W_h, W_h), (att.w, w[None])):
            layer.weight.copy_(weight)
            layer.bias.zero_()
        want_z, want_alpha = att(a, att.W_a(a), h)
    pre = a @ W_a.T + (h @ W_h.T)[:, None]  # (B, L, A): W_a a_i + W_h h
    e = torch.tanh(pre) @ w  # (B, L)
    alpha = alpha.detach()
    if torch.allclose(alpha, torch.ones_like(alpha)):
        raise Wrong("every alpha is 1: the softmax ran over an axis of size 1",
                    "e of shape (B, L, 1) softmaxed over dim=-1 gives 1 everywhere: squeeze it to (B, L), then "
                    "softmax over the cells (dim=1)")
    if _same(alpha, e.softmax(0)):
        raise Wrong("alpha sums to 1 over the batch, not over the cells",
                    "each image attends over its own L cells: softmax over dim=1 (or -1) of e (B, L), not dim=0")
    if _same(alpha, e.exp()) or _same(alpha, e):
        raise Wrong("alpha is not normalized: its rows do not sum to 1",
                    "alpha = softmax(e) = exp(e_i) / Σ_j exp(e_j); e.softmax(dim=1) does both steps")
    if _same(alpha, (pre @ w).softmax(1)):
        raise Wrong("the tanh is missing", "e_i = w^T tanh(W_a a_i + W_h h): without the nonlinearity the "
                    "scores are linear in a_i and h, and the h-term cancels in the softmax")
    if not torch.allclose(alpha.sum(1), torch.ones(B), atol=1e-4):
        raise Wrong(f"the rows of alpha sum to {[round(s, 3) for s in alpha.sum(1).tolist()]}, not 1",
                    "alpha is a distribution over the L cells of each image: softmax over dim=1")
    close(alpha, want_alpha, "alpha", tol=1e-4, hint="e = tanh(a @ W_a.T + (h @ W_h.T)[:, None]) @ w, then "
          "softmax over the cells")
    if _same(z.detach(), a.mean(1)):
        raise Wrong("z is the plain mean of the features: alpha is ignored",
                    "the point of attention: z = Σ_i alpha_i a_i, (alpha[..., None] * a).sum(1)")
    close(z, want_z, "z", tol=1e-4, hint="z = Σ_i alpha_i a_i: (alpha[..., None] * a).sum(1)")
    return "alpha sums to 1 over the L cells of each image, z = Σ_i alpha_i a_i (= course_utils SoftAttention)"


# ----------------------------------------------------------------------------------------------- 24.10.2

_REF = "the cat is on the mat".split()
_REF2 = "there is a cat on the mat".split()
# (candidate, references, n): the repeated "the" is where clipping matters
_PRECISION_CASES = [
    ("the the the the".split(), [_REF], 1),  # 2 / 4
    ("the the the the the the the".split(), [_REF, _REF2], 1),  # 2 / 7 (Papineni et al.'s example)
    ("the cat the cat on the mat".split(), [_REF, _REF2], 1),  # 5 / 7: "the" clipped at 2, "cat" at 1
    ("the cat the cat on the mat".split(), [_REF, _REF2], 2),  # 4 / 6
    ("a cat sat on the mat".split(), [_REF, _REF2], 2),  # 2 / 5
    ("a cat sat on the mat".split(), [_REF], 3),  # 1 / 4
]


def _grams(words: list[str], n: int) -> Counter:
    """Counts of the n-grams only (ngram_counts gives every order up to n)."""
    return Counter({g: k for g, k in ngram_counts(words, n).items() if len(g) == n})


def _precision_variants(cand, refs, n) -> dict[str, set[float]]:
    """The value each formula gives on one case: the right one and the typical slips."""
    c, rs = _grams(cand, n), [_grams(r, n) for r in refs]
    max_ref, sum_ref = Counter(), Counter()
    for r in rs:
        max_ref |= r  # element-wise max
        sum_ref += r
    total = sum(c.values())
    clipped = sum(min(k, max_ref[g]) for g, k in c.items())
    unique_hits = sum(1 for g in c if max_ref[g])
    return {
        "right": {clipped / total},
        "no clipping": {sum(k for g, k in c.items() if max_ref[g]) / total},
        "sum clipping": {sum(min(k, sum_ref[g]) for g, k in c.items()) / total},
        "recall": {clipped / sum(r.values()) for r in rs if r} | {clipped / sum(sum_ref.values())},
        "unique": {unique_hits / len(c), unique_hits / total},
    }


_PRECISION_WRONG = {
    "no clipping": ("the matches are not clipped: a repeated word counts every time it appears",
                    "clip each n-gram's count at the most times it occurs in any one reference: 'the the the the' "
                    "against 'the cat is on the mat' scores 2/4, not 4/4"),
    "sum clipping": ("the clip is the count summed over the references",
                     "clip at the largest count in any ONE reference (max over references), else two references "
                     "with one 'the' each would let the candidate say 'the' twice"),
    "recall": ("the denominator is the reference's n-gram count",
               "precision divides by the candidate's n-grams: Σ_g min(count_c(g), max_r count_r(g)) / Σ_g "
               "count_c(g); BLEU handles short candidates with the brevity penalty instead"),
    "unique": ("each distinct n-gram is counted once",
               "count every occurrence (a Counter of the n-grams, not a set): the candidate's repeats are exactly "
               "what clipping is about"),
}


@checker("24.10.2", "BLEU's modified (clipped) n-gram precision of one candidate sentence")
def check_clipped_precision(fn) -> str:
    got = []
    for cand, refs, n in _PRECISION_CASES:
        value = call(fn, list(cand), [list(r) for r in refs], n)
        try:
            got.append(float(value))
        except (TypeError, ValueError):
            raise Wrong(f"clipped_precision returned {type(value).__name__}, expected a number") from None
    variants = [_precision_variants(*case) for case in _PRECISION_CASES]

    def matches(name: str) -> bool:
        return all(any(abs(x - v) < 1e-6 for v in var[name]) for x, var in zip(got, variants))

    if not matches("right"):
        for name, (what, hint) in _PRECISION_WRONG.items():
            if matches(name):
                raise Wrong(what, hint)
        for x, var, (cand, refs, n) in zip(got, variants, _PRECISION_CASES):
            want = next(iter(var["right"]))
            if abs(x - want) >= 1e-6:
                raise Wrong(f"n = {n}, candidate {' '.join(cand)!r}, references {[' '.join(r) for r in refs]}: got "
                            f"{x:.4g}, expected {want:.4g}",
                            "Σ_g min(count_c(g), max_r count_r(g)) / Σ_g count_c(g) over the n-grams of order n only")
    try:
        empty = call(fn, ["cat"], [list(_REF)], 2)
    except Wrong as w:
        if "ZeroDivisionError" in w.what:
            raise Wrong("a candidate shorter than n raised ZeroDivisionError",
                        "it has no n-grams: return 0.0 before dividing") from None
        raise
    if abs(float(empty)) > 1e-9:
        raise Wrong(f"a one-word candidate has no bigrams and should score 0.0, got {float(empty):.4g}")
    return "'the the the the' scores 2/4: each n-gram clipped at its largest count in one reference"


# ----------------------------------------------------------------------------------------------- 24.10.3


@checker("24.10.3", "BLEU's brevity penalty BP = 1 if c > r else exp(1 − r/c)")
def check_brevity_penalty(fn) -> str:
    short, long_, equal = [(4, 5), (2, 7), (9, 12)], [(6, 5), (20, 7)], [(5, 5)]
    got = {(c, r): call(fn, c, r) for c, r in short + long_ + equal}
    for (c, r), value in got.items():
        try:
            got[c, r] = float(value)
        except (TypeError, ValueError):
            raise Wrong(f"brevity_penalty({c}, {r}) returned {type(value).__name__}, expected a number") from None
    if all(abs(got[k] - 1) < 1e-9 for k in short):
        raise Wrong(f"a candidate of {short[0][0]} words against a reference of {short[0][1]} gets BP = 1",
                    "short candidates must pay: without BP, a one-word caption that is surely right ('the') has "
                    "precision 1. BP = exp(1 − r/c) when c ≤ r")
    if all(abs(got[c, r] - math.exp(1 - c / r)) < 1e-6 for c, r in short):
        raise Wrong(f"BP({short[0][0]}, {short[0][1]}) = {got[short[0]]:.4g} > 1: the ratio is upside down",
                    "exp(1 − r/c): r/c > 1 for a short candidate, so the exponent is negative and BP < 1")
    for c, r in long_:
        if abs(got[c, r] - 1) > 1e-6:
            raise Wrong(f"a candidate longer than the reference (c = {c}, r = {r}) gets BP = {got[c, r]:.4g}",
                        "BLEU does not penalize long candidates with BP (BP = 1 when c > r): their extra words "
                        "already lower the clipped precision")
    for c, r in short + equal:
        close(got[c, r], math.exp(1 - r / c), f"BP(c={c}, r={r})", tol=1e-6, hint="exp(1 − r/c) when c ≤ r")
    try:
        zero = float(call(fn, 0, 5))
    except Wrong as w:
        if "ZeroDivisionError" in w.what:
            raise Wrong("an empty candidate (c = 0) raised ZeroDivisionError",
                        "exp(1 − r/c) tends to 0 as c → 0: return 0.0 for c == 0") from None
        raise
    close(zero, 0.0, "BP(c=0, r=5)", tol=1e-9, hint="an empty candidate gets nothing: BP = 0")
    return f"BP = 1 for c ≥ r, exp(1 − r/c) below it, e.g. BP(4, 5) = {math.exp(1 - 5 / 4):.4f}, and 0 for c = 0"


# ----------------------------------------------------------------------------------------------- 24.10.4


@checker("24.10.4", "the doubly stochastic regulariser Σ_i (τ − Σ_t α_ti)² of one caption")
def check_doubly_stochastic(fn) -> str:
    g = torch.Generator().manual_seed(4)
    results = []
    for T, L in ((6, 4), (3, 5)):  # T words, L cells, τ = T / L as Captioner.loss uses
        alpha = (torch.randn(T, L, generator=g) * 2).softmax(-1)  # (T, L): each word's attention sums to 1
        tau = T / L
        got = call(fn, alpha.clone(), tau)
        if not (isinstance(got, (int, float)) or (torch.is_tensor(got) and got.numel() == 1)):
            raise Wrong(f"doubly_stochastic returned {getattr(got, 'shape', type(got).__name__)}, expected a scalar",
                        "sum the squared deviations over the L cells down to one number")
        results.append((float(got), alpha, tau))
    want = [((tau - alpha.sum(0)) ** 2).sum().item() for _, alpha, tau in results]  # Σ_t α_ti is alpha.sum(0)
    slips = [
        (lambda alpha, tau: ((tau - alpha.sum(1)) ** 2).sum().item(),
         "the attention is summed over the cells of each word (Σ_i α_ti), which is always 1",
         "sum over time, for each cell: coverage = alpha.sum(dim=0) (L,), how much of the caption looked at cell i"),
        (lambda alpha, tau: (tau - alpha.sum(0)).sum().item(),
         "the square is missing",
         "without it the deviations cancel: Σ_i (τ − Σ_t α_ti) = Lτ − T, zero when τ = T/L whatever the model does"),
        (lambda alpha, tau: ((tau - alpha.sum(0)) ** 2).mean().item(),
         "the squared deviations are averaged over the cells",
         "the regulariser is a sum over the L cells: .sum(), not .mean()"),
    ]
    for formula, what, hint in slips:
        if all(abs(x - formula(alpha, tau)) < 1e-6 for x, alpha, tau in results):
            raise Wrong(what, hint)
    for (x, alpha, tau), w in zip(results, want):
        close(x, w, f"the regulariser of a ({len(alpha)}, {alpha.size(1)}) alpha with τ = {tau:g}", tol=1e-5,
              hint="coverage = alpha.sum(0) (L,); ((tau - coverage) ** 2).sum()")
    return "Σ_i (τ − Σ_t α_ti)²: every cell's total attention over the caption compared with τ = T / L"
