"""Checkers of homework 3 (the key factors of cross-modal alignment): the noisy-pairs data change and the sweep."""
from __future__ import annotations

from functools import lru_cache

import torch

from .core import Wrong, call, checker


@lru_cache(maxsize=1)
def _pairs():
    from .. import alignment as align
    from ..data import Tokenizer

    tok = Tokenizer.for_world()
    return align.world_pairs(40, 5, "train", tokenizer=tok), align.world_pairs(24, 5, "test", tokenizer=tok), tok


def _copy(p):
    from ..alignment import Pairs

    return Pairs(p.images.clone(), p.tokens.clone(), list(p.captions), p.img_attr.clone(), p.txt_attr.clone(),
                 p.label.clone())


@checker("hw3.1", "noisy correspondence: exactly round(share·n) images get the caption of a scene that looks different")
def check_mismatch(fn) -> str:
    from ..alignment import Pairs

    pairs = _copy(_pairs()[0])  # the student's function gets a copy: the cached pairs stay clean
    out = call(fn, pairs, 0.25, 7)
    before = _pairs()[0]
    changed = [name for name in ("tokens", "txt_attr", "images", "img_attr", "label")
               if not torch.equal(getattr(pairs, name), getattr(before, name))]
    if changed or pairs.captions != before.captions:
        raise Wrong(f"the input pairs were changed in place ({', '.join(changed) or 'captions'})",
                    "build new tensors (tokens.clone(), list(captions), …) and return a new Pairs")
    if not isinstance(out, Pairs):
        raise Wrong(f"returned {type(out).__name__}, expected a Pairs")
    for name in ("images", "img_attr", "label"):
        if not torch.equal(getattr(out, name), getattr(pairs, name)):
            raise Wrong(f"{name} changed", "noise is in the correspondence: keep every image, change captions")
    source = {}
    for i, text in enumerate(out.captions):
        js = [j for j, t in enumerate(pairs.captions) if t == text and torch.equal(pairs.tokens[j], out.tokens[i])]
        if not js:
            raise Wrong(f"caption {i} ({text!r}) with its tokens is not a caption of the set",
                        "copy captions and their tokens together from other pairs of the same set")
        source[i] = js
    stale = [i for i in range(len(pairs)) if out.captions[i] != pairs.captions[i]
             and out.txt_attr[i] == pairs.txt_attr[i] and all(pairs.txt_attr[j] != out.txt_attr[i] for j in source[i])]
    if stale:
        raise Wrong(f"txt_attr of re-paired caption {stale[0]} still says what its old caption said",
                    "txt_attr is what the caption describes: copy it with the caption (the contrastive loss uses it "
                    "to know which captions of a batch are true matches)")
    want = round(0.25 * len(pairs))
    for seed in (7, 8, 9, 10):
        noisy = out if seed == 7 else call(fn, _copy(before), 0.25, seed)
        wrong_now = int((noisy.txt_attr != noisy.img_attr).sum())
        if wrong_now == want:
            continue
        n_changed = sum(noisy.captions[i] != pairs.captions[i] for i in range(len(pairs)))
        raise Wrong(f"seed {seed}: {wrong_now} of {len(pairs)} images now have a caption that describes something "
                    f"else, expected round(0.25 · {len(pairs)}) = {want} ({n_changed} captions changed)",
                    "pick exactly round(share · n) pairs (not a coin flip per pair), and give each the caption of a "
                    "scene with a different txt_attr: a random permutation of the chosen pairs can map a pair to "
                    "itself or to a look-alike")
    if call(fn, _copy(before), 0.25, 7).captions != out.captions:
        raise Wrong("two calls with the same seed give different noise", "draw from np.random.default_rng(seed)")
    if call(fn, _copy(before), 0.25, 8).captions == out.captions:
        raise Wrong("seeds 7 and 8 give the same noise", "use the seed argument for every random choice")
    return f"{want} of {len(pairs)} images get a caption of another-looking scene; the images are untouched"


@checker("hw3.2", "a sweep: one row per value of the factor, each run once per seed with that value")
def check_run_factor(fn) -> str:
    from .. import alignment as align

    train, test, tok = _pairs()
    base = align.AlignConfig(seed=0, width=8, embed_dim=8, layers=1, steps=4, warmup=1, batch_size=8)
    values, seeds = [0.05, 0.5], [0, 1]
    rows = call(fn, "tau", values, base, seeds, train, test, tok)
    want = align.sweep("tau", values, base, seeds, lambda s, v: train, test, tok)
    if not isinstance(rows, list) or len(rows) != len(values) or not all(isinstance(r, dict) for r in rows):
        raise Wrong(f"expected a list of {len(values)} dicts (one row per value), got {type(rows).__name__}"
                    + (f" of length {len(rows)}" if isinstance(rows, list) else ""))
    if [r.get("tau") for r in rows] != values:
        raise Wrong(f"the rows' 'tau' entries are {[r.get('tau') for r in rows]}, expected {values}",
                    "each row starts with {name: value}")
    got_tau = [r.get("final τ") for r in rows]
    if any(not isinstance(t, list) for t in got_tau):
        raise Wrong("a metric holds one number instead of one value per seed",
                    "collect each metric in a list over the seeds: the noise band needs them all")
    if any(len(t) != len(seeds) for t in got_tau):
        raise Wrong(f"each metric should hold {len(seeds)} values (one per seed), got {[len(t) for t in got_tau]}")
    if abs(got_tau[0][0] - got_tau[1][0]) < 1e-6:
        raise Wrong(f"final τ is {got_tau[0][0]:.3f} for every value: the value never reached the config",
                    "dataclasses.replace(base, seed=s, **{name: value}) sets the factor")
    if all(abs(a - b) < 1e-9 for a, b in zip(rows[0]["R@1 mean"], rows[0]["R@1 mean"][1:])) and \
            rows[0]["final loss"][0] == rows[0]["final loss"][1]:
        raise Wrong("both seeds give identical runs", "set the config's seed to each seed of the list")
    for r, w in zip(rows, want):
        for k in (k for k in w if k != "tau"):
            if k not in r or any(abs(a - b) > 1e-4 for a, b in zip(r[k], w[k])):
                raise Wrong(f"row tau={r['tau']}: metric {k!r} differs from align.run on the same config",
                            "run align.run(replace(base, seed=s, **{name: v}), train, test, tokenizer) and keep its "
                            "metrics")
    return f"{len(rows)} rows × {len(seeds)} seeds, equal to align.sweep"
