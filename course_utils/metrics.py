"""Metrics shared by the notebooks: accuracy, recall@K, alignment and uniformity."""
from __future__ import annotations

import torch


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Share of rows whose arg-max equals the target, in [0, 1]."""
    if logits.shape[0] != target.shape[0]:
        raise ValueError(f"logits have {logits.shape[0]} rows but target has {target.shape[0]}")
    return (logits.argmax(-1) == target).float().mean().item()


def recall_at_k(sim: torch.Tensor, relevant: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """Recall@K for queries (rows of ``sim``, (Q, G)) where ``relevant`` (Q, G) bool marks correct gallery items."""
    if sim.shape != relevant.shape:
        raise ValueError(f"sim has shape {tuple(sim.shape)} but relevant has {tuple(relevant.shape)}")
    order = sim.argsort(dim=1, descending=True)  # (Q, G)
    hits = relevant.gather(1, order)  # (Q, G) relevance in ranked order
    return {f"R@{k}": hits[:, :k].any(dim=1).float().mean().item() for k in ks}


def alignment(x: torch.Tensor, y: torch.Tensor, alpha: float = 2.0) -> float:
    """Wang & Isola (2020): E ||f(x) - f(y)||^alpha over positive pairs (rows of x, y L2-normalized)."""
    return (x - y).norm(dim=1).pow(alpha).mean().item()


def uniformity(x: torch.Tensor, t: float = 2.0) -> float:
    """Wang & Isola (2020): log E exp(-t ||f(x) - f(y)||^2) over all pairs."""
    return torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log().item()
