"""Typical wrong answers to notebook 24.8's exercises; each must be rejected with specific feedback."""
import torch
import torch.nn.functional as F


def _queries_see_text(Q, T):
    return torch.cat([torch.ones(Q + T, Q), torch.ones(Q + T, T).tril(-Q)], 1).bool() | \
        torch.zeros(Q + T, Q + T).index_fill(0, torch.arange(Q), 1).bool()


def _text_not_causal(Q, T):
    m = torch.zeros(Q + T, Q + T, dtype=torch.bool)
    m[:Q, :Q] = True
    m[Q:] = True
    return m


def _upper(Q, T):
    m = torch.zeros(Q + T, Q + T, dtype=torch.bool)
    m[:Q, :Q] = True
    m[Q:, :Q] = True
    m[Q:, Q:] = torch.ones(T, T, dtype=torch.bool).triu()
    return m


def _mean_over_queries(zq, zt):
    return torch.einsum("iqe,je->ijq", F.normalize(zq, dim=-1), F.normalize(zt, dim=-1)).mean(-1)


def _unnormalized(zq, zt):
    return torch.einsum("iqe,je->ijq", zq, zt).amax(-1)


def _contrastive(a, b, tau):
    s, t = a @ b.T / tau, torch.arange(len(a))
    return (F.cross_entropy(s, t) + F.cross_entropy(s.T, t)) / 2


def _caption(logits, tokens):
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), tokens[:, 1:].reshape(-1), ignore_index=0)


def _weight_one(img, txt, logits, tokens, tau):
    return _contrastive(img, txt, tau) + _caption(logits, tokens)


def _one_direction(img, txt, logits, tokens, tau):
    return F.cross_entropy(img @ txt.T / tau, torch.arange(len(img))) + 2 * _caption(logits, tokens)


def _unshifted(img, txt, logits, tokens, tau):
    return _contrastive(img, txt, tau) + 2 * F.cross_entropy(logits.reshape(-1, logits.size(-1)), tokens.reshape(-1),
                                                            ignore_index=0)


def _counts_padding(img, txt, logits, tokens, tau):
    return _contrastive(img, txt, tau) + 2 * F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                                                            tokens[:, 1:].reshape(-1))


def _only_unswapped(truth, source):
    return (source == torch.arange(len(source))).long()


def _transposed(truth, source):
    return truth[torch.arange(len(source)), source].long()


WRONG = {
    "24.8.1": [_queries_see_text, _text_not_causal, _upper],
    "24.8.2": [_mean_over_queries, _unnormalized],
    "24.8.3": [_weight_one, _one_direction, _unshifted, _counts_padding],
    "24.8.4": [_only_unswapped, _transposed],
}
