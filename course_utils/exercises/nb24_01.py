"""Checkers of notebook 24.1's exercises (what multimodal learning is). Each runs in well under a second."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..data.tokenizer import N_SPECIAL, Tokenizer
from .core import Wrong, call, checker, close

LOG2 = math.log(2)


# ----------------------------------------------------------------------------------------------- exact quantities


def _entropy(p) -> float:
    p = np.asarray(p, dtype=np.float64).ravel()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


@functools.lru_cache(maxsize=4)
def _joint(typical_prob: float) -> np.ndarray:
    from ..tasks.complementary import ComplementaryTask

    p, _ = ComplementaryTask(typical_prob=typical_prob).exact_joint()
    p.setflags(write=False)
    return p                                                                      # (Y, V, T)


def _bayes(p_yx) -> float:
    return float(p_yx.reshape(len(p_yx), -1).max(0).sum())


def _pure_synergy_terms() -> dict[str, float]:
    p = _joint(1 / 3)
    h_y = _entropy(p.sum((1, 2)))
    i_yv = h_y + _entropy(p.sum((0, 2))) - _entropy(p.sum(2))
    i_yt = h_y + _entropy(p.sum((0, 1))) - _entropy(p.sum(1))
    i_yt_v = _entropy(p.sum(2)) + _entropy(p.sum(0)) - _entropy(p.sum((0, 2))) - _entropy(p)
    return {"I(Y;T)": i_yt, "I(Y;T|V)": i_yt_v, "text Bayes accuracy": _bayes(p.sum(1)),
            "image Bayes accuracy": _bayes(p.sum(2)), "I(Y;V)": i_yv}


# ----------------------------------------------------------------------------------------------- 24.1.1


@checker("24.1.1", "pure synergy: exact information terms and Bayes accuracies at typical_prob = 1/3")
def check_pure_synergy(answer) -> str:
    keys = ("I(Y;T)", "I(Y;T|V)", "text Bayes accuracy", "image Bayes accuracy")
    if callable(answer):                                        # a function that returns the dict
        answer = call(answer)
    if not isinstance(answer, dict) or set(keys) - set(answer):
        got = sorted(answer) if isinstance(answer, dict) else type(answer).__name__
        raise Wrong(f"expected a dict with the keys {list(keys)}, got {got}",
                    "compute each with the functions of section 2.2 on ComplementaryTask(typical_prob=1/3)")
    exact = _pure_synergy_terms()
    at_06 = _joint(0.6)
    if abs(float(answer["text Bayes accuracy"]) - _bayes(at_06.sum(1))) < 1e-3:
        raise Wrong("your text Bayes accuracy is 0.6: that is the task with typical_prob = 0.6",
                    "build the task with ComplementaryTask(typical_prob=1/3) and take its exact_joint()")
    if abs(float(answer["I(Y;T|V)"]) - exact["I(Y;T|V)"] * LOG2) < 1e-3 and exact["I(Y;T|V)"] > 0.1:
        raise Wrong("I(Y;T|V) is in nats, not bits", "use log base 2 (np.log2), as in eq. (24.1.4)")
    for k in keys:
        close(answer[k], exact[k], k, tol=1e-3,
              hint="I(Y;T) = 0 here: every color's shape is uniform; I(Y;T|V) = H(Y) - I(Y;V) since (V, T) fixes Y"
              if k.startswith("I") else "eq. (24.1.3): sum over x of max_y p(y, x)")
    return (f"I(Y;T) = {exact['I(Y;T)']:.3f} bit but I(Y;T|V) = {exact['I(Y;T|V)']:.3f} bit: all of the question's "
            "information about the answer is synergy")


# ----------------------------------------------------------------------------------------------- 24.1.2


def _padded_rows(vocab_size: int, g: torch.Generator) -> tuple[torch.Tensor, list[int]]:
    lengths = [7, 5, 3, 1]
    tokens = torch.full((len(lengths), 7), Tokenizer.pad_id, dtype=torch.long)              # (4, 7)
    for i, n in enumerate(lengths):
        tokens[i, :n] = torch.randperm(vocab_size - N_SPECIAL, generator=g)[:n] + N_SPECIAL  # distinct words
    return tokens, lengths


@checker("24.1.2", "an order-aware question encoder (GRU) that ignores right padding")
def check_gru_encoder(make_encoder) -> str:
    vocab_size, dim = 40, 8
    torch.manual_seed(0)
    encoder = call(make_encoder, vocab_size, dim)
    if not isinstance(encoder, torch.nn.Module):
        raise Wrong(f"make_encoder returned {type(encoder).__name__}, expected an nn.Module",
                    "return the module itself, e.g. GRUEncoder(vocab_size, dim)")
    encoder.eval()
    tokens, lengths = _padded_rows(vocab_size, torch.Generator().manual_seed(0))
    with torch.no_grad():
        z = call(encoder, tokens)
        if not torch.is_tensor(z) or tuple(z.shape) != (len(tokens), dim):
            shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise Wrong(f"the encoder maps token ids (4, 7) to {shape}, expected (4, {dim})",
                        "return one vector per question: the hidden state at its last real token")
        more_pad = torch.cat([tokens, torch.full((len(tokens), 3), Tokenizer.pad_id)], dim=1)   # (4, 10)
        z_pad = call(encoder, more_pad)
        swapped = tokens.clone()
        swapped[0, [0, 1]] = tokens[0, [1, 0]]
        z_swap = call(encoder, swapped)
    if (z_pad - z).abs().max() > 1e-5:
        raise Wrong("adding <pad> tokens at the end changes the output",
                    "read the hidden state at position length - 1 of each question (lengths = (tokens != pad).sum(1)), "
                    "not at the last position of the padded tensor")
    if (z_swap[0] - z[0]).abs().max() < 1e-6:
        raise Wrong("swapping the first two words leaves the output unchanged: word order is still ignored",
                    "run a recurrent layer (nn.GRU(dim, dim, batch_first=True)) over the word embeddings")
    return "the encoder reads word order and ignores padding"


# ----------------------------------------------------------------------------------------------- 24.1.3


def _features(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    z_img = torch.rand((n, 4, 2, 2), generator=g) + 1.0                                      # never 0
    z_txt = torch.rand((n, 5), generator=g) + 1.0
    return z_img, z_txt


def _dropped(z: torch.Tensor, out: torch.Tensor, what: str) -> torch.Tensor:
    rows_zero = (out == 0).flatten(1).all(1)
    rows_same = (out == z).flatten(1).all(1)
    if not (rows_zero | rows_same).all():
        raise Wrong(f"some rows of {what} are neither untouched nor all zero",
                    "drop a modality for the whole example: multiply its features by a (B, 1, ...) mask of 0 or 1, "
                    "and do not rescale the rows you keep")
    return rows_zero


@checker("24.1.3", "modality dropout at the feature level: zero the image or the question features, never both")
def check_feature_dropout(drop_features) -> str:
    z_img, z_txt = _features(4000, torch.Generator().manual_seed(0))
    for p in (0.0, 1.0, 0.4):
        out = call(drop_features, z_img.clone(), z_txt.clone(), p, torch.Generator().manual_seed(1))
        if not isinstance(out, tuple) or len(out) != 2 or any(not torch.is_tensor(o) for o in out):
            raise Wrong("drop_features must return the pair (z_img, z_txt)", "return z_img, z_txt")
        if out[0].shape != z_img.shape or out[1].shape != z_txt.shape:
            raise Wrong(f"the shapes changed: got {tuple(out[0].shape)}, {tuple(out[1].shape)}", "keep each shape")
        no_img, no_txt = _dropped(z_img, out[0], "z_img"), _dropped(z_txt, out[1], "z_txt")
        if (no_img & no_txt).any():
            raise Wrong(f"with p_drop = {p} some examples lose both modalities",
                        "draw one uniform number u per example: image lost if u < p/2, question if p/2 <= u < p")
        share_img, share_txt = no_img.float().mean().item(), no_txt.float().mean().item()
        if abs(share_img - p / 2) > 0.03 or abs(share_txt - p / 2) > 0.03:
            raise Wrong(f"with p_drop = {p} the image is dropped in {share_img:.0%} and the question in "
                        f"{share_txt:.0%} of the examples, expected {p / 2:.0%} each",
                        "eq. (24.1.14): each modality is dropped with probability p/2, so p in total")
    return "each modality is dropped with probability p/2, never both, whole examples at a time"


# ----------------------------------------------------------------------------------------------- 24.1.5


def bayes_accuracy_images_shuffled(p_yvt: np.ndarray, s: float) -> float:
    """Train on (1 - s) p(y, v, t) + s p(y, t) p(v) (images shuffled), predict argmax_y, score on aligned pairs."""
    p_s = (1 - s) * p_yvt + s * p_yvt.sum(1)[:, None, :] * p_yvt.sum((0, 2))[None, :, None]
    y_hat = p_s.argmax(0)                                                                      # (V, T)
    return float(np.take_along_axis(p_yvt, y_hat[None], 0).sum())


@checker("24.1.5", "Bayes-optimal accuracy when a share s of the images is shuffled")
def check_images_shuffled(fn) -> str:
    p = _joint(0.6)
    for s in (1.0, 0.0, 0.5, 0.9, 0.95):
        got = call(fn, p, s)
        want = bayes_accuracy_images_shuffled(p, s)
        if s == 1.0 and abs(float(got) - _bayes(p.sum(2))) < 1e-3:
            raise Wrong(f"at s = 1 you get {float(got):.4f}, the image-only Bayes accuracy: that is what shuffling the "
                        "questions gives", "here the images are shuffled: the mixture is s p(y, t) p(v), "
                        "so only the question still tells about the answer")
        close(got, want, f"accuracy at s = {s}", tol=1e-4,
              hint="mix (1 - s) p(y, v, t) + s p(y, t) p(v), take argmax_y for each (v, t), "
                   "then add up p(y, v, t) of the predicted y (score on aligned pairs)")
    return f"at s = 1 only the question is left: {bayes_accuracy_images_shuffled(p, 1.0):.3f} = the text Bayes accuracy"


# ----------------------------------------------------------------------------------------------- 24.1.6


def _cmi_vt_given_y(p: np.ndarray) -> float:
    return _entropy(p.sum(2)) + _entropy(p.sum(1)) - _entropy(p.sum((1, 2))) - _entropy(p)


@checker("24.1.6", "I(V;T|Y): are image and question independent given the answer?")
def check_cmi_given_answer(fn) -> str:
    p = _joint(0.6)
    want = _cmi_vt_given_y(p)
    got = float(call(fn, p))
    if abs(got - want * LOG2) < 1e-4:
        raise Wrong("the value is in nats, not bits", "use log base 2 (np.log2)")
    plain = _entropy(p.sum((0, 2))) + _entropy(p.sum((0, 1))) - _entropy(p.sum(0))
    if abs(got - plain) < 1e-4:
        raise Wrong("that is I(V;T), not conditioned on Y",
                    "condition on the answer: H(V,Y) + H(T,Y) - H(Y) - H(V,T,Y)")
    close(got, want, "I(V;T|Y) of the task", tol=1e-4,
          hint="H(V,Y) + H(T,Y) - H(Y) - H(V,T,Y); p_yvt.sum(2) is p(y, v), p_yvt.sum(1) is p(y, t)")
    g = np.random.default_rng(0)
    p_y = g.dirichlet(np.ones(3))
    independent = p_y[:, None, None] * g.dirichlet(np.ones(4), 3)[:, :, None] * g.dirichlet(np.ones(5), 3)[:, None, :]
    close(call(fn, independent), 0.0, "I(V;T|Y) of a table with V and T independent given Y", tol=1e-6,
          hint="I(V;T|Y) = H(V,Y) + H(T,Y) - H(Y) - H(V,T,Y) with p indexed [y, v, t]")
    return (f"I(V;T|Y) = {want:.3f} bit > 0: given the answer, image and question are not independent, so "
            "decision fusion is not the Bayes posterior here")
