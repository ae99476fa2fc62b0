"""Typical wrong answers to notebook 24.6's exercises; each must be rejected with specific feedback."""
import torch


def _unscaled(q, k, v, key_padding_mask=None):
    w = (q @ k.transpose(-2, -1)).softmax(-1)              # forgets 1 / sqrt(d)
    return w @ v, w


def _by_d(q, k, v, key_padding_mask=None):
    w = (q @ k.transpose(-2, -1) / q.size(-1)).softmax(-1)  # divides by d
    return w @ v, w


def _softmax_over_queries(q, k, v, key_padding_mask=None):
    w = (q @ k.transpose(-2, -1) / q.size(-1) ** 0.5).softmax(-2)
    return w @ v, w


def _ignores_padding(q, k, v, key_padding_mask=None):
    w = (q @ k.transpose(-2, -1) / q.size(-1) ** 0.5).softmax(-1)
    return w @ v, w


def _transposed(U, V, P):
    return torch.einsum("xj,yj,jk->kyx", U, V, P)


def _no_p(U, V, P):
    W = torch.einsum("xj,yj->xy", U, V)
    return W.expand(P.size(1), -1, -1)


def _wrong_index(U, V, P):
    return torch.einsum("xj,yj,jk->kxy", U, V, P.flip(0))


def _no_prior(logits, log_prior):
    return torch.stack(list(logits)).log_softmax(-1).sum(0).log_softmax(-1)


def _prior_once(logits, log_prior):
    return (torch.stack(list(logits)).log_softmax(-1).sum(0) - log_prior).log_softmax(-1)


def _averaged(logits, log_prior):
    return torch.stack(list(logits)).mean(0).log_softmax(-1)


def _unnormalized(logits, log_prior):
    s = torch.stack(list(logits))
    return s.log_softmax(-1).sum(0) - (len(s) - 1) * log_prior


def _no_bias(kind, d_x, d_y, d_out, rank=64):
    return {"concat": (d_x + d_y) * d_out, "sum": (d_x + d_y) * d_out, "bilinear": rank * (d_x + d_y + d_out),
            "film": 2 * d_y * d_x}[kind]


def _sum_like_concat(kind, d_x, d_y, d_out, rank=64):
    if kind in ("concat", "sum"):
        return (d_x + d_y) * d_out + d_out                 # sum has two biases
    return {"bilinear": rank * (d_x + d_y + d_out) + d_out, "film": 2 * (d_y * d_x + d_x)}[kind]


def _full_bilinear_count(kind, d_x, d_y, d_out, rank=64):
    if kind == "bilinear":
        return d_x * d_y * d_out + d_out                   # the full tensor, not the low-rank layer
    return {"concat": (d_x + d_y) * d_out + d_out, "sum": (d_x + d_y) * d_out + 2 * d_out,
            "film": 2 * (d_y * d_x + d_x)}[kind]


WRONG = {
    "24.6.1": [_unscaled, _by_d, _softmax_over_queries, _ignores_padding],
    "24.6.2": [_transposed, _no_p, _wrong_index],
    "24.6.3": [_no_prior, _prior_once, _averaged, _unnormalized],
    "24.6.4": [_no_bias, _sum_like_concat, _full_bilinear_count],
}
