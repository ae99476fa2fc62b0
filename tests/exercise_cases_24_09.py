"""Typical wrong answers to notebook 24.9's exercises; each must be rejected with specific feedback."""
import math

import torch


def _prior_from_test(train_answers, train_families, test_answers, test_families):
    out = {}
    for f in test_families.unique().tolist():
        answers = test_answers[test_families == f]
        out[f] = (answers == answers.mode().values).float().mean().item()    # the guess read off the test answers
    return out


def _prior_overall(train_answers, train_families, test_answers, test_families):
    guess = train_answers.mode().values.item()                  # one guess for every family
    return {f: (test_answers[test_families == f] == guess).float().mean().item()
            for f in test_families.unique().tolist()}


def _pairs(o, q):
    B, N, d = o.shape
    return torch.cat([o[:, :, None].expand(B, N, N, d), o[:, None, :].expand(B, N, N, d),
                      q[:, None, None].expand(B, N, N, q.size(-1))], -1)


def _mean_pairs(o, q, g):
    return g(_pairs(o, q)).mean(dim=(1, 2))


def _no_self_pairs(o, q, g):
    N = o.size(1)
    keep = ~torch.eye(N, dtype=torch.bool)
    return (g(_pairs(o, q)) * keep[None, :, :, None]).sum(dim=(1, 2))


def _upper_pairs(o, q, g):
    N = o.size(1)
    keep = torch.ones(N, N).triu(1).bool()
    return (g(_pairs(o, q)) * keep[None, :, :, None]).sum(dim=(1, 2))


def _xy_swapped(logits):
    B, K, H, W = logits.shape
    A = logits.flatten(2).softmax(-1)
    y, x = torch.meshgrid((torch.arange(H) + 0.5) / H, (torch.arange(W) + 0.5) / W, indexing="ij")
    return A @ torch.stack([y.flatten(), x.flatten()], -1)


def _corners(logits):
    B, K, H, W = logits.shape
    A = logits.flatten(2).softmax(-1)
    y, x = torch.meshgrid(torch.arange(H) / H, torch.arange(W) / W, indexing="ij")
    return A @ torch.stack([x.flatten(), y.flatten()], -1)


def _hard_argmax(logits):
    B, K, H, W = logits.shape
    i = logits.flatten(2).argmax(-1)
    return torch.stack([(i % W + 0.5) / W, (i // W + 0.5) / H], -1).float()


def _one_hop(xy, subject, first):
    others = [j for j in range(len(xy)) if j != subject]
    dist = [math.dist(xy[subject], xy[j]) for j in others]
    return others[dist.index(min(dist)) if first == "closest" else dist.index(max(dist))]


def _excludes_subject(xy, subject, first):
    def step(i, kind, skip):
        others = [j for j in range(len(xy)) if j not in (i, skip)]
        dist = [math.dist(xy[i], xy[j]) for j in others]
        return others[dist.index(min(dist)) if kind == "closest" else dist.index(max(dist))]
    mid = step(subject, first, None)
    return step(mid, "closest" if first == "furthest" else "furthest", subject)


WRONG = {
    "24.9.1": [_prior_from_test, _prior_overall],
    "24.9.2": [_mean_pairs, _no_self_pairs, _upper_pairs],
    "24.9.3": [_xy_swapped, _corners, _hard_argmax],
    "24.9.4": [_one_hop, _excludes_subject],
}
