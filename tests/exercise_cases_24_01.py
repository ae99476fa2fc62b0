"""Typical wrong answers to notebook 24.1's exercises: each must be rejected with specific feedback."""
import math

import numpy as np
import torch
from torch import nn

from course_utils.nn.fusion_basic import BagOfWordsEncoder


def _entropy(p):
    p = np.asarray(p, dtype=np.float64).ravel()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


# 24.1.1 -------------------------------------------------------------------------------------------------------
_RIGHT = {"I(Y;T)": 0.0, "I(Y;T|V)": 1.0, "text Bayes accuracy": 1 / 3, "image Bayes accuracy": 17 / 27}
_AT_06 = {"I(Y;T)": 0.214, "I(Y;T|V)": 0.999, "text Bayes accuracy": 0.6, "image Bayes accuracy": 0.615}


def _in_nats():
    from course_utils.exercises.nb24_01 import _pure_synergy_terms

    right = _pure_synergy_terms()
    return {**{k: right[k] for k in _RIGHT}, "I(Y;T|V)": right["I(Y;T|V)"] * math.log(2)}


# 24.1.2 -------------------------------------------------------------------------------------------------------
class _LastPositionGRU(nn.Module):
    """Reads the hidden state at the last position of the padded tensor (a pad, for short questions)."""

    def __init__(self, vocab_size, dim):
        super().__init__()
        self.embed, self.gru = nn.Embedding(vocab_size, dim), nn.GRU(dim, dim, batch_first=True)

    def forward(self, tokens):
        return self.gru(self.embed(tokens))[0][:, -1]


class _AllPositions(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.embed, self.gru = nn.Embedding(vocab_size, dim), nn.GRU(dim, dim, batch_first=True)

    def forward(self, tokens):
        return self.gru(self.embed(tokens))[0]                      # (B, T, dim): no single vector per question


# 24.1.3 -------------------------------------------------------------------------------------------------------
def _independent_halves(z_img, z_txt, p_drop, generator):
    keep_img = torch.rand(len(z_img), generator=generator) >= p_drop / 2
    keep_txt = torch.rand(len(z_txt), generator=generator) >= p_drop / 2
    return z_img * keep_img.view(-1, 1, 1, 1), z_txt * keep_txt.view(-1, 1)


def _rescaled(z_img, z_txt, p_drop, generator):
    u = torch.rand(len(z_img), generator=generator)
    keep_img, keep_txt = (u >= p_drop / 2).float(), ~((u >= p_drop / 2) & (u < p_drop))
    return z_img * keep_img.view(-1, 1, 1, 1) / (1 - p_drop / 2), z_txt * keep_txt.float().view(-1, 1)


def _each_with_p(z_img, z_txt, p_drop, generator):
    u = torch.rand(len(z_img), generator=generator)
    no_img = u < p_drop
    no_txt = ~no_img & (torch.rand(len(z_img), generator=generator) < p_drop)
    return z_img * (~no_img).view(-1, 1, 1, 1), z_txt * (~no_txt).view(-1, 1)


def _elementwise(z_img, z_txt, p_drop, generator):
    return torch.nn.functional.dropout(z_img, p_drop / 2), z_txt


# 24.1.5 -------------------------------------------------------------------------------------------------------
def _questions_shuffled(p_yvt, s):
    """The notebook's own experiment: questions shuffled instead of images."""
    p_s = (1 - s) * p_yvt + s * p_yvt.sum(2)[:, :, None] * p_yvt.sum((0, 1))[None, None, :]
    return float(np.take_along_axis(p_yvt, p_s.argmax(0)[None], 0).sum())


def _scored_on_mixture(p_yvt, s):
    p_s = (1 - s) * p_yvt + s * p_yvt.sum(1)[:, None, :] * p_yvt.sum((0, 2))[None, :, None]
    return float(p_s.max(0).sum())


# 24.1.6 -------------------------------------------------------------------------------------------------------
def _unconditional(p_yvt):
    p_vt = p_yvt.sum(0)
    return _entropy(p_vt.sum(1)) + _entropy(p_vt.sum(0)) - _entropy(p_vt)


def _nats(p_yvt):
    bits = _entropy(p_yvt.sum(2)) + _entropy(p_yvt.sum(1)) - _entropy(p_yvt.sum((1, 2))) - _entropy(p_yvt)
    return bits * math.log(2)


def _wrong_sign(p_yvt):
    return -(_entropy(p_yvt.sum(2)) + _entropy(p_yvt.sum(1)) - _entropy(p_yvt.sum((1, 2))) - _entropy(p_yvt))


WRONG = {
    "24.1.1": [_AT_06, {"I(Y;T)": 0.0, "I(Y;T|V)": 1.0}, _in_nats(),
               {**_RIGHT, "I(Y;T|V)": 1.585}, [0.0, 1.0, 0.33, 0.63]],
    "24.1.2": [lambda v, d: BagOfWordsEncoder(v, d), _LastPositionGRU, _AllPositions,
               lambda v, d: "a GRU", lambda v, d: BagOfWordsEncoder(v, d + 1)],
    "24.1.3": [_independent_halves, _rescaled, _each_with_p, _elementwise,
               lambda z_img, z_txt, p, g: (z_img, z_txt), lambda z_img, z_txt, p, g: z_img],
    "24.1.5": [_questions_shuffled, _scored_on_mixture, lambda p, s: 1.0 - 0.4 * s],
    "24.1.6": [_unconditional, _nats, _wrong_sign, lambda p: 0.0],
}
