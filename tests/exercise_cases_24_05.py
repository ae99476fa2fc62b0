"""Typical wrong answers to the exercises of notebook 24.5: each must be rejected with specific feedback."""
import math

import torch
import torch.nn.functional as F

from course_utils import alignment as align


def _unif_with_self_pairs(z):
    d2 = torch.cdist(z, z).pow(2)  # (n, n), the diagonal (a point with itself) included
    return d2.mul(-2).exp().mean().log()


def _unif_t1(z):
    return torch.pdist(z).pow(2).mul(-1).exp().mean().log()  # t = 1 instead of 2


def _unif_not_squared(z):
    return torch.pdist(z).mul(-2).exp().mean().log()  # distance, not squared distance


def _unif_no_log(z):
    return torch.pdist(z).pow(2).mul(-2).exp().mean()


def _q_no_mask(g, same, hard=True):
    return torch.softmax(g if hard else torch.zeros_like(g), dim=1)  # positives can be sampled


def _q_wrong_dim(g, same, hard=True):
    logits = g if hard else torch.zeros_like(g)
    return torch.softmax(logits.masked_fill(same, float("-inf")), dim=0)


def _q_always_uniform(g, same, hard=True):
    return torch.softmax(torch.zeros_like(g).masked_fill(same, float("-inf")), dim=1)


def _albef_matching_only(model, images, tokens, attr):
    z_img, z_txt = model.encode_image(images), model.encode_text(tokens)
    same = attr[:, None] == attr[None, :]
    return align.itm_loss(model.itm, z_img, z_txt, same, model.generator)[0]


def _albef_contrastive_only(model, images, tokens, attr):
    z_img, z_txt = model.encode_image(images), model.encode_text(tokens)
    same = attr[:, None] == attr[None, :]
    return align.info_nce(z_img, z_txt, 1.0 / model.clip.scale(), same)


def _albef_single_positive(model, images, tokens, attr):
    z_img, z_txt = model.encode_image(images), model.encode_text(tokens)
    same = attr[:, None] == attr[None, :]
    contrastive = align.info_nce(z_img, z_txt, 1.0 / model.clip.scale())  # diagonal targets only
    return contrastive + align.itm_loss(model.itm, z_img, z_txt, same, model.generator)[0]


def _albef_detached(model, images, tokens, attr):
    with torch.no_grad():
        z_img, z_txt = model.encode_image(images), model.encode_text(tokens)
        same = attr[:, None] == attr[None, :]
        return (align.info_nce(z_img, z_txt, 1.0 / model.clip.scale(), same)
                + align.itm_loss(model.itm, z_img, z_txt, same, model.generator)[0])


def _per_pair(z_img, z_txt, tau, same):
    logits = z_img @ z_txt.T / tau
    q, q_t = same.float() / same.sum(1, keepdim=True), same.T.float() / same.T.sum(1, keepdim=True)
    return (-(q * F.log_softmax(logits, 1)).sum(1) - (q_t * F.log_softmax(logits.T, 1)).sum(1)) / 2


def _small_loss_all(z_img, z_txt, tau, same, keep=0.5):
    return _per_pair(z_img, z_txt, tau, same).mean()


def _small_loss_largest(z_img, z_txt, tau, same, keep=0.5):
    per_pair = _per_pair(z_img, z_txt, tau, same)
    return per_pair.topk(max(1, round(keep * len(per_pair)))).values.mean()


def _small_loss_one_direction(z_img, z_txt, tau, same, keep=0.5):
    logits = z_img @ z_txt.T / tau
    per_image = -(same.float() / same.sum(1, keepdim=True) * F.log_softmax(logits, 1)).sum(1)
    return per_image.topk(max(1, round(keep * len(per_image))), largest=False).values.mean()


WRONG = {
    "24.5.1": [_unif_with_self_pairs, _unif_t1, _unif_not_squared, _unif_no_log],
    "24.5.2": [_q_no_mask, _q_wrong_dim, _q_always_uniform],
    "24.5.3": [math.log(2), 1 / 3, math.log(3), -math.log(1 / 3)],
    "24.5.4": [_albef_matching_only, _albef_contrastive_only, _albef_single_positive, _albef_detached],
    "24.5.5": [_small_loss_all, _small_loss_largest, _small_loss_one_direction],
}
