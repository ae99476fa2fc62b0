"""Typical wrong answers to notebook 24.12's exercises; each must be rejected with specific feedback."""
import numpy as np
import torch
import torch.nn.functional as F


def _ce(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


def _every_token(logits, ids, mask):
    return _ce(logits[:, :-1], ids[:, 1:])


def _mask_not_shifted(logits, ids, mask):
    return _ce(logits[:, :-1], ids[:, 1:].masked_fill(~mask[:, :-1], -100))


def _not_shifted(logits, ids, mask):
    return _ce(logits, ids.masked_fill(~mask, -100))


def _per_sequence(logits, ids, mask):
    return torch.stack([_ce(logits[b:b + 1, :-1], ids[b:b + 1, 1:].masked_fill(~mask[b:b + 1, 1:], -100))
                        for b in range(len(ids))]).mean()


def _relu(v, W1, b1, W2, b2):
    return F.relu(v @ W1.T + b1) @ W2.T + b2


def _no_activation(v, W1, b1, W2, b2):
    return (v @ W1.T + b1) @ W2.T + b2


def _no_bias(v, W1, b1, W2, b2):
    return F.gelu(v @ W1.T) @ W2.T


def _untransposed(v, W1, b1, W2, b2):
    return F.gelu(v @ W1 + b1) @ W2 + b2


def _pooled(v, W1, b1, W2, b2):
    return (F.gelu(v @ W1.T + b1) @ W2.T + b2).mean(1)


def _table(r, a):
    r, a = np.asarray(r, bool), np.asarray(a, bool)
    return np.array([[np.sum(r & a), np.sum(r & ~a)], [np.sum(~r & a), np.sum(~r & ~a)]])


def _swapped(r, a):
    return _table(r, a).T


def _wrong_first(r, a):
    return _table(r, a)[::-1, ::-1]


def _shares(r, a):
    t = _table(r, a)
    return t / t.sum()


def _flat(r, a):
    return _table(r, a).ravel()


WRONG = {
    "24.12.1": [_every_token, _mask_not_shifted, _not_shifted, _per_sequence],
    "24.12.2": [_relu, _no_activation, _no_bias, _untransposed, _pooled],
    "24.12.3": [_swapped, _wrong_first, _shares, _flat],
}
