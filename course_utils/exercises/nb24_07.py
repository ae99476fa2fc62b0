"""Checkers of notebook 24.7's exercises (Vision Transformer). Each runs in well under a second."""
from __future__ import annotations

import math

import torch

from ..nn.vit import patchify, sincos_2d_pos_embed
from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.7.1

# (image size, patch size, width D, MLP width D_mlp): ViT-B/16, ViT-B/4, and the counting ViT with P = 8 and 4
_COST_CASES = ((224, 16, 768, 3072), (224, 4, 768, 3072), (32, 8, 64, 128), (32, 4, 64, 128))


def _share(image_size: int, patch: int, dim: int, mlp_dim: int, tokens_plus: int = 1, attn_factor: int = 4) -> float:
    """Eq. (24.7.7): share of Q K^T and A V in one encoder layer's FLOPs (T = N + 1 tokens)."""
    T = (image_size // patch) ** 2 + tokens_plus
    attention = attn_factor * T**2 * dim
    return attention / (attention + 8 * T * dim**2 + 4 * T * dim * mlp_dim)


@checker("24.7.1", "attention's share of one encoder layer's FLOPs, eq. (24.7.7)")
def check_attention_share(fn) -> str:
    for case in _COST_CASES:
        got = call(fn, *case)
        if not isinstance(got, (int, float)) and not (torch.is_tensor(got) and got.numel() == 1):
            raise Wrong(f"attention_share{case} returned {type(got).__name__}, expected one number (a share in [0, 1])",
                        "return attention FLOPs / all FLOPs of the layer as a float")
        got = float(got)
        if abs(got - _share(*case, tokens_plus=0)) < 1e-9 < abs(got - _share(*case)):
            raise Wrong(f"attention_share{case} = {got:.4f}: you counted N tokens, but the layer sees T = N + 1",
                        "the class token is a token too: T = HW/P² + 1")
        if abs(got - _share(*case, attn_factor=2)) < 1e-9:
            raise Wrong(f"attention_share{case} = {got:.4f}: only one of the two T×T matrix products is counted",
                        "Q K^T (T×D times D×T) and A V (T×T times T×D) each cost 2·T²·D FLOPs")
        if abs(got - 100 * _share(*case)) < 1e-6:
            raise Wrong(f"attention_share{case} = {got:.2f} is a percentage", "return a share in [0, 1], not %")
        close(got, _share(*case), f"attention_share{case}", tol=1e-6,
              hint="eq. (24.7.7): 8·T·D² (QKV + output) + 4·T·D·D_mlp (MLP) + 4·T²·D (Q K^T and A V)")
    vit_b = _share(*_COST_CASES[0])
    return f"ViT-B/16 spends {vit_b:.1%} of a layer's FLOPs on attention, ViT-B/4 {_share(*_COST_CASES[1]):.1%}"


# ----------------------------------------------------------------------------------------------- 24.7.2


def _unpatchify_cases():
    g = torch.Generator().manual_seed(7)
    return [(torch.rand(2, 3, 16, 16, generator=g), 4), (torch.rand(1, 1, 8, 8, generator=g), 2),
            (torch.rand(3, 3, 32, 32, generator=g), 8)]


def _grid_transposed(x_p: torch.Tensor, p: int, C: int) -> torch.Tensor:
    """A typical slip: patch i put in grid column i // g, row i % g (column-major order)."""
    B, N, _ = x_p.shape
    g = math.isqrt(N)
    return x_p.view(B, g, g, C, p, p).permute(0, 3, 2, 4, 1, 5).reshape(B, C, g * p, g * p)


def _channel_last(x_p: torch.Tensor, p: int, C: int) -> torch.Tensor:
    """A typical slip: each patch vector read as (P, P, C) although patchify flattens it as (C, P, P)."""
    B, N, _ = x_p.shape
    g = math.isqrt(N)
    return x_p.view(B, g, g, p, p, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, g * p, g * p)


@checker("24.7.2", "unpatchify: the inverse of eq. (24.7.1)")
def check_unpatchify(fn) -> str:
    for x, p in _unpatchify_cases():
        B, C, H, W = x.shape
        x_p = patchify(x, p)  # (B, N, C·p·p)
        got = call(fn, x_p.clone(), p, C)
        if not torch.is_tensor(got):
            raise Wrong(f"unpatchify returned {type(got).__name__}, expected a tensor (B, C, H, W)")
        if tuple(got.shape) != (B, C, H, W):
            raise Wrong(f"unpatchify of patches {tuple(x_p.shape)} (P = {p}, C = {C}) has shape "
                        f"{tuple(got.shape)}, expected {(B, C, H, W)}",
                        "N = (H/P)² patches on a square grid: the grid side is sqrt(N)")
        if torch.equal(got, x):
            continue
        if torch.equal(got, _grid_transposed(x_p, p, C)):
            raise Wrong(f"P = {p}: the patches land in transposed grid places (column-major order)",
                        "patches run row by row: patch i sits in grid row i // g, column i % g")
        if C > 1 and torch.equal(got, _channel_last(x_p, p, C)):
            raise Wrong(f"P = {p}: each patch is read as (P, P, C), but patchify flattens it channel-first (C, P, P)",
                        "view each patch vector as (C, P, P) before putting the grid back together")
        close(got, x, f"unpatchify(patchify(x, {p}), {p}, {C})", tol=0.0,
              hint="undo the three steps of section 2.2 in reverse order: reshape, permute, reshape")
    return "unpatchify(patchify(x, P), P, C) gives x back exactly"


# ----------------------------------------------------------------------------------------------- 24.7.3


def _sincos(g: int, dim: int, swap: bool = False, quarter: int | None = None) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(g, dtype=torch.float64), torch.arange(g, dtype=torch.float64),
                            indexing="ij")
    q = quarter or dim // 4
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / q)
    x, y = xs.flatten()[:, None] * omega, ys.flatten()[:, None] * omega  # (g·g, D/4)
    if swap:
        x, y = y, x
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], 1).float()


@checker("24.7.3", "fixed 2-D sin-cos position embedding")
def check_sincos(fn) -> str:
    for g, dim in ((4, 8), (3, 16), (14, 64)):
        got = call(fn, g, dim)
        if not torch.is_tensor(got):
            raise Wrong(f"sincos_2d({g}, {dim}) returned {type(got).__name__}, expected a tensor (g·g, D)")
        if tuple(got.shape) != (g * g, dim):
            raise Wrong(f"sincos_2d({g}, {dim}) has shape {tuple(got.shape)}, expected {(g * g, dim)}",
                        "one row per patch position (row-major), D numbers each")
        got = got.float()
        if torch.allclose(got, _sincos(g, dim, swap=True), atol=1e-5) and g > 1:
            raise Wrong(f"sincos_2d({g}, {dim}): the column (x) and row (y) halves are swapped",
                        "the first D/2 numbers encode the column x = i % g, the last D/2 the row y = i // g")
        if dim >= 8 and torch.allclose(got, _sincos(g, dim, quarter=dim // 2), atol=1e-5):
            raise Wrong(f"sincos_2d({g}, {dim}): the frequencies use k / (D/2); they run over k / (D/4)",
                        "each of the four blocks has D/4 frequencies ω_k = 10000^(-k/(D/4)), k = 0 … D/4 − 1")
        close(got, sincos_2d_pos_embed(g, g, dim), f"sincos_2d({g}, {dim})", tol=1e-5,
              hint="[sin(x ω), cos(x ω), sin(y ω), cos(y ω)] with x the column and y the row of each patch")
    return "the same table as ViTConfig(pos_embed='sincos') uses"
