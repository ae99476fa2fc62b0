"""Checkers of notebook 24.9's exercises (visual question answering). Each runs in well under a second."""
from __future__ import annotations

import numpy as np
import torch

from ..data import COLORS, questions, sort_of_clevr_scene
from ..nn.vqa import cell_coordinates, mlp
from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.9.1


@checker("24.9.1", "the answer prior: accuracy of always giving a family's most frequent training answer")
def check_prior_accuracy(fn) -> str:
    # family 0: answers 3, 3, 5 in training -> guess 3; family 1: 7, 8, 8 -> guess 8
    train_a, train_f = torch.tensor([3, 3, 5, 7, 8, 8]), torch.tensor([0, 0, 0, 1, 1, 1])
    test_a, test_f = torch.tensor([3, 5, 5, 5, 8, 7]), torch.tensor([0, 0, 0, 0, 1, 1])
    got = call(fn, train_a, train_f, test_a, test_f)
    if not isinstance(got, dict):
        raise Wrong(f"prior_accuracy returned {type(got).__name__}, expected a dict {{family id: accuracy}}")
    keys = {int(k) for k in got}
    if keys != {0, 1}:
        raise Wrong(f"the result has families {sorted(keys)}, expected one entry per family present: [0, 1]")
    got = {int(k): float(v) for k, v in got.items()}
    if abs(got[0] - 0.75) < 1e-6:
        raise Wrong("family 0 scores 0.75: the guess was taken from the test answers (the most common there is 5)",
                    "the prior is what a model can learn: count the answers of the training split only")
    if abs(got[1] - 0.5) > 1e-6 or abs(got[0] - 0.25) > 1e-6:
        raise Wrong(f"got {got}, expected {{0: 0.25, 1: 0.5}}",
                    "per family: the most frequent training answer (torch.mode or bincount().argmax()), then the share "
                    "of that family's test questions whose answer it is")
    return "family 0: 0.25, family 1: 0.50"


# ----------------------------------------------------------------------------------------------- 24.9.2


@checker("24.9.2", "the relation network's sum over all ordered pairs, sum_{i,j} g([o_i; o_j; q])")
def check_pair_sum(fn) -> str:
    torch.manual_seed(0)
    B, N, d, dq = 2, 4, 3, 2
    o, q = torch.randn(B, N, d), torch.randn(B, dq)
    g = mlp((2 * d + dq, 5, 5), last_relu=True)
    got = call(fn, o, q, g)
    if not torch.is_tensor(got) or tuple(got.shape) != (B, 5):
        raise Wrong(f"pair_sum returned {getattr(got, 'shape', type(got).__name__)}, expected a tensor (B, hidden) = "
                    f"{(B, 5)}", "sum g over the pair axes (dim=(1, 2)) of the (B, N, N, hidden) outputs")
    pairs = torch.stack([torch.cat([o[:, i], o[:, j], q], -1) for i in range(N) for j in range(N)], 1)  # (B, N², ·)
    want = g(pairs).sum(1)
    no_self = g(torch.stack([torch.cat([o[:, i], o[:, j], q], -1) for i in range(N) for j in range(N) if i != j],
                            1)).sum(1)
    unordered = g(torch.stack([torch.cat([o[:, i], o[:, j], q], -1) for i in range(N) for j in range(i + 1, N)],
                              1)).sum(1)
    if torch.allclose(got, no_self, atol=1e-5):
        raise Wrong("the pairs (i, i) are missing", "the sum runs over all N² ordered pairs, an object with itself too")
    if torch.allclose(got, unordered, atol=1e-5):
        raise Wrong("only the pairs i < j are summed", "(i, j) and (j, i) are different inputs to g: sum all N² pairs")
    if torch.allclose(got, want / N ** 2, atol=1e-5):
        raise Wrong("the pairs are averaged, not summed", "RN(O, q) = f(Σ_{i,j} g(o_i, o_j, q)): a sum")
    close(got, want, "the pair sum", tol=1e-4, hint="inputs [o_i; o_j; q] for every i, j: expand o along two axes")
    return "sums g over all N² ordered pairs"


# ----------------------------------------------------------------------------------------------- 24.9.3


@checker("24.9.3", "spatial soft-argmax: the expected (x, y) of a softmax over the pixels")
def check_soft_argmax(fn) -> str:
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 4, 5) * 3  # (B, K, H, W), not square on purpose
    got = call(fn, logits)
    if not torch.is_tensor(got) or tuple(got.shape) != (2, 3, 2):
        raise Wrong(f"soft_argmax returned {getattr(got, 'shape', type(got).__name__)}, expected (B, K, 2) = (2, 3, 2)")
    A = logits.flatten(2).softmax(-1)
    want = A @ cell_coordinates(4, 5)
    swapped = want.flip(-1)
    if torch.allclose(got, swapped, atol=1e-5):
        raise Wrong("x and y are swapped", "x runs along the width (last axis), y along the height")
    corner = A @ torch.stack(torch.meshgrid(torch.arange(4) / 4, torch.arange(5) / 5, indexing="ij")[::-1],
                             -1).flatten(0, 1)
    if torch.allclose(got, corner, atol=1e-5):
        raise Wrong("the coordinates are pixel corners, not centres",
                    "a pixel's centre is (j + 0.5) / W, (i + 0.5) / H")
    close(got, want, "the expected centres", tol=1e-5,
          hint="softmax over all H·W pixels of each map, then the weighted mean of the pixel centres")
    peak = torch.full((1, 1, 4, 5), -1e4)
    peak[0, 0, 2, 3] = 1e4
    close(call(fn, peak), torch.tensor([[[3.5 / 5, 2.5 / 4]]]), "a single sharp peak", tol=1e-4,
          hint="a peak at row 2, column 3 of a 4×5 map sits at x = 3.5 / 5, y = 2.5 / 4")
    return "expected pixel centres under the spatial softmax"


# ----------------------------------------------------------------------------------------------- 24.9.4


@checker("24.9.4", "a two-hop question answered from object positions")
def check_two_hop(fn) -> str:
    rng = np.random.default_rng(24_09)
    for _ in range(20):
        scene = sort_of_clevr_scene(rng)
        xy = [(o.x, o.y) for o in scene.objects]
        colors = [o.color for o in scene.objects]
        for qa in questions(scene, mode="sort_of_clevr", two_hop=True):
            if qa.family != "two-hop":
                continue
            first = "furthest" if qa.kind == "closest_of_furthest" else "closest"
            got = call(fn, xy, colors.index(qa.subject[0]), first)
            if not isinstance(got, (int, np.integer)):
                raise Wrong(f"two_hop returned {type(got).__name__}, expected the index of an object (an int)")
            want = colors.index(qa.answer)
            if got != want:
                raise Wrong(f"'{qa.question}': got object {got} ({colors[got]}), expected {want} ({qa.answer})",
                            "step 1 from the subject to its closest (or furthest) other object; step 2 from *that* "
                            "object to its furthest (or closest) other object, which may be the subject itself")
    return f"agrees with the question generator on 20 scenes ({len(COLORS)} subjects × 2 kinds each)"
