"""Reference solutions of the exercises of notebook 24.5 (cross-modal alignment), checked by
course_utils.exercises.nb24_05 (tests/test_exercises.py runs them)."""
import math

import torch
import torch.nn.functional as F

from course_utils import alignment as align


def uniformity(z):
    """ℓ_unif = log E_{x≠y} exp(-2 ‖z_x − z_y‖²), eq. (24.5.15); z: (n, d) unit vectors."""
    sq = torch.pdist(z).pow(2)  # (n(n-1)/2,) squared distances of the pairs x ≠ y
    return sq.mul(-2).exp().mean().log()


def negative_distribution(g, same, hard=True):
    """q(j | i) of eq. (24.5.9): softmax of the scores over the non-positives (uniform when not hard); (N, M)."""
    logits = g if hard else torch.zeros_like(g)
    return torch.softmax(logits.masked_fill(same, float("-inf")), dim=1)


PRIOR_LOSS = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3))  # BCE of the constant σ(g) = 1/3


def albef_loss(model, images, tokens, attr):
    """Contrastive (24.5.6) + matching (24.5.8) on the same embeddings, as ALBEF trains them together."""
    z_img, z_txt = model.encode_image(images), model.encode_text(tokens)  # (B, d) each
    same = attr[:, None] == attr[None, :]  # (B, B): P(i)
    contrastive = align.info_nce(z_img, z_txt, 1.0 / model.clip.scale(), same)
    matching, _ = align.itm_loss(model.itm, z_img, z_txt, same, model.generator)
    return contrastive + matching


def small_loss_info_nce(z_img, z_txt, tau, same, keep=0.5):
    """Symmetric multi-positive InfoNCE averaged over the keep·N pairs with the smallest loss (small-loss trick)."""
    logits = z_img @ z_txt.T / tau  # (N, N)
    q = same.float() / same.sum(dim=1, keepdim=True)  # targets of the image rows
    q_t = same.T.float() / same.T.sum(dim=1, keepdim=True)  # targets of the text rows
    loss_i2t = -(q * F.log_softmax(logits, dim=1)).sum(dim=1)  # (N,) loss of image i
    loss_t2i = -(q_t * F.log_softmax(logits.T, dim=1)).sum(dim=1)  # (N,) loss of caption i
    per_pair = (loss_i2t + loss_t2i) / 2  # (N,)
    k = max(1, round(keep * len(per_pair)))
    return per_pair.topk(k, largest=False).values.mean()


SOLUTIONS = {
    "24.5.1": uniformity,
    "24.5.2": negative_distribution,
    "24.5.3": PRIOR_LOSS,
    "24.5.4": albef_loss,
    "24.5.5": small_loss_info_nce,
}
