"""Checkers of notebook 24.5 (cross-modal alignment): uniformity, the hard-negative distribution, the matching
prior, the contrastive + matching loss (ALBEF), and the small-loss trick against noisy correspondence."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .core import Wrong, call, checker, close


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


# ----------------------------------------------------------------------------------------------- 24.5.1


def _uniformity(z: torch.Tensor) -> float:
    return torch.pdist(z).pow(2).mul(-2).exp().mean().log().item()  # eq. (24.5.15), pairs x ≠ y


@checker("24.5.1", "uniformity ℓ_unif of eq. (24.5.15)")
def check_uniformity(fn):
    ring = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    expected = math.log((4 * math.exp(-4) + 2 * math.exp(-8)) / 6)
    value = float(call(fn, ring.clone()))
    if abs(value - math.log((4 * math.exp(-4) + 2 * math.exp(-8) + 4) / 10)) < 1e-3 \
            or abs(value - math.log((8 * math.exp(-4) + 4 * math.exp(-8) + 4) / 16)) < 1e-3:
        raise Wrong("your average includes the pairs of a point with itself (distance 0, e^0 = 1)",
                    "average over pairs x ≠ y only: torch.pdist gives each such pair once")
    close(value, expected, "ℓ_unif of the four points ±e1, ±e2", 1e-3,
          "ℓ_unif = log mean over pairs x ≠ y of exp(-2 ‖z_x − z_y‖²): squared distances, t = 2, log outside")
    z = _unit(50, 8, 0)
    close(float(call(fn, z.clone())), _uniformity(z), "ℓ_unif of 50 random unit vectors in 8-d", 1e-4)
    return f"ℓ_unif(±e1, ±e2) = {expected:.4f}"


# ----------------------------------------------------------------------------------------------- 24.5.2


def _negative_distribution(g: torch.Tensor, same: torch.Tensor, hard: bool = True) -> torch.Tensor:
    logits = g if hard else torch.zeros_like(g)
    return torch.softmax(logits.masked_fill(same, float("-inf")), dim=1)  # eq. (24.5.9)


@checker("24.5.2", "the hard-negative distribution q(j | i) of eq. (24.5.9)")
def check_negative_distribution(fn):
    g = torch.tensor([[0.0, 5.0, 0.0, math.log(3.0)], [1.0, 2.0, 3.0, 4.0], [2.0, 0.0, -1.0, 0.5]])
    same = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=torch.bool)
    q = call(fn, g.clone(), same.clone(), True)
    if not torch.is_tensor(q) or q.shape != g.shape:
        raise Wrong(f"expected a tensor of shape {tuple(g.shape)} (one distribution per row), got "
                    f"{tuple(q.shape) if torch.is_tensor(q) else type(q).__name__}", "q[i, j] = q(j | i)")
    if not torch.allclose(q.sum(dim=1), torch.ones(3), atol=1e-4):
        raise Wrong(f"the rows sum to {q.sum(dim=1).tolist()}, not 1", "normalize over the columns j (dim=1)")
    if q[same].abs().max() > 1e-6:
        raise Wrong("a positive (same[i, j] = True) gets probability > 0: it would be sampled as a negative",
                    "set the scores of the positives to -inf before the softmax")
    close(q[0], torch.tensor([0.0, 0.0, 0.25, 0.75]), "q(· | 0) (scores 0 and log 3 on the two negatives)", 1e-4,
          "q(j | i) ∝ exp(g_ij) over j ∉ P(i)")
    close(q, _negative_distribution(g, same), "q", 1e-4)
    uniform = call(fn, g.clone(), same.clone(), False)
    close(uniform, _negative_distribution(g, same, hard=False), "q with hard=False", 1e-4,
          "hard=False: every non-positive column equally likely, whatever its score")
    return "q(3 | 0) = 3 / (1 + 3)"


# ----------------------------------------------------------------------------------------------- 24.5.3


PRIOR = -(math.log(1 / 3) + 2 * math.log(2 / 3)) / 3  # H(1/3): BCE of the constant σ(g) = 1/3


@checker("24.5.3", "the loss of a matching head that ignores its input")
def check_prior(answer):
    value = call(answer) if callable(answer) else answer
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise Wrong(f"expected a number (the loss in nats), got {type(value).__name__}") from None
    if abs(value - math.log(2)) < 1e-3:
        raise Wrong(f"{value:.4f} = log 2 is the loss of σ(g) = 1/2; the best constant is lower",
                    "one third of the 3N pairs are positives: minimize -(1/3) log p - (2/3) log(1 - p) over p")
    close(value, PRIOR, "the prior loss", 1e-3,
          "with p = 1/3 positives the best constant prediction is σ(g) = 1/3; its loss is the entropy H(1/3) in nats")
    return f"H(1/3) = {PRIOR:.4f} nats"


# ----------------------------------------------------------------------------------------------- 24.5.4


def _tiny_batch(objective: str = "matching"):
    from .. import alignment as align

    pairs = align.world_pairs(24, seed=0)
    cfg = align.AlignConfig.fast(seed=0, objective=objective, width=16, embed_dim=8, layers=1, hidden=16)
    model = align.AlignmentModel(cfg, vocab_size=int(pairs.tokens.max()) + 1, context_length=pairs.tokens.size(1))
    attr = pairs.txt_attr.clone()
    attr[1] = attr[0]  # make sure two captions of the batch share a description (multi-positive targets)
    return model, pairs.images, pairs.tokens, attr


def _albef(model, images, tokens, attr):
    from .. import alignment as align

    z_img, z_txt = model.encode_image(images), model.encode_text(tokens)
    same = attr[:, None] == attr[None, :]
    con = align.info_nce(z_img, z_txt, 1.0 / model.clip.scale(), same)
    itm, _ = align.itm_loss(model.itm, z_img, z_txt, same, model.generator)
    return con + itm


@checker("24.5.4", "contrastive + matching on shared encoders (ALBEF)")
def check_albef(fn):
    model, images, tokens, attr = _tiny_batch()
    model.generator.manual_seed(7)
    out = call(fn, model, images, tokens, attr)
    loss = out[0] if isinstance(out, tuple) else out
    if not torch.is_tensor(loss) or loss.dim() != 0:
        raise Wrong("return the loss as a scalar tensor (so that fit can call backward on it)")
    if not loss.requires_grad:
        raise Wrong("the loss carries no gradient", "compute it from model.encode_image / encode_text, not detached")
    model.generator.manual_seed(7)
    expected = _albef(model, images, tokens, attr)
    if abs(loss.item() - expected.item()) > 1e-4:
        model.generator.manual_seed(7)
        z_img, z_txt = model.encode_image(images), model.encode_text(tokens)
        same = attr[:, None] == attr[None, :]
        from .. import alignment as align

        con_eye = align.info_nce(z_img, z_txt, 1.0 / model.clip.scale())
        itm, _ = align.itm_loss(model.itm, z_img, z_txt, same, model.generator)
        if abs(loss.item() - (con_eye + itm).item()) < 1e-4:
            raise Wrong("the contrastive term treats captions with the same description as negatives",
                        "pass same = attr[:, None] == attr[None, :] to align.info_nce (eq. 24.5.6)")
        close(loss.item(), expected.item(), "the loss", 1e-4,
              "L = info_nce(z_v, z_t, τ, same) + itm_loss(model.itm, z_v, z_t, same, model.generator)[0], "
              "with τ = 1 / model.clip.scale(); both terms on the same z_v, z_t")
    return f"loss {expected.item():.4f} on the test batch"


# ----------------------------------------------------------------------------------------------- 24.5.5


def _small_loss(z_img, z_txt, tau, same, keep=0.5):
    logits = z_img @ z_txt.T / tau  # (N, N)
    q = same.float() / same.sum(dim=1, keepdim=True)
    per_pair = -(q * logits.log_softmax(1)).sum(1) / 2 - (q.T * logits.T.log_softmax(1)).sum(1) / 2  # (N,)
    k = max(1, int(round(keep * len(per_pair))))
    return per_pair.topk(k, largest=False).values.mean()


@checker("24.5.5", "the small-loss trick: InfoNCE over the pairs with the smallest loss")
def check_small_loss(fn):
    z_img, z_txt = _unit(12, 6, 1), _unit(12, 6, 2)
    z_txt[:4] = F.normalize(z_img[:4] + 0.1 * z_txt[:4], dim=1)  # four clean pairs (small loss), eight noisy ones
    same = torch.eye(12, dtype=torch.bool)
    value = call(fn, z_img.clone(), z_txt.clone(), 0.1, same.clone(), 0.5)
    value = value.item() if torch.is_tensor(value) else float(value)
    full = _small_loss(z_img, z_txt, 0.1, same, 1.0).item()
    if abs(value - full) < 1e-4:
        raise Wrong("that is the loss of all pairs: nothing was dropped",
                    "compute one loss per pair (reduction='none'), keep the keep·N smallest, average those")
    if value > full:
        raise Wrong(f"your loss {value:.4f} is above the loss of all pairs {full:.4f}: you kept the largest losses",
                    "the small-loss trick keeps the pairs the model already finds easy (topk(..., largest=False))")
    close(value, _small_loss(z_img, z_txt, 0.1, same, 0.5).item(), "the small-loss InfoNCE (keep = 0.5)", 1e-4,
          "per pair: (loss of image i → text + loss of text i → image) / 2, then the mean of the 6 smallest of 12")
    close(float(call(fn, z_img.clone(), z_txt.clone(), 0.1, same.clone(), 1.0)), full, "the loss with keep = 1", 1e-4)
    return "keep = 1 gives back the symmetric InfoNCE"
