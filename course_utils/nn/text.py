"""CLIP's text encoder from scratch: a causal transformer that reads a caption and pools at its end-of-text token.

tokens (B, T) -> token embedding + learned positions -> L pre-LN blocks with a causal mask -> final LN
-> the hidden state at the end-of-text position -> linear projection (no bias) -> text feature (B, output_dim).

Because of the causal mask the end-of-text token is the first position that has seen the whole caption, so its
state summarizes it (Radford et al. 2021). Two ways to find it, as in open_clip:

* ``pool="eot_argmax"``: the position of the largest token id in each row (OpenAI's BPE gives ``<end_of_text>`` the
  largest id, so ``text.argmax(-1)`` finds it);
* ``pool="eos_id"``: the first position whose id equals ``eos_id`` (any tokenizer, e.g. the toy world's).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import TransformerBlock

POOLS = ("eot_argmax", "eos_id")


@dataclass
class TextConfig:
    vocab_size: int = 128
    context_length: int = 32  # the longest token sequence (positions learned for each)
    width: int = 64
    heads: int = 4
    layers: int = 3
    mlp_ratio: float = 4.0
    act: str = "gelu"  # "gelu" | "quick_gelu" (OpenAI CLIP)
    ln_eps: float = 1e-5
    output_dim: int | None = 64  # text projection width×output_dim (no bias); None = no projection
    pool: str = "eos_id"  # "eos_id" (first token == eos_id) | "eot_argmax" (largest token id, OpenAI BPE)
    eos_id: int | None = 2  # needed by pool="eos_id"
    dropout: float = 0.0

    def __post_init__(self):
        if self.width % self.heads != 0:
            raise ValueError(f"text width {self.width} is not divisible by the number of heads {self.heads}")
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {self.pool!r}")
        if self.pool == "eos_id" and self.eos_id is None:
            raise ValueError("pool='eos_id' needs eos_id=<the tokenizer's end-of-text id>")
        if self.eos_id is not None and not 0 <= self.eos_id < self.vocab_size:
            raise ValueError(f"eos_id {self.eos_id} is outside the vocabulary [0, {self.vocab_size})")
        if self.act not in ("gelu", "quick_gelu"):
            raise ValueError(f"act must be 'gelu' or 'quick_gelu', got {self.act!r}")

    @classmethod
    def fast(cls, **overrides) -> TextConfig:
        """A tiny text encoder for COURSE_FAST=1 runs and tests: 2 layers of width 32."""
        kw = dict(width=32, heads=2, layers=2, mlp_ratio=2.0, output_dim=32)
        kw.update(overrides)
        return cls(**kw)


class TextTransformer(nn.Module):
    """Causal text transformer pooled at the end-of-text token: tokens (B, T) -> features (B, output_dim)."""

    def __init__(self, config: TextConfig):
        super().__init__()
        self.config = c = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.width)
        self.positional_embedding = nn.Parameter(torch.empty(c.context_length, c.width))
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(c.width, c.heads, c.mlp_ratio, act=c.act, causal=True, dropout=c.dropout, ln_eps=c.ln_eps)
            for _ in range(c.layers)
        )
        self.ln_final = nn.LayerNorm(c.width, eps=c.ln_eps)
        self.proj = nn.Linear(c.width, c.output_dim, bias=False) if c.output_dim else None
        self.feature_dim = c.output_dim or c.width
        self.init_parameters()

    @torch.no_grad()
    def init_parameters(self):
        """open_clip's text initialisation: small embeddings, residual projections scaled by 1/sqrt(2L)."""
        c = self.config
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        attn_std = c.width**-0.5
        proj_std = attn_std * (2 * c.layers) ** -0.5
        fc_std = (2 * c.width) ** -0.5
        for block in self.blocks:
            for lin in (block.attn.q_proj, block.attn.k_proj, block.attn.v_proj):
                nn.init.normal_(lin.weight, std=attn_std)
                nn.init.zeros_(lin.bias)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.zeros_(block.attn.out_proj.bias)
            nn.init.normal_(block.mlp.fc1.weight, std=fc_std)
            nn.init.zeros_(block.mlp.fc1.bias)
            nn.init.normal_(block.mlp.fc2.weight, std=proj_std)
            nn.init.zeros_(block.mlp.fc2.bias)
        if self.proj is not None:
            nn.init.normal_(self.proj.weight, std=attn_std)

    def check_tokens(self, text: torch.Tensor) -> None:
        """A clear ValueError for token ids a student may pass by mistake (wrong dtype, shape, range, length)."""
        c = self.config
        if not torch.is_tensor(text) or text.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            kind = text.dtype if torch.is_tensor(text) else type(text).__name__
            raise ValueError(f"expected integer token ids (B, T), got {kind}; tokenize the captions first")
        if text.dim() != 2:
            raise ValueError(f"expected token ids of shape (B, T), got shape {tuple(text.shape)}")
        if text.size(1) > c.context_length:
            raise ValueError(f"token sequence length {text.size(1)} exceeds context_length {c.context_length}")
        if text.numel():
            lo, hi = int(text.min()), int(text.max())
            if lo < 0 or hi >= c.vocab_size:
                bad = hi if hi >= c.vocab_size else lo
                raise ValueError(f"token id {bad} is out of range for vocab_size {c.vocab_size}")

    def eot_positions(self, text: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B,) index of each sequence's end-of-text token."""
        if self.config.pool == "eot_argmax":
            return text.argmax(dim=-1)  # OpenAI BPE: <end_of_text> has the largest id
        is_eos = text == self.config.eos_id  # (B, T)
        missing = (~is_eos.any(dim=-1)).nonzero()
        if len(missing):
            row = int(missing[0])
            raise ValueError(f"token row {row} has no end-of-text token (eos_id {self.config.eos_id}); "
                             f"the text encoder pools at that token")
        return is_eos.int().argmax(dim=-1)  # first eos in each row

    def forward_features(
        self, text: torch.Tensor, return_attn: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, T) -> final LayerNormed states (B, T, width); with ``return_attn`` also (L, B, h, T, T)."""
        self.check_tokens(text)
        T = text.size(1)
        x = self.token_embedding(text) + self.positional_embedding[:T]  # (B, T, width)
        x = self.drop(x)
        attns = []
        for block in self.blocks:
            x = block(x, need_weights=return_attn)  # causal self-attention, (B, T, width)
            if return_attn:
                attns.append(block.attn.last_weights)  # (B, h, T, T)
        x = self.ln_final(x)  # (B, T, width)
        return (x, torch.stack(attns)) if return_attn else x

    def pool(self, tokens: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, T, width) states -> (B, width) at the end-of-text position."""
        idx = self.eot_positions(text)  # (B,)
        return tokens[torch.arange(tokens.size(0), device=tokens.device), idx]  # (B, width)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> text features (B, feature_dim) (not L2-normalized)."""
        x = self.pool(self.forward_features(text), text)  # (B, width)
        return self.proj(x) if self.proj is not None else x  # (B, output_dim)

    @torch.no_grad()
    def attention_maps(self, text: torch.Tensor) -> torch.Tensor:
        """Causal attention weights of every layer: (L, B, heads, T, T), without gradients."""
        return self.forward_features(text, return_attn=True)[1]
