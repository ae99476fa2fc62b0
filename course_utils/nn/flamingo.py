"""Flamingo (Alayrac et al. 2022), small: a frozen causal language model made multimodal.

    visual_j = PerceiverResampler(frozen image features of image j)        (B, n_img, L, D)  L learned latents
    before each frozen LM block i:
        x = x + tanh(α_attn) · XAttn(LN(x), visual of the last image before each token)   eq. (24.3.8)
        x = x + tanh(α_ffw) · FFW(LN(x))
    α_attn = α_ffw = 0 at initialisation: the model is exactly the language model until training opens the gates.

The text holds one ``<image>`` marker per image (its input embedding is learned); a token attends only to the latents
of the image whose marker came last before it (Flamingo's per-image masking), tokens before the first image see none.
Only the resampler, the gated layers and the marker embedding are trained.
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.tokenizer import Tokenizer
from .attention import MLP, MultiHeadAttention
from .language_model import CausalLM

IMAGE_ID = Tokenizer.cls_id  # the id that stands for an <image> marker in a sequence (never in the LM's text)


class PerceiverLayer(nn.Module):
    """latents = latents + Attn(q = LN(latents), kv = [LN(x); LN(latents)]); latents = latents + FFW(LN(latents))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.norm_media, self.norm_latents = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, bias=False)
        self.norm_mlp, self.mlp = nn.LayerNorm(dim), MLP(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        q = self.norm_latents(latents)  # (B, L, D)
        kv = torch.cat([self.norm_media(x), q], dim=1)  # (B, N + L, D): the paper's concatenated keys/values
        latents = latents + self.attn(q, kv)  # (B, L, D)
        return latents + self.mlp(self.norm_mlp(latents))


class PerceiverResampler(nn.Module):
    """A fixed number of learned latent queries read a variable number of image features: (B, N, F) -> (B, L, D)."""

    def __init__(self, feature_dim: int, dim: int, num_latents: int = 8, depth: int = 2, heads: int = 4,
                 mlp_ratio: float = 2.0):
        super().__init__()
        if num_latents < 1 or depth < 1:
            raise ValueError(f"num_latents {num_latents!r} and depth {depth!r} must be >= 1")
        self.feature_dim = feature_dim
        self.proj = nn.Linear(feature_dim, dim)  # frozen features -> the LM's width
        self.latents = nn.Parameter(torch.randn(num_latents, dim) * 0.02)
        self.layers = nn.ModuleList(PerceiverLayer(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 3 or features.size(-1) != self.feature_dim:
            raise ValueError(f"expected image features (B, N, {self.feature_dim}), got {tuple(features.shape)}")
        x = self.proj(features)  # (B, N, D)
        latents = self.latents.expand(len(x), -1, -1)  # (B, L, D)
        for layer in self.layers:
            latents = layer(x, latents)
        return self.norm(latents)  # (B, L, D)


class GatedCrossAttention(nn.Module):
    """Flamingo's GATED XATTN-DENSE layer: tanh-gated cross-attention then a tanh-gated feed-forward, gates at 0."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.norm_attn, self.attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.norm_mlp, self.mlp = nn.LayerNorm(dim), MLP(dim, int(dim * mlp_ratio))
        self.alpha_attn = nn.Parameter(torch.zeros(1))  # tanh(0) = 0: the layer starts as the identity
        self.alpha_mlp = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, visual: torch.Tensor, media_mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), visual (B, M, D), media_mask (B, T, M) bool (True = token t may read visual token m)."""
        sees = media_mask.any(-1, keepdim=True)  # (B, T, 1): tokens before the first image read nothing
        mask = media_mask | ~sees  # a row with no key would give NaN; its output is zeroed below
        y = torch.where(sees, self.attn(self.norm_attn(x), visual, attn_mask=mask), 0.0)  # (B, T, D)
        x = x + torch.tanh(self.alpha_attn) * y  # eq. (24.3.8)
        return x + torch.tanh(self.alpha_mlp) * self.mlp(self.norm_mlp(x))


def media_mask(ids: torch.Tensor, n_images: int, num_latents: int, image_id: int = IMAGE_ID) -> torch.Tensor:
    """(B, T, n_images·L) bool: token t reads the latents of the last image whose marker is at or before t."""
    last = torch.cumsum(ids == image_id, dim=1) - 1  # (B, T): index of the last image so far, −1 = none yet
    image_of_key = torch.arange(n_images, device=ids.device).repeat_interleave(num_latents)  # (n_images·L,)
    return last[:, :, None] == image_of_key[None, None, :]


class FlamingoLM(nn.Module):
    """A frozen ``CausalLM`` with a Perceiver Resampler and a gated cross-attention layer before each of its blocks."""

    def __init__(self, lm: CausalLM, feature_dim: int, *, num_latents: int = 8, resampler_depth: int = 2,
                 heads: int = 4, image_id: int = IMAGE_ID):
        super().__init__()
        dim = lm.config.dim
        self.lm = lm.requires_grad_(False).eval()
        self.image_id, self.num_latents = image_id, num_latents
        self.resampler = PerceiverResampler(feature_dim, dim, num_latents, resampler_depth, heads)
        self.xattn = nn.ModuleList(GatedCrossAttention(dim, heads) for _ in range(lm.config.layers))
        self.image_embed = nn.Parameter(torch.randn(dim) * 0.02)  # the learned <image> marker

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.eval()  # the language model stays frozen (no dropout)
        return self

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, T, D): the LM's token embeddings, the learned marker where ids == image_id."""
        e = self.lm.embed(ids.masked_fill(ids == self.image_id, Tokenizer.pad_id))  # (B, T, D)
        return torch.where((ids == self.image_id)[..., None], self.image_embed.to(e.dtype), e)

    def visual(self, features: torch.Tensor) -> torch.Tensor:
        """(B, n_img, N, F) frozen image features -> (B, n_img·L, D) resampled visual tokens."""
        B, n = features.shape[:2]
        v = self.resampler(features.flatten(0, 1))  # (B·n_img, L, D)
        return v.reshape(B, n * self.num_latents, -1)

    def forward(self, ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Next-token logits (B, T, V) of ids (B, T) with one marker per image of features (B, n_img, N, F)."""
        if ids.dim() != 2 or features.dim() != 4 or len(ids) != len(features):
            raise ValueError(f"expected ids (B, T) and features (B, n_img, N, F), got {tuple(ids.shape)} "
                             f"and {tuple(features.shape)}")
        markers = (ids == self.image_id).sum(1)
        if bool((markers != features.size(1)).any()):
            raise ValueError(f"each sequence needs one image marker per image: {features.size(1)} images, "
                             f"markers per sequence {markers.tolist()}")
        visual = self.visual(features)  # (B, n_img·L, D)
        mask = media_mask(ids, features.size(1), self.num_latents, self.image_id)  # (B, T, n_img·L)
        h = self.lm.hidden(self.embed(ids), before_block=lambda i, x: self.xattn[i](x, visual, mask))
        return self.lm.logits(h)

    @torch.no_grad()
    def answer(self, ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(B,) the greedy next token after each prompt (ids end with the query's marker)."""
        return self(ids, features)[:, -1].argmax(-1)


__all__ = ["FlamingoLM", "GatedCrossAttention", "IMAGE_ID", "PerceiverLayer", "PerceiverResampler", "media_mask"]
