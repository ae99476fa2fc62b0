"""Typical wrong answers to notebook 24.4's checked exercises; each must be rejected with specific feedback."""
import math

import torch
import torch.nn.functional as F

from course_utils import data as W
from course_utils.data.clip_batches import SEEN_PAIRS


def _tau_limit(n, tau):
    return math.log(n)  # the tau -> infinity limit, not the lowest loss


def _n_negatives(n, tau):
    return math.log1p(n * math.exp(-2.0 / tau))  # counts the positive among the negatives


def _gap_one(n, tau):
    return math.log1p((n - 1) * math.exp(-1.0 / tau))  # cosines in [0, 1] instead of [-1, 1]


def _hinge(n, tau):
    return 0.0  # the tau -> 0 limit when the positive is closest


def _softmax_grad(logits):
    n = len(logits)
    return (logits.softmax(dim=1) - torch.eye(n)) / n  # InfoNCE's gradient, not SigLIP's


def _wrong_sign(logits):
    y = 2 * torch.eye(len(logits)) - 1
    return y * torch.sigmoid(-y * logits) / len(logits)


def _no_mean(logits):
    y = 2 * torch.eye(len(logits)) - 1
    return -y * torch.sigmoid(-y * logits)


def _with_duplicates(rng, n):
    return [W.sample_split_scene(rng, "train", n_objects=1) for _ in range(n)]


def _with_held_out(rng, n):
    descriptions = [(c, s, z) for c, s in W.PAIRS for z in W.SIZES]
    picks = rng.permutation(len(descriptions))[:n]
    return [W.sample_scene(rng, 1, combos=[descriptions[k][:2]], sizes=(descriptions[k][2],)) for k in picks]


def _never_raises(rng, n):
    descriptions = [(c, s, z) for c, s in SEEN_PAIRS for z in W.SIZES]
    picks = [k % len(descriptions) for k in rng.permutation(max(n, len(descriptions)))[:n]]
    return [W.sample_scene(rng, 1, combos=[descriptions[k][:2]], sizes=(descriptions[k][2],)) for k in picks]


def _fixed_order(rng, n):
    descriptions = [(c, s, z) for c, s in SEEN_PAIRS for z in W.SIZES]
    if n > len(descriptions):
        raise ValueError("too many")
    return [W.sample_scene(0, 1, combos=[d[:2]], sizes=(d[2],)) for d in descriptions[:n]]


WRONG = {
    "24.4.1": [_tau_limit, _n_negatives, _gap_one, _hinge],
    "24.4.2": [_softmax_grad, _wrong_sign, _no_mean],
    "24.4.3": [_with_duplicates, _with_held_out, _never_raises, _fixed_order],
    "24.4.4": [lambda z: z.mean(dim=1).T, lambda z: F.normalize(z.mean(dim=1), dim=-1),
               lambda z: F.normalize(z.sum(dim=2), dim=-1).T, lambda z: z[:, 0].T],
}
