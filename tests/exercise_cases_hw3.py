"""Typical wrong answers to homework 3; each must be rejected with specific feedback."""
from dataclasses import replace

import numpy as np
import torch

from course_utils import alignment as align


def _in_place(pairs, share, seed):
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(pairs), size=round(share * len(pairs)), replace=False):
        j = (i + 1) % len(pairs)
        pairs.tokens[i], pairs.txt_attr[i] = pairs.tokens[j], pairs.txt_attr[j]
        pairs.captions[i] = pairs.captions[j]
    return pairs


def _permute_chosen(pairs, share, seed):  # a permutation of the chosen pairs keeps some in place
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), size=round(share * len(pairs)), replace=False)
    perm = chosen[rng.permutation(len(chosen))]
    tokens, captions, txt_attr = pairs.tokens.clone(), list(pairs.captions), pairs.txt_attr.clone()
    tokens[chosen], txt_attr[chosen] = pairs.tokens[perm], pairs.txt_attr[perm]
    for i, j in zip(chosen, perm):
        captions[i] = pairs.captions[j]
    return align.Pairs(pairs.images, tokens, captions, pairs.img_attr, txt_attr, pairs.label)


def _stale_txt_attr(pairs, share, seed):
    rng = np.random.default_rng(seed)
    tokens, captions = pairs.tokens.clone(), list(pairs.captions)
    for i in rng.choice(len(pairs), size=round(share * len(pairs)), replace=False):
        j = int(rng.choice(np.flatnonzero(pairs.txt_attr.numpy() != pairs.img_attr[i].item())))
        tokens[i], captions[i] = pairs.tokens[j], pairs.captions[j]
    return align.Pairs(pairs.images, tokens, captions, pairs.img_attr, pairs.txt_attr.clone(), pairs.label)


def _coin_flips(pairs, share, seed):
    rng = np.random.default_rng(seed)
    tokens, captions, txt_attr = pairs.tokens.clone(), list(pairs.captions), pairs.txt_attr.clone()
    for i in np.flatnonzero(rng.random(len(pairs)) < share):
        j = int(rng.choice(np.flatnonzero(pairs.txt_attr.numpy() != pairs.img_attr[i].item())))
        tokens[i], captions[i], txt_attr[i] = pairs.tokens[j], pairs.captions[j], pairs.txt_attr[j]
    return align.Pairs(pairs.images, tokens, captions, pairs.img_attr, txt_attr, pairs.label)


def _value_never_set(name, values, base, seeds, train, test, tokenizer):
    rows = []
    for v in values:
        row = {name: v}
        for s in seeds:
            for k, x in align.run(replace(base, seed=s), train, test, tokenizer)[1].items():
                row.setdefault(k, []).append(float(x))
        rows.append(row)
    return rows


def _one_seed_reused(name, values, base, seeds, train, test, tokenizer):
    rows = []
    for v in values:
        row = {name: v}
        for _ in seeds:
            for k, x in align.run(replace(base, **{name: v}), train, test, tokenizer)[1].items():
                row.setdefault(k, []).append(float(x))
        rows.append(row)
    return rows


def _means_only(name, values, base, seeds, train, test, tokenizer):
    rows = []
    for v in values:
        runs = [align.run(replace(base, seed=s, **{name: v}), train, test, tokenizer)[1] for s in seeds]
        rows.append({name: v, **{k: float(torch.tensor([r[k] for r in runs]).mean()) for k in runs[0]}})
    return rows


WRONG = {
    "hw3.1": [_in_place, _permute_chosen, _stale_txt_attr, _coin_flips],
    "hw3.2": [_value_never_set, _one_seed_reused, _means_only],
}
