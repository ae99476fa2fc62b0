"""DALL-E's second stage at toy scale (24.11): one causal transformer over the prompt's tokens followed by the
image's 64 codebook tokens (from ``autoencoder.DiscreteAutoencoder``), trained to predict each image token from the
text and the image tokens before it:

    p(image tokens | text) = Π_{i=1}^{64} p(k_i | text, k_1 … k_{i−1})

Generation samples k_1 … k_64 one at a time (temperature, top-k) and the discrete autoencoder's decoder draws them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import TransformerBlock
from .diffusion import to_pixels

N_IMAGE_TOKENS = 64  # 8 × 8 cells


@dataclass
class TokenPriorConfig:
    text_vocab: int
    codebook_size: int = 64
    text_len: int = 24  # prompts are right-padded (or cut) to this many tokens (the world's longest has 20)
    dim: int = 64
    layers: int = 4
    heads: int = 4
    dropout: float = 0.0

    @classmethod
    def fast(cls, **overrides) -> TokenPriorConfig:
        return cls(**{"dim": 32, "layers": 1, **overrides})


class TokenPrior(nn.Module):
    """Decoder-only transformer over [text (text_len), image tokens k_1 … k_63]; position text_len − 1 + i
    predicts k_i."""

    def __init__(self, config: TokenPriorConfig):
        super().__init__()
        self.config = cfg = config
        self.text_embedding = nn.Embedding(cfg.text_vocab, cfg.dim)
        self.image_embedding = nn.Embedding(cfg.codebook_size, cfg.dim)
        self.pos = nn.Parameter(torch.zeros(cfg.text_len + N_IMAGE_TOKENS - 1, cfg.dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(TransformerBlock(cfg.dim, cfg.heads, causal=True, dropout=cfg.dropout)
                                    for _ in range(cfg.layers))
        self.ln = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.codebook_size)

    def fit_text(self, text: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> (B, text_len): right-padded with 0 (pad) or cut."""
        L = self.config.text_len
        return text[:, :L] if text.size(1) >= L else F.pad(text, (0, L - text.size(1)))

    def forward(self, text: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        """Text ids (B, T) and image tokens (B, n < 64 allowed) -> logits (B, n + 1 ≤ 64, K) for k_1 … k_{n+1}."""
        text = self.fit_text(text)  # (B, L)
        n = image_tokens.size(1)
        if n >= N_IMAGE_TOKENS:
            image_tokens, n = image_tokens[:, :N_IMAGE_TOKENS - 1], N_IMAGE_TOKENS - 1  # k_64 is never an input
        x = torch.cat([self.text_embedding(text), self.image_embedding(image_tokens)], 1)  # (B, L + n, dim)
        x = x + self.pos[:x.size(1)]
        for block in self.blocks:
            x = block(x)  # causal self-attention over text and image tokens
        L = self.config.text_len
        return self.head(self.ln(x[:, L - 1:]))  # (B, n + 1, K): predictions of k_1 … k_{n+1}

    def loss(self, text: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        """−(1/64) Σ_i log p(k_i | text, k_<i) (teacher forcing)."""
        logits = self(text, image_tokens)  # (B, 64, K)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), image_tokens.reshape(-1))

    @torch.no_grad()
    def generate(self, text: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample 64 image tokens (B, 64) for the prompts ``text`` (B, T), one position at a time."""
        if temperature <= 0:
            raise ValueError(f"temperature {temperature!r} must be > 0")
        tokens = text.new_zeros(text.size(0), 0)
        for _ in range(N_IMAGE_TOKENS):
            logits = self(text, tokens)[:, -1] / temperature  # (B, K) for the next token
            if top_k is not None:
                kth = logits.topk(top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = logits.softmax(-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).to(text.device)  # (B, 1)
            tokens = torch.cat([tokens, nxt], 1)
        return tokens


class DiscreteTextToImage(nn.Module):
    """DALL-E's two stages together: the prior writes 64 codebook tokens, the discrete autoencoder draws them."""

    def __init__(self, dvae: nn.Module, prior: TokenPrior):
        super().__init__()
        self.dvae, self.prior = dvae, prior

    @torch.no_grad()
    def generate(self, text: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Prompts' token ids (B, T) -> images (B, 3, 32, 32) in [0, 1]."""
        tokens = self.prior.generate(text, temperature, top_k, generator)  # (B, 64)
        return to_pixels(self.dvae.decode(tokens))


__all__ = ["DiscreteTextToImage", "N_IMAGE_TOKENS", "TokenPrior", "TokenPriorConfig"]
