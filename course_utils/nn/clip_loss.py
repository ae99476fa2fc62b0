"""Contrastive image-text losses: CLIP's symmetric InfoNCE, its multi-positive variant, and SigLIP's sigmoid loss.

All take L2-normalized features z_img, z_txt of shape (N, d) whose i-th rows form a pair, and the logit scale
1/τ (already exponentiated, as ``CLIP.forward`` returns it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_pairs(z_img: torch.Tensor, z_txt: torch.Tensor) -> None:
    if z_img.dim() != 2 or z_txt.dim() != 2:
        raise ValueError(f"expected features of shape (N, d), got {tuple(z_img.shape)} and {tuple(z_txt.shape)}")
    if z_img.shape != z_txt.shape:
        raise ValueError(f"image features {tuple(z_img.shape)} and text features {tuple(z_txt.shape)} "
                         f"must have the same shape (row i of each is a pair)")


def clip_logits(z_img: torch.Tensor, z_txt: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    """s_ij = <z_I^i, z_T^j> / τ, shape (N_img, N_txt): row i scores image i against every caption."""
    return logit_scale * z_img @ z_txt.T


def clip_loss(z_img: torch.Tensor, z_txt: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
    """Symmetric InfoNCE, eq. (24.4.3) of notebook 24.4: mean of the image->text and text->image cross-entropies,
    targets i = i."""
    _check_pairs(z_img, z_txt)
    logits = clip_logits(z_img, z_txt, logit_scale)  # (N, N)
    target = torch.arange(len(logits), device=logits.device)  # pair i is the positive of row i
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def multi_positive_clip_loss(
    z_img: torch.Tensor, z_txt: torch.Tensor, logit_scale: torch.Tensor | float, same: torch.Tensor
) -> torch.Tensor:
    """InfoNCE with several positives per row: the target of row i spreads evenly over the j with ``same[i, j]``.

    ``same`` (N, N) bool marks image i and caption j that describe the same thing (e.g. the same attributes), so
    they are not pushed apart as false negatives. With ``same = eye(N)`` this is exactly ``clip_loss``.
    """
    _check_pairs(z_img, z_txt)
    n = len(z_img)
    if same.shape != (n, n):
        raise ValueError(f"same must have shape ({n}, {n}) for {n} pairs, got {tuple(same.shape)}")
    same = same.to(device=z_img.device, dtype=torch.bool)
    if not bool(same.diagonal().all()):
        raise ValueError("same[i, i] must be True: every image matches its own caption")
    return _soft_target_loss(clip_logits(z_img, z_txt, logit_scale), same)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets: mean over rows of -Σ_j p_ij log softmax(logits_i)_j.

    ``target`` (N, M') marks the positives of each row (bool or weights), normalized here to sum to 1 per row;
    ``logits`` may have more columns (N, M ≥ M'): the extra ones are candidates with target 0 (hard negatives)."""
    p = target.to(logits.dtype)
    p = p / p.sum(dim=1, keepdim=True)  # (N, M'), rows sum to 1
    return -(p * logits.log_softmax(dim=1)[:, : p.size(1)]).sum(dim=1).mean()


def _soft_target_loss(logits: torch.Tensor, same: torch.Tensor, logits_neg: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric soft-target InfoNCE of logits (N, N): image->text rows (with ``logits_neg`` (N, M) appended as
    extra candidates) against the rows of ``same``, text->image rows against its columns."""
    rows = logits if logits_neg is None else torch.cat([logits, logits_neg], dim=1)  # (N, N [+ M])
    return (soft_cross_entropy(rows, same) + soft_cross_entropy(logits.T, same.T)) / 2


def negclip_loss(
    z_img: torch.Tensor,
    z_txt: torch.Tensor,
    logit_scale: torch.Tensor | float,
    z_neg: torch.Tensor,
    same: torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE with extra hard-negative captions (NegCLIP, Yuksekgonul et al. 2023).

    z_neg (M, d): captions that are *false* for every image (e.g. the true caption with two attributes swapped);
    they join the candidates of the image->text direction only, as columns with target 0. ``same`` (N, N) gives
    multi-positive targets as in ``multi_positive_clip_loss`` (default: the diagonal).
    """
    _check_pairs(z_img, z_txt)
    if z_neg.dim() != 2 or z_neg.size(1) != z_img.size(1):
        raise ValueError(f"hard negatives must have shape (M, {z_img.size(1)}), got {tuple(z_neg.shape)}")
    n = len(z_img)
    same = torch.eye(n, dtype=torch.bool, device=z_img.device) if same is None else same.to(z_img.device).bool()
    if same.shape != (n, n):
        raise ValueError(f"same must have shape ({n}, {n}) for {n} pairs, got {tuple(same.shape)}")
    logits = clip_logits(z_img, z_txt, logit_scale)  # (N, N)
    return _soft_target_loss(logits, same, clip_logits(z_img, z_neg, logit_scale))  # negatives: (N, M)


def siglip_loss(
    z_img: torch.Tensor,
    z_txt: torch.Tensor,
    logit_scale: torch.Tensor | float,
    logit_bias: torch.Tensor | float,
) -> torch.Tensor:
    """Sigmoid loss (Zhai et al. 2023): -1/N Σ_ij log σ(y_ij (t <z_I^i, z_T^j> + b)), y_ij = +1 if i = j else -1.

    Every pair is an independent binary classification, so no softmax over the batch is needed.
    """
    _check_pairs(z_img, z_txt)
    logits = clip_logits(z_img, z_txt, logit_scale) + logit_bias  # (N, N)
    n = len(logits)
    labels = 2 * torch.eye(n, device=logits.device, dtype=logits.dtype) - 1  # +1 diagonal, -1 elsewhere
    return -F.logsigmoid(labels * logits).sum() / n
