"""Checkers of notebook 24.12's exercises (mini LLaVA and chain of thought). Each runs in well under a second."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..nn.llava import answer_only_loss
from .core import Wrong, call, checker, close


def _scalar(x, what: str) -> torch.Tensor:
    if not torch.is_tensor(x) or x.numel() != 1:
        raise Wrong(f"{what} returned {type(x).__name__} {getattr(x, 'shape', '')}, expected a scalar tensor",
                    "average the per-token cross-entropy over the answer tokens: one number")
    return x.detach().double().reshape(())


def _ce(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


# ----------------------------------------------------------------------------------------------- 24.12.1


@checker("24.12.1", "answer-only next-token loss: position t predicts ids[t + 1], counted only where it is an "
                    "answer token")
def check_answer_loss(fn) -> str:
    g = torch.Generator().manual_seed(121)
    logits, ids = torch.randn(3, 7, 13, generator=g), torch.randint(0, 13, (3, 7), generator=g)
    mask = torch.tensor([[0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1, 0]], dtype=torch.bool)
    got = _scalar(call(fn, logits.clone(), ids.clone(), mask.clone()), "answer_loss")
    want = answer_only_loss(logits, ids, mask)
    wrong = {
        "the loss counts every token (the prompt too)":
            (_ce(logits[:, :-1], ids[:, 1:]), "set the targets outside the answer to -100 (ignore_index)"),
        "the mask is not shifted with the targets":
            (_ce(logits[:, :-1], ids[:, 1:].masked_fill(~mask[:, :-1], -100)),
             "the target of position t is ids[t + 1]: mask it with answer_mask[:, 1:]"),
        "the logits are not shifted: position t is scored on its own token ids[t]":
            (_ce(logits, ids.masked_fill(~mask, -100)), "compare logits[:, :-1] with ids[:, 1:]"),
    }
    per_seq = torch.stack([_ce(logits[b:b + 1, :-1], ids[b:b + 1, 1:].masked_fill(~mask[b:b + 1, 1:], -100))
                           for b in range(3)]).mean()
    wrong["the loss is averaged per sequence, then over sequences"] = (
        per_seq, "average over all answer tokens of the batch at once (a long answer weighs more)")
    for what, (value, hint) in wrong.items():
        if abs(float(got) - float(value)) < 1e-6 and abs(float(value) - float(want)) > 1e-6:
            raise Wrong(what, hint)
    close(got, want, "the answer-only loss", tol=1e-5,
          hint="F.cross_entropy(logits[:, :-1] flattened, ids[:, 1:] with -100 where not answer_mask[:, 1:])")
    return f"loss {float(want):.4f}: only the {int(mask[:, 1:].sum())} answer tokens are targets"


# ----------------------------------------------------------------------------------------------- 24.12.2


@checker("24.12.2", "the projector H_v = W_2 GELU(W_1 v + b_1) + b_2 maps (B, N, C) image tokens to (B, N, D)")
def check_projector(fn) -> str:
    g = torch.Generator().manual_seed(122)
    v = torch.randn(2, 16, 144, generator=g)
    W1, b1 = torch.randn(128, 144, generator=g) * 0.1, torch.randn(128, generator=g)
    W2, b2 = torch.randn(128, 128, generator=g) * 0.1, torch.randn(128, generator=g)
    try:
        got = call(fn, v.clone(), W1.clone(), b1.clone(), W2.clone(), b2.clone())
    except Wrong as w:
        if "cannot be multiplied" in w.what:
            raise Wrong("the matrix shapes do not fit: v is (B, N, 144) and W1 is (128, 144)",
                        "nn.Linear stores W as (out, in): compute v @ W1.T + b1, then @ W2.T + b2") from None
        raise
    if not torch.is_tensor(got):
        raise Wrong(f"projector returned {type(got).__name__}, expected a tensor (2, 16, 128)")
    if tuple(got.shape) != (2, 16, 128):
        raise Wrong(f"projector returned shape {tuple(got.shape)}, expected (2, 16, 128): one D-vector per image "
                    f"token", "nn.Linear stores W as (out, in): compute v @ W1.T + b1")
    got = got.detach().double()
    want = F.linear(F.gelu(F.linear(v, W1, b1)), W2, b2).double()
    for act, name in ((F.relu, "ReLU"), (torch.tanh, "tanh"), (lambda x: x, "no activation")):
        if torch.allclose(got, F.linear(act(F.linear(v, W1, b1)), W2, b2).double(), atol=1e-5):
            raise Wrong(f"the projector uses {name} between the two layers", "LLaVA-1.5's mlp2x_gelu uses GELU")
    if torch.allclose(got, F.linear(F.gelu(F.linear(v, W1)), W2).double(), atol=1e-5):
        raise Wrong("the biases b1 and b2 are missing", "each layer is W x + b")
    close(got, want, "H_v", tol=1e-4, hint="H_v = gelu(v @ W1.T + b1) @ W2.T + b2")
    params = W1.numel() + b1.numel() + W2.numel() + b2.numel()
    return f"H_v has shape (2, 16, 128); the projector has {params:,} parameters"


# ----------------------------------------------------------------------------------------------- 24.12.3


@checker("24.12.3", "the chain-of-thought 2×2 table: rows rationale right / wrong, columns answer right / wrong")
def check_cot_table(fn) -> str:
    rng = np.random.default_rng(123)
    rat = rng.random(40) < 0.6
    ans = np.where(rat, rng.random(40) < 0.9, rng.random(40) < 0.3)
    got = call(fn, [bool(x) for x in rat], [bool(x) for x in ans])
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"cot_table returned {type(got).__name__}, expected a 2×2 array of counts") from None
    if got.shape != (2, 2):
        raise Wrong(f"cot_table returned shape {got.shape}, expected (2, 2)")
    want = np.array([[np.sum(rat & ans), np.sum(rat & ~ans)], [np.sum(~rat & ans), np.sum(~rat & ~ans)]], float)
    if np.allclose(got, want.T) and not np.allclose(want, want.T):
        raise Wrong("rows and columns are swapped", "rows are the rationale (right, wrong), columns the answer")
    if np.allclose(got, want[::-1, ::-1]):
        raise Wrong("the order is wrong/right instead of right/wrong", "put 'right' first in rows and columns")
    if np.allclose(got, want / want.sum()) or np.allclose(got, want / want.sum(1, keepdims=True)):
        raise Wrong("the table holds shares, not counts", "count the questions in each cell")
    close(torch.tensor(got), torch.tensor(want), "the 2×2 table", tol=1e-9,
          hint="cell [i, j]: rationale (right, wrong)[i] and answer (right, wrong)[j]")
    p_wrong = want[1, 1] / want[1].sum()
    return f"total {int(want.sum())}; after a wrong rationale the answer is wrong {p_wrong:.0%} of the time"
