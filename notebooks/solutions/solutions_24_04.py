"""Reference solutions of notebook 24.4's checked exercises (``course_utils.exercises.check("24.4.k", answer)``)."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from course_utils import data as W
from course_utils.data.clip_batches import SEEN_PAIRS


def min_row_loss(n: int, tau: float) -> float:
    """Eq. (24.4.2), one row: log(1 + Σ_{j≠i} e^{(c_ij − c_ii)/τ}) is lowest at c_ii = 1, c_ij = −1."""
    return math.log1p((n - 1) * math.exp(-2.0 / tau))


def siglip_grad(logits: torch.Tensor) -> torch.Tensor:
    """dL/ds_ij of L = −(1/N) Σ_ij log σ(y_ij s_ij), y = +1 on the diagonal, −1 elsewhere."""
    n = len(logits)
    y = 2 * torch.eye(n) - 1  # (N, N)
    return -y * torch.sigmoid(-y * logits) / n


def distinct_batch(rng: np.random.Generator, n: int) -> list:
    """n single-object training scenes whose (color, shape, size) are all different."""
    descriptions = [(c, s, z) for c, s in SEEN_PAIRS for z in W.SIZES]
    if n > len(descriptions):
        raise ValueError(f"only {len(descriptions)} distinct descriptions exist, asked for {n}")
    picks = rng.permutation(len(descriptions))[:n]
    return [W.sample_scene(rng, 1, combos=[descriptions[k][:2]], sizes=(descriptions[k][2],)) for k in picks]


def ensemble_classifier(z: torch.Tensor) -> torch.Tensor:
    """Eq. (24.4.8): z (C, M, d) normalized prompt features -> W (d, C)."""
    return F.normalize(z.mean(dim=1), dim=-1).T


SOLUTIONS = {
    "24.4.1": min_row_loss,
    "24.4.2": siglip_grad,
    "24.4.3": distinct_batch,
    "24.4.4": ensemble_classifier,
}
