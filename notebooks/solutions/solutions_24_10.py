"""Reference solutions of notebook 24.10's exercises, checked by course_utils.exercises in tests/test_exercises.py."""
import math
from collections import Counter

import torch


def soft_attention(a, h, W_a, W_h, w):
    # exercise 1: a (B, L, D), h (B, H) -> z (B, D), alpha (B, L)
    e = torch.tanh(a @ W_a.T + (h @ W_h.T)[:, None]) @ w  # (B, L): e_i = w^T tanh(W_a a_i + W_h h)
    alpha = e.softmax(dim=1)  # (B, L): a distribution over the L cells of each image
    z = (alpha[..., None] * a).sum(dim=1)  # (B, D): z = Σ_i alpha_i a_i
    return z, alpha


def clipped_precision(candidate, references, n):
    # exercise 2: Σ_g min(count_c(g), max_r count_r(g)) / Σ_g count_c(g) over the n-grams g of the candidate
    def ngrams(words):
        return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))

    cand = ngrams(candidate)
    if not cand:
        return 0.0
    max_ref = Counter()
    for ref in references:
        for gram, count in ngrams(ref).items():
            max_ref[gram] = max(max_ref[gram], count)
    return sum(min(count, max_ref[gram]) for gram, count in cand.items()) / sum(cand.values())


def brevity_penalty(c, r):
    # exercise 3: 1 for a candidate longer than the reference, exp(1 - r/c) otherwise (0 for an empty one)
    if c > r:
        return 1.0
    if c == 0:
        return 0.0
    return math.exp(1 - r / c)


def doubly_stochastic(alpha, tau):
    # exercise 4: alpha (T, L) -> Σ_i (tau - Σ_t alpha_ti)²
    coverage = alpha.sum(dim=0)  # (L,): how much attention cell i got over the whole caption
    return ((tau - coverage) ** 2).sum()


SOLUTIONS = {"24.10.1": soft_attention, "24.10.2": clipped_precision, "24.10.3": brevity_penalty,
             "24.10.4": doubly_stochastic}
