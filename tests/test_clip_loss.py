"""CLIP's contrastive losses against open_clip's ClipLoss and SigLipLoss, and the multi-positive variant."""
import math

import pytest
import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss, SigLipLoss

from course_utils.nn.clip_loss import clip_logits, clip_loss, multi_positive_clip_loss, negclip_loss, siglip_loss


def pairs(n=16, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    z_img = F.normalize(torch.randn(n, d, generator=g), dim=-1)
    z_txt = F.normalize(z_img + 0.5 * torch.randn(n, d, generator=g), dim=-1)
    return z_img, z_txt


def test_clip_loss_matches_open_clip():
    z_img, z_txt = pairs()
    scale = torch.tensor(1 / 0.07)
    assert torch.allclose(clip_loss(z_img, z_txt, scale), ClipLoss()(z_img, z_txt, scale), atol=1e-6)


def test_clip_loss_gradients_match_open_clip():
    a_img, a_txt = (t.clone().requires_grad_() for t in pairs())
    b_img, b_txt = (t.clone().requires_grad_() for t in pairs())
    clip_loss(a_img, a_txt, 20.0).backward()
    ClipLoss()(b_img, b_txt, 20.0).backward()
    assert torch.allclose(a_img.grad, b_img.grad, atol=1e-6) and torch.allclose(a_txt.grad, b_txt.grad, atol=1e-6)


def test_siglip_loss_matches_open_clip():
    z_img, z_txt = pairs()
    scale, bias = torch.tensor(10.0), torch.tensor(-10.0)
    ours = siglip_loss(z_img, z_txt, scale, bias)
    ref = SigLipLoss()(z_img, z_txt, scale, bias)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_clip_loss_of_perfect_pairs_is_near_zero_and_of_uniform_logits_is_log_n():
    z = F.normalize(torch.eye(8), dim=-1)
    assert clip_loss(z, z, 100.0) < 1e-6
    assert math.isclose(clip_loss(z, z, 0.0).item(), math.log(8), rel_tol=1e-6)


def test_multi_positive_loss_equals_clip_loss_with_identity():
    z_img, z_txt = pairs()
    same = torch.eye(16, dtype=torch.bool)
    assert torch.allclose(multi_positive_clip_loss(z_img, z_txt, 14.3, same), clip_loss(z_img, z_txt, 14.3), atol=1e-6)


def test_multi_positive_targets_are_the_normalized_rows_of_same():
    z_img, z_txt = pairs()
    keys = torch.arange(16) % 5  # captions 0, 5, 10, 15 describe the same thing, ...
    same = keys[:, None] == keys[None, :]
    logits = clip_logits(z_img, z_txt, 14.3)
    target = same.float() / same.float().sum(1, keepdim=True)
    ref = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target.T / target.T.sum(1, keepdim=True))) / 2
    assert torch.allclose(multi_positive_clip_loss(z_img, z_txt, 14.3, same), ref, atol=1e-6)


def test_multi_positive_loss_does_not_push_apart_true_matches():
    # captions 0 and 1 say the same thing. Plain InfoNCE prefers their embeddings apart (false negatives);
    # the multi-positive loss prefers them together.
    merged = F.normalize(torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), dim=-1)
    apart = torch.eye(3)
    same = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    assert multi_positive_clip_loss(merged, merged, 20.0, same) < multi_positive_clip_loss(apart, apart, 20.0, same)
    assert clip_loss(apart, apart, 20.0) < clip_loss(merged, merged, 20.0)


def test_negclip_loss_adds_hard_negatives_to_the_image_to_text_candidates():
    z_img, z_txt = pairs()
    z_neg = F.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(1)), dim=-1)
    logits = clip_logits(z_img, z_txt, 14.3)
    i2t = torch.cat([logits, clip_logits(z_img, z_neg, 14.3)], dim=1)  # (16, 21): captions, then negatives
    target = torch.arange(16)
    ref = (F.cross_entropy(i2t, target) + F.cross_entropy(logits.T, target)) / 2
    assert torch.allclose(negclip_loss(z_img, z_txt, 14.3, z_neg), ref, atol=1e-6)
    assert negclip_loss(z_img, z_txt, 14.3, z_neg) > clip_loss(z_img, z_txt, 14.3)


def test_loss_inputs_of_different_shapes_raise_value_error():
    z_img, z_txt = pairs()
    with pytest.raises(ValueError, match=r"\(16, 8\).*\(15, 8\)"):
        clip_loss(z_img, z_txt[:15], 10.0)
    with pytest.raises(ValueError, match=r"same must have shape \(16, 16\)"):
        multi_positive_clip_loss(z_img, z_txt, 10.0, torch.eye(15, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"same\[i, i\]"):
        multi_positive_clip_loss(z_img, z_txt, 10.0, torch.zeros(16, 16, dtype=torch.bool))
