"""Typical wrong answers to notebook 24.10's exercises; each must be rejected with specific feedback."""
import math
from collections import Counter

import torch


def _scores(a, h, W_a, W_h, w):
    return torch.tanh(a @ W_a.T + (h @ W_h.T)[:, None]) @ w  # (B, L)


def _softmax_over_feature_dim(a, h, W_a, W_h, w):
    e = _scores(a, h, W_a, W_h, w)[..., None]  # (B, L, 1), kept for the broadcast below
    alpha = e.softmax(-1)  # over the size-1 axis: all ones
    return (alpha * a).sum(1), alpha.squeeze(-1)


def _softmax_over_batch(a, h, W_a, W_h, w):
    alpha = _scores(a, h, W_a, W_h, w).softmax(0)
    return (alpha[..., None] * a).sum(1), alpha


def _no_tanh(a, h, W_a, W_h, w):
    alpha = ((a @ W_a.T + (h @ W_h.T)[:, None]) @ w).softmax(1)
    return (alpha[..., None] * a).sum(1), alpha


def _exp_not_normalized(a, h, W_a, W_h, w):
    alpha = _scores(a, h, W_a, W_h, w).exp()
    return (alpha[..., None] * a).sum(1), alpha


def _raw_scores(a, h, W_a, W_h, w):
    alpha = _scores(a, h, W_a, W_h, w)
    return (alpha[..., None] * a).sum(1), alpha


def _mean_of_a(a, h, W_a, W_h, w):
    return a.mean(1), _scores(a, h, W_a, W_h, w).softmax(1)


def _ngrams(words, n):
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _no_clipping(candidate, references, n):
    cand, seen = _ngrams(candidate, n), set().union(*(_ngrams(r, n) for r in references))
    return sum(k for g, k in cand.items() if g in seen) / max(sum(cand.values()), 1)


def _clip_by_sum(candidate, references, n):
    cand, total = _ngrams(candidate, n), sum((_ngrams(r, n) for r in references), Counter())
    return sum(min(k, total[g]) for g, k in cand.items()) / max(sum(cand.values()), 1)


def _recall(candidate, references, n):
    cand, ref = _ngrams(candidate, n), _ngrams(references[0], n)
    max_ref = Counter()
    for r in references:
        max_ref |= _ngrams(r, n)
    return sum(min(k, max_ref[g]) for g, k in cand.items()) / max(sum(ref.values()), 1)


def _unique_only(candidate, references, n):
    cand, seen = set(_ngrams(candidate, n)), set().union(*(_ngrams(r, n) for r in references))
    return len(cand & seen) / max(len(cand), 1)


def _ratio_upside_down(c, r):
    return 1.0 if c > r else math.exp(1 - c / r)


def _penalizes_long_too(c, r):
    return math.exp(-abs(1 - r / c)) if c else 0.0


def _always_one(c, r):
    return 1.0


def _summed_over_cells(alpha, tau):
    return ((tau - alpha.sum(1)) ** 2).sum()


def _no_square(alpha, tau):
    return (tau - alpha.sum(0)).sum()


def _mean_over_cells(alpha, tau):
    return ((tau - alpha.sum(0)) ** 2).mean()


WRONG = {
    "24.10.1": [_softmax_over_feature_dim, _softmax_over_batch, _no_tanh, _exp_not_normalized, _raw_scores,
                _mean_of_a],
    "24.10.2": [_no_clipping, _clip_by_sum, _recall, _unique_only],
    "24.10.3": [_ratio_upside_down, _penalizes_long_too, _always_one],
    "24.10.4": [_summed_over_cells, _no_square, _mean_over_cells],
}
