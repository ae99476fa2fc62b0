"""A small text-conditioned UNet ε_θ(x_t, t, c) for diffusion (24.11), laid out as Stable Diffusion's.

    x_t (B, C, H, W) -> conv -> [ResBlock (+ SpatialTransformer)] per level, ↓2 between levels -> middle
                     -> [concat skip, ResBlock (+ SpatialTransformer)] per level, ↑2 between levels -> conv -> ε̂

- the timestep enters every ResBlock as a sinusoidal embedding passed through an MLP (added to the features);
- the text enters through cross-attention: in a ``SpatialTransformer`` every pixel (a query) attends to the text
  encoder's token states (keys and values), as Stable Diffusion conditions on CLIP's text encoder.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import MLP, MultiHeadAttention


@dataclass
class UNetConfig:
    image_size: int = 32
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64, 128)  # one level per entry; the image halves between levels
    attention_levels: tuple[int, ...] = (1, 2)  # levels with self- and cross-attention (0 = full resolution)
    context_dim: int = 64  # width of the text encoder's token states
    heads: int = 4
    time_dim: int = 128
    groups: int = 8  # GroupNorm groups
    dropout: float = 0.0

    def __post_init__(self):
        self.channels = tuple(self.channels)
        self.attention_levels = tuple(self.attention_levels)
        down = 2 ** (len(self.channels) - 1)
        if self.image_size % down:
            raise ValueError(f"image size {self.image_size} is not divisible by {down} ({len(self.channels)} levels)")
        bad = [c for c in self.channels if c % self.groups or c % self.heads]
        if bad:
            raise ValueError(f"channels {bad} must be divisible by groups {self.groups} and heads {self.heads}")
        if any(not 0 <= i < len(self.channels) for i in self.attention_levels):
            raise ValueError(f"attention_levels {self.attention_levels} must index channels {self.channels}")

    @classmethod
    def fast(cls, **overrides) -> UNetConfig:
        return cls(**{"channels": (16, 32), "attention_levels": (1,), "time_dim": 32, **overrides})


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """emb(t) = [cos(t ω_0) … cos(t ω_{d/2−1}), sin(t ω_0) … sin(t ω_{d/2−1})], ω_i = max_period^(−i / (d/2)).

    The Transformer's positional encoding applied to the step number (``diffusers``' ``get_timestep_embedding`` with
    ``flip_sin_to_cos=True, downscale_freq_shift=0``)."""
    half = dim // 2
    omega = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * omega[None]  # (B, d/2)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (B, d)


class ResBlock(nn.Module):
    """h = conv(SiLU(GN(x))) + W_t e_t;  out = skip(x) + conv(dropout(SiLU(GN(h))))."""

    def __init__(self, c_in: int, c_out: int, time_dim: int, groups: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time_proj = nn.Linear(time_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, c_out, H, W)
        h = h + self.time_proj(F.silu(emb))[:, :, None, None]  # + the timestep, per channel
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SpatialTransformer(nn.Module):
    """Pixels as tokens: self-attention among them, cross-attention to the text tokens, an MLP; residual around all."""

    def __init__(self, channels: int, context_dim: int, heads: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.ln1, self.self_attn = nn.LayerNorm(channels), MultiHeadAttention(channels, heads)
        self.ln2 = nn.LayerNorm(channels)
        self.cross_attn = MultiHeadAttention(channels, heads, kv_dim=context_dim)  # Q from pixels, K/V from text
        self.ln3, self.mlp = nn.LayerNorm(channels), MLP(channels, 4 * channels)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor | None = None,
                need_weights: bool = False) -> torch.Tensor:
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)  # (B, HW, C)
        h = h + self.self_attn(self.ln1(h))
        y = self.cross_attn(self.ln2(h), context, key_padding_mask=context_mask, need_weights=need_weights)
        h = h + (y[0] if need_weights else y)  # (B, HW, C): each pixel reads the prompt
        h = h + self.mlp(self.ln3(h))
        return x + self.proj_out(h.transpose(1, 2).reshape(B, C, H, W))

    @property
    def last_cross_weights(self) -> torch.Tensor | None:
        """(B, heads, HW, L): where each pixel looked in the prompt, from the last call with ``need_weights``."""
        return self.cross_attn.last_weights


class UNet(nn.Module):
    """ε_θ(x_t, t, c): ``model(x_t (B, C, H, W), t (B,), context (B, L, D), context_mask (B, L) or None)``."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = cfg = config
        ch, n = cfg.channels, len(cfg.channels)
        self.time_mlp = nn.Sequential(nn.Linear(cfg.time_dim, cfg.time_dim), nn.SiLU(),
                                      nn.Linear(cfg.time_dim, cfg.time_dim))
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)

        def attn(i: int) -> nn.Module:
            return SpatialTransformer(ch[i], cfg.context_dim, cfg.heads, cfg.groups) if i in cfg.attention_levels \
                else nn.Identity()

        self.down = nn.ModuleList(ResBlock(ch[max(i - 1, 0)], ch[i], cfg.time_dim, cfg.groups, cfg.dropout)
                                  for i in range(n))
        self.down_attn = nn.ModuleList(attn(i) for i in range(n))
        self.downsample = nn.ModuleList(nn.Conv2d(ch[i], ch[i], 3, stride=2, padding=1) for i in range(n - 1))
        self.mid = ResBlock(ch[-1], ch[-1], cfg.time_dim, cfg.groups, cfg.dropout)
        self.mid_attn = SpatialTransformer(ch[-1], cfg.context_dim, cfg.heads, cfg.groups)
        self.up = nn.ModuleList(ResBlock(2 * ch[i], ch[i], cfg.time_dim, cfg.groups, cfg.dropout) for i in range(n))
        self.up_attn = nn.ModuleList(attn(i) for i in range(n))
        self.upsample = nn.ModuleList(nn.Conv2d(ch[i + 1], ch[i], 3, padding=1) for i in range(n - 1))
        self.norm_out = nn.GroupNorm(cfg.groups, ch[0])
        self.conv_out = nn.Conv2d(ch[0], cfg.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # start by predicting ε̂ = 0
        nn.init.zeros_(self.conv_out.bias)

    def check_input(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> None:
        cfg = self.config
        if x.dim() != 4 or x.size(1) != cfg.in_channels or x.size(-1) % 2 ** (len(cfg.channels) - 1):
            raise ValueError(f"x_t of shape {tuple(x.shape)}: expected (B, {cfg.in_channels}, H, W) with H, W "
                             f"divisible by {2 ** (len(cfg.channels) - 1)}")
        if context.dim() != 3 or context.size(-1) != cfg.context_dim or context.size(0) != x.size(0):
            raise ValueError(f"context of shape {tuple(context.shape)}: expected ({x.size(0)}, L, {cfg.context_dim})")
        if t.shape != (x.size(0),):
            raise ValueError(f"t of shape {tuple(t.shape)}: expected one step per image, ({x.size(0)},)")

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x, t, context)
        emb = self.time_mlp(timestep_embedding(t, self.config.time_dim))  # (B, time_dim)
        h, skips = self.conv_in(x), []  # (B, ch0, H, W)
        for i, (block, attn) in enumerate(zip(self.down, self.down_attn)):
            h = block(h, emb)
            h = attn(h, context, context_mask) if isinstance(attn, SpatialTransformer) else h
            skips.append(h)  # (B, ch_i, H / 2^i, W / 2^i)
            if i < len(self.downsample):
                h = self.downsample[i](h)  # halve H, W
        h = self.mid_attn(self.mid(h, emb), context, context_mask)
        for i in reversed(range(len(self.up))):
            h = self.up[i](torch.cat([h, skips[i]], dim=1), emb)  # (B, ch_i, …)
            attn = self.up_attn[i]
            h = attn(h, context, context_mask) if isinstance(attn, SpatialTransformer) else h
            if i > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")  # double H, W
                h = self.upsample[i - 1](h)  # ch_i -> ch_{i-1}
        return self.conv_out(F.silu(self.norm_out(h)))  # ε̂ (B, C, H, W)


__all__ = ["ResBlock", "SpatialTransformer", "UNet", "UNetConfig", "timestep_embedding"]
