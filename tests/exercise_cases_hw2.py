"""Typical wrong answers to homework 2; each must be rejected with specific feedback."""
import torch


def _rerank_everything(shortlist_scores, score_pairs, k):
    everything = torch.arange(shortlist_scores.size(1)).expand(len(shortlist_scores), -1)
    return score_pairs(everything)                                       # the fusion encoder on all N pairs


def _only_the_shortlist(shortlist_scores, score_pairs, k):
    top = shortlist_scores.topk(k, dim=1).indices
    return score_pairs(top)                                              # (Q, k): the other images are lost


def _scores_mixed_in(shortlist_scores, score_pairs, k):
    top = shortlist_scores.topk(k, dim=1).indices
    return shortlist_scores.scatter(1, top, score_pairs(top))            # new scores on the old scale


def _ascending(shortlist_scores, score_pairs, k):
    top = shortlist_scores.topk(k, dim=1).indices
    new = score_pairs(top)
    below = shortlist_scores - shortlist_scores.max() - 1 - 2 * new.abs().max()
    return below.scatter(1, top, 2 * new.abs().max() - new)


def _zero_based(scores, relevant):
    hit = relevant.gather(1, scores.argsort(dim=1, descending=True))
    return float(hit.float().argmax(dim=1).float().median())


def _worst_relevant(scores, relevant):
    hit = relevant.gather(1, scores.argsort(dim=1, descending=True)).float()
    last = hit.size(1) - 1 - hit.flip(1).argmax(dim=1)
    return float((last + 1).float().median())


def _mean_rank(scores, relevant):
    hit = relevant.gather(1, scores.argsort(dim=1, descending=True))
    return float((hit.float().argmax(dim=1) + 1).float().mean())


WRONG = {
    "hw2.1": [_rerank_everything, _only_the_shortlist, _scores_mixed_in, _ascending],
    "hw2.2": [_zero_based, _worst_relevant, _mean_rank],
}
