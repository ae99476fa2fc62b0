"""Attention from scratch: scaled dot-product, multi-head (self and cross), and a pre-LN transformer block.

Mask convention, everywhere in this module (the same as ``F.scaled_dot_product_attention``):

* a **bool** mask means ``True`` = *keep* (may attend), ``False`` = blocked;
* a **float** mask is *added* to the scores before the softmax (use ``-inf`` to block).

The one exception is ``key_padding_mask``, which keeps the meaning it has in ``torch.nn.MultiheadAttention``:
shape ``(B, Tk)``, ``True`` = this key is padding and is ignored.

A query whose keys are all blocked gets all-zero weights and a zero output (what ``F.scaled_dot_product_attention``
does), not NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    return_weights: bool = False,
    dropout_p: float = 0.0,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + M) V, written out.

    q: (..., Tq, d_k), k: (..., Tk, d_k), v: (..., Tk, d_v); mask broadcastable to (..., Tq, Tk),
    bool (True = keep) or float (added to the scores). Returns out (..., Tq, d_v) and, if asked,
    the attention weights (..., Tq, Tk) (before dropout, so each row sums to 1; a fully blocked row is all 0).
    """
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., Tq, Tk)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
    blocked = (scores == float("-inf")).all(dim=-1, keepdim=True)  # (..., Tq, 1): queries with no key left
    scores = scores.masked_fill(blocked, 0.0)  # avoids softmax of all -inf = NaN
    weights = scores.softmax(dim=-1).masked_fill(blocked, 0.0)  # (..., Tq, Tk), rows sum to 1 (or are all 0)
    attn = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
    out = attn @ v  # (..., Tq, d_v)
    return (out, weights) if return_weights else out


def causal_mask(t_q: int, t_k: int | None = None, device: torch.device | None = None) -> torch.Tensor:
    """Bool mask (Tq, Tk), True on and below the diagonal: position i may look at j ≤ i.

    With Tk > Tq (new queries after Tk - Tq cached keys) the diagonal is aligned to the end: the last query
    sees every key. (``F.scaled_dot_product_attention(is_causal=True)`` aligns it to the start instead.)
    """
    t_k = t_q if t_k is None else t_k
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril(diagonal=t_k - t_q)


def _merge_masks(
    attn_mask: torch.Tensor | None,
    key_padding_mask: torch.Tensor | None,
    is_causal: bool,
    t_q: int,
    t_k: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    """One mask broadcastable to (B, h, Tq, Tk): bool (True = keep) when all parts are bool, else additive float."""
    parts = []
    if attn_mask is not None:
        if attn_mask.dim() == 3:  # (B, Tq, Tk) -> (B, 1, Tq, Tk), the same mask for every head
            attn_mask = attn_mask.unsqueeze(1)
        parts.append(attn_mask)
    if key_padding_mask is not None:
        if key_padding_mask.dtype != torch.bool:
            raise ValueError(f"key_padding_mask must be bool (True = padding), got {key_padding_mask.dtype}")
        parts.append(~key_padding_mask[:, None, None, :])  # (B, 1, 1, Tk), True = keep
    if is_causal:
        parts.append(causal_mask(t_q, t_k, device=device))  # (Tq, Tk)
    if not parts:
        return None
    if all(p.dtype == torch.bool for p in parts):
        mask = parts[0]
        for p in parts[1:]:
            mask = mask & p
        return mask
    mask = torch.zeros((), device=device, dtype=dtype)
    for p in parts:
        if p.dtype == torch.bool:
            p = torch.zeros(p.shape, device=device, dtype=dtype).masked_fill(~p, float("-inf"))
        mask = mask + p.to(dtype)
    return mask


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1 … head_h) W_O, head_i = Attention(Q W_Q^i, K W_K^i, V W_V^i).

    Self-attention: ``mha(x)``. Cross-attention: ``mha(x, context)``, queries from ``x`` (B, Tq, dim),
    keys and values from ``context`` (B, Tk, kv_dim); ``kv_dim`` may differ from ``dim``.
    """

    def __init__(self, dim: int, num_heads: int, *, kv_dim: int | None = None, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"width {dim} is not divisible by the number of heads {num_heads}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.kv_dim = dim if kv_dim is None else kv_dim
        self.dropout = dropout
        self.q_proj = nn.Linear(dim, dim, bias=bias)  # W_Q
        self.k_proj = nn.Linear(self.kv_dim, dim, bias=bias)  # W_K
        self.v_proj = nn.Linear(self.kv_dim, dim, bias=bias)  # W_V
        self.out_proj = nn.Linear(dim, dim, bias=bias)  # W_O
        self.last_weights: torch.Tensor | None = None  # (B, h, Tq, Tk), filled when need_weights=True

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, _ = t.shape
        return t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, h, T, hd)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x: (B, Tq, dim); context: (B, Tk, kv_dim) or None (self-attention).

        attn_mask: (Tq, Tk), (B, Tq, Tk) or (B, h, Tq, Tk); bool True = keep, or float added to the scores.
        key_padding_mask: (B, Tk) bool, True = padding (ignored), as in ``nn.MultiheadAttention``.
        Returns out (B, Tq, dim), and the weights (B, h, Tq, Tk) when ``need_weights``; these are also kept
        in ``self.last_weights`` (detached) for plotting.
        """
        context = x if context is None else context
        if x.size(-1) != self.dim:
            raise ValueError(f"query width {x.size(-1)} does not match the attention width {self.dim}")
        if context.size(-1) != self.kv_dim:
            raise ValueError(f"key/value width {context.size(-1)} does not match kv_dim {self.kv_dim}")
        B, Tq, _ = x.shape
        Tk = context.size(1)
        q = self._split_heads(self.q_proj(x))  # (B, h, Tq, hd)
        k = self._split_heads(self.k_proj(context))  # (B, h, Tk, hd)
        v = self._split_heads(self.v_proj(context))  # (B, h, Tk, hd)
        dropout_p = self.dropout if self.training else 0.0

        if need_weights:  # explicit formula, so the weights can be returned
            mask = _merge_masks(attn_mask, key_padding_mask, is_causal, Tq, Tk, x.device, q.dtype)
            y, weights = scaled_dot_product_attention(q, k, v, mask, return_weights=True, dropout_p=dropout_p)
            self.last_weights = weights.detach()
        else:  # fused kernel, same maths
            if is_causal and attn_mask is None and key_padding_mask is None and Tq == Tk:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
            else:
                mask = _merge_masks(attn_mask, key_padding_mask, is_causal, Tq, Tk, x.device, q.dtype)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).reshape(B, Tq, self.dim)  # (B, Tq, h·hd) = concat of the heads
        out = self.out_proj(y)  # (B, Tq, dim)
        return (out, weights) if need_weights else out

    @torch.no_grad()
    def load_torch_mha_(self, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (batch_first or not) into this module."""
        if m.embed_dim != self.dim or m.num_heads != self.num_heads:
            raise ValueError(f"nn.MultiheadAttention has width {m.embed_dim} and {m.num_heads} heads, "
                             f"this module {self.dim} and {self.num_heads}")
        if m.kdim != m.vdim:
            raise ValueError(f"kdim {m.kdim} != vdim {m.vdim} is not supported (one kv_dim for keys and values)")
        if m.kdim != self.kv_dim:
            raise ValueError(f"nn.MultiheadAttention has kdim {m.kdim}, this module kv_dim {self.kv_dim}")
        if m.bias_k is not None or m.add_zero_attn:
            raise ValueError("add_bias_kv / add_zero_attn are not supported")
        if m.in_proj_weight is not None:
            wq, wk, wv = m.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
        for lin, w in ((self.q_proj, wq), (self.k_proj, wk), (self.v_proj, wv), (self.out_proj, m.out_proj.weight)):
            lin.weight.copy_(w)
        if m.in_proj_bias is not None:
            for lin, b in zip((self.q_proj, self.k_proj, self.v_proj), m.in_proj_bias.chunk(3)):
                lin.bias.copy_(b)
            self.out_proj.bias.copy_(m.out_proj.bias)
        self.dropout = m.dropout
        return self

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """A new ``MultiHeadAttention`` holding the weights of ``m``."""
        ours = cls(m.embed_dim, m.num_heads, kv_dim=m.kdim, bias=m.in_proj_bias is not None, dropout=m.dropout)
        return ours.load_torch_mha_(m)


class CrossAttention(MultiHeadAttention):
    """Cross-attention: queries from ``x`` (B, Tq, dim), keys/values from ``context`` (B, Tk, kv_dim)."""

    def __init__(self, dim: int, kv_dim: int, num_heads: int, *, bias: bool = True, dropout: float = 0.0):
        super().__init__(dim, num_heads, kv_dim=kv_dim, bias=bias, dropout=dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor, **kwargs):  # context is required here
        return super().forward(x, context, **kwargs)


class QuickGELU(nn.Module):
    """x·σ(1.702x): the GELU approximation the original CLIP models were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def make_activation(act: str) -> nn.Module:
    if act == "gelu":
        return nn.GELU()
    if act == "quick_gelu":
        return QuickGELU()
    raise ValueError(f"unknown activation {act!r}, expected 'gelu' or 'quick_gelu'")


class MLP(nn.Module):
    """Position-wise feed-forward network: fc2(act(fc1(x)))."""

    def __init__(self, dim: int, hidden_dim: int, act: str = "gelu", dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim, bias=bias)
        self.act = make_activation(act)
        self.fc2 = nn.Linear(hidden_dim, dim, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.fc1(x)))  # (B, T, hidden_dim)
        return self.drop(self.fc2(x))  # (B, T, dim)


class TransformerBlock(nn.Module):
    """Pre-LN block: x + Attn(LN(x)) [+ CrossAttn(LN(x), context)] then x + MLP(LN(x)).

    ``causal=True`` lets position i attend only to j ≤ i (text decoders). ``cross_dim`` adds a cross-attention
    sub-layer over a ``context`` of that width (encoder-decoder / fusion models).
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        mlp_ratio: float = 4.0,
        act: str = "gelu",
        causal: bool = False,
        *,
        mlp_dim: int | None = None,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        ln_eps: float = 1e-5,
        bias: bool = True,
        cross_dim: int | None = None,
    ):
        super().__init__()
        self.causal = causal
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = MultiHeadAttention(dim, heads, bias=bias, dropout=attn_dropout)
        self.drop = nn.Dropout(dropout)
        if cross_dim is not None:
            self.norm_cross = nn.LayerNorm(dim, eps=ln_eps)
            self.cross_attn = CrossAttention(dim, cross_dim, heads, bias=bias, dropout=attn_dropout)
        else:
            self.norm_cross, self.cross_attn = None, None
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = MLP(dim, mlp_dim if mlp_dim is not None else int(dim * mlp_ratio), act, dropout, bias)

    def forward(
        self,
        x: torch.Tensor,
        *,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        context_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> torch.Tensor:
        """x: (B, T, dim) -> (B, T, dim). With ``need_weights`` the attention weights are kept on
        ``self.attn.last_weights`` (and ``self.cross_attn.last_weights``)."""
        h = self.attn(self.norm1(x), attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                      is_causal=self.causal, need_weights=need_weights)
        x = x + self.drop(h[0] if need_weights else h)  # (B, T, dim)
        if self.cross_attn is not None:
            if context is None:
                raise ValueError("this block has cross-attention: pass context=(B, Tk, cross_dim)")
            h = self.cross_attn(self.norm_cross(x), context, key_padding_mask=context_padding_mask,
                                need_weights=need_weights)
            x = x + self.drop(h[0] if need_weights else h)
        x = x + self.mlp(self.norm2(x))  # (B, T, dim)
        return x
