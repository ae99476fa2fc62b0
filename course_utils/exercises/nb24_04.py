"""Checkers of notebook 24.4 (CLIP): the loss floor at a fixed temperature, SigLIP's gradient, a batch without
duplicate descriptions, and the prompt-ensemble classifier of eq. (24.4.8)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .core import Wrong, call, checker, close


@checker("24.4.1", "the lowest loss of one InfoNCE row at a fixed temperature")
def _min_row_loss(fn) -> str:
    mistakes = [  # (a wrong formula, what it does, hint)
        (lambda n, tau: math.log(n), "is log N", "log N is the loss when every cosine is equal (τ → ∞); the lowest "
         "loss puts the positive at cosine +1 and every negative at -1"),
        (lambda n, tau: math.log1p(n * math.exp(-2.0 / tau)), "counts N negatives",
         "the row has one positive and N - 1 negatives"),
        (lambda n, tau: math.log1p((n - 1) * math.exp(-1.0 / tau)), "uses a cosine gap of 1",
         "cosines lie in [-1, 1]: the largest gap between the positive and a negative is 2"),
    ]
    for n, tau in [(128, 1.0), (128, 0.07), (2, 1.0), (16, 0.5)]:
        expected = math.log1p((n - 1) * math.exp(-2.0 / tau))
        value = float(call(fn, n, tau))
        for wrong, what, hint in mistakes:
            if abs(value - wrong(n, tau)) < 1e-9 and abs(value - expected) > 1e-6:
                raise Wrong(f"min_row_loss({n}, {tau}) {what}", hint)
        close(value, expected, f"min_row_loss({n}, {tau})", tol=1e-4,
              hint="write the row loss as log(1 + Σ_{j≠i} exp((c_ij − c_ii)/τ)) and push every gap to its extreme")
    return f"at τ = 1 a batch of 128 cannot go below {math.log1p(127 * math.exp(-2)):.2f} nats (log N = 4.85)"


def _siglip_reference(logits: torch.Tensor) -> torch.Tensor:
    s = logits.detach().clone().requires_grad_()
    labels = 2 * torch.eye(len(s)) - 1
    (-F.logsigmoid(labels * s).sum() / len(s)).backward()
    return s.grad


@checker("24.4.2", "the gradient of the SigLIP loss with respect to the logits")
def _siglip_grad(fn) -> str:
    g = torch.Generator().manual_seed(0)
    for n in (4, 7):
        logits = 3 * torch.randn(n, n, generator=g)  # (N, N) = t <z_I, z_T> + b
        value = torch.as_tensor(call(fn, logits.clone()), dtype=torch.float32)
        expected = _siglip_reference(logits)
        if value.shape == expected.shape and torch.allclose(value, -expected, atol=1e-5):
            raise Wrong("the gradient has the wrong sign", "dL/ds_ij = -(1/N) y_ij σ(-y_ij s_ij): a positive pair's "
                        "gradient is negative (gradient descent raises its logit)")
        if value.shape == expected.shape and torch.allclose(value, n * expected, atol=1e-4):
            raise Wrong("the gradient is N times too large", "siglip_loss divides the sum over all N² pairs by N")
        close(value, expected, f"siglip_grad of a {n}×{n} logit matrix", tol=1e-5,
              hint="each pair is its own binary problem: d/ds log σ(y s) = y σ(-y s); there is no softmax")
    return "every pair gets its own gradient: no normalization over the batch, so no all-gather of a softmax"


@checker("24.4.3", "a batch in which no two captions can describe the same image")
def _distinct_batch(fn) -> str:
    from ..data import HELD_OUT_COMBOS, SIZES
    from ..data.clip_batches import SEEN_PAIRS

    limit = len(SEEN_PAIRS) * len(SIZES)
    batches = []
    for seed, n in [(0, limit), (1, 10), (2, limit)]:
        scenes = list(call(fn, np.random.default_rng(seed), n))
        if len(scenes) != n:
            raise Wrong(f"distinct_batch(rng, {n}) returned {len(scenes)} scenes", "return exactly n scenes")
        if any(len(s.objects) != 1 for s in scenes):
            raise Wrong("a scene has more than one object", "sample single-object scenes (n_objects=1)")
        if any(s.objects[0].pair in HELD_OUT_COMBOS for s in scenes):
            raise Wrong("a scene shows a held-out (color, shape) pair", "draw from the 'train' split only")
        keys = [(o.color, o.shape, o.size) for s in scenes for o in s.objects]
        if len(set(keys)) != n:
            raise Wrong(f"two scenes of a batch of {n} share color, shape and size",
                        "their position-free captions would be true of both images: false negatives again")
        batches.append(keys)
    if batches[0] == batches[2]:
        raise Wrong("two different generators gave the same batch", "shuffle the descriptions with the rng")
    try:
        call(fn, np.random.default_rng(3), limit + 1)
    except Wrong as w:
        if "ValueError" in w.what:
            return f"at most {limit} pairs per batch ({len(SEEN_PAIRS)} seen pairs × {len(SIZES)} sizes)"
        raise
    raise Wrong(f"distinct_batch(rng, {limit + 1}) did not raise",
                f"only {limit} descriptions exist: raise ValueError for larger batches")


@checker("24.4.4", "the prompt-ensemble zero-shot classifier, eq. (24.4.8)")
def _ensemble_classifier(fn) -> str:
    g = torch.Generator().manual_seed(1)
    z = F.normalize(torch.randn(5, 3, 8, generator=g), dim=-1)  # (C, M, d): class c, prompt m
    value = torch.as_tensor(call(fn, z.clone()))
    expected = F.normalize(z.mean(dim=1), dim=-1).T  # (d, C)
    if value.shape == (5, 8):
        raise Wrong("the classifier has shape (C, d)", "return W = [w_1, …, w_C] with classes as columns: (d, C)")
    if value.shape == expected.shape and torch.allclose(value, z.mean(dim=1).T, atol=1e-5):
        raise Wrong("the class prototypes are not renormalized", "after averaging, divide each w̄_c by its norm")
    close(value, expected, "the classifier W", tol=1e-5,
          hint="average the M prompt features of each class (dim 1), L2-normalize, transpose to (d, C)")
    return "W is a linear classifier written by the text tower: no labelled image was used"
