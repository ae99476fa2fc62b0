"""A LLaVA-style multimodal language model in miniature (Liu et al. 2023, notebook 24.12).

    v = E_img(x)                      (B, N, C)   frozen image encoder: a grid of N feature tokens
    H_v = W_2 GELU(W_1 v)             (B, N, D)   the projector, a two-layer MLP (LLaVA-1.5) into the LM's width
    p(y_t | x, q, y_<t) = LM([H_v ; E(<bos> q y_<t)])_t                the causal LM reads image tokens as words

Training minimizes the next-token cross-entropy on the answer tokens only (``answer_only_loss``): the prompt and
the image are context, not targets. Stage 1 trains the projector alone on captions, stage 2 the projector and the LM
on instructions.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.tokenizer import Tokenizer
from .language_model import CausalLM


class Projector(nn.Module):
    """Image tokens into the LM's embedding space: Linear → GELU → Linear (LLaVA-1.5's ``mlp2x_gelu``)."""

    def __init__(self, image_dim: int, dim: int):
        super().__init__()
        if image_dim < 1 or dim < 1:
            raise ValueError(f"image_dim {image_dim!r} and dim {dim!r} must be positive")
        self.linear_1 = nn.Linear(image_dim, dim)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(v)))  # (B, N, C) -> (B, N, D)


def answer_only_loss(logits: torch.Tensor, ids: torch.Tensor, answer_mask: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy on the answer tokens only: position t predicts ids[t + 1] where answer_mask[t + 1].

    logits (B, T, V) at the text positions, ids and answer_mask (B, T)."""
    if logits.shape[:2] != ids.shape or ids.shape != answer_mask.shape:
        raise ValueError(f"logits {tuple(logits.shape)}, ids {tuple(ids.shape)} and answer_mask "
                         f"{tuple(answer_mask.shape)} must agree on (B, T)")
    targets = ids[:, 1:].masked_fill(~answer_mask[:, 1:], -100)  # (B, T-1): -100 = not a target
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


class MiniLLaVA(nn.Module):
    """Projector + causal LM; the frozen image encoder stays outside (its tokens are the input ``v``)."""

    def __init__(self, lm: CausalLM, image_dim: int):
        super().__init__()
        self.projector = Projector(image_dim, lm.config.dim)
        self.lm = lm

    def embeds(self, v: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """[projected image tokens ; token embeddings]: (B, N, C), (B, T) -> (B, N + T, D)."""
        if v.dim() != 3 or v.size(-1) != self.projector.linear_1.in_features:
            raise ValueError(f"image tokens must be (B, N, {self.projector.linear_1.in_features}), "
                             f"got shape {tuple(v.shape)}")
        return torch.cat([self.projector(v), self.lm.embed(ids)], dim=1)

    def forward(self, v: torch.Tensor, ids: torch.Tensor, pad_id: int = Tokenizer.pad_id) -> torch.Tensor:
        """Logits (B, T, V) at the text positions; padding in ids is masked as keys."""
        n = v.size(1)
        pad = torch.cat([torch.zeros(len(ids), n, dtype=torch.bool, device=ids.device), ids == pad_id], dim=1)
        return self.lm.logits(self.lm.hidden(self.embeds(v, ids), key_padding_mask=pad))[:, n:]  # (B, T, V)

    @torch.no_grad()
    def generate(self, v: torch.Tensor, prompt_ids: Sequence[Sequence[int]], max_new: int,
                 eos_id: int = Tokenizer.eos_id) -> torch.Tensor:
        """Greedy answers (B, max_new) to one prompt per image (token lists starting with <bos>). Prompts of the
        same length are decoded together, so no padding shifts a position."""
        if len(prompt_ids) != len(v):
            raise ValueError(f"{len(prompt_ids)} prompts for {len(v)} images")
        out = torch.full((len(v), max_new), eos_id, dtype=torch.long)
        lengths = torch.tensor([len(p) for p in prompt_ids])
        for n in lengths.unique().tolist():
            rows = (lengths == n).nonzero().flatten()
            ids = torch.tensor([list(prompt_ids[i]) for i in rows.tolist()], device=v.device)  # (b, n)
            out[rows] = self.lm.generate(self.embeds(v[rows], ids), max_new, eos_id=eos_id).cpu()
        return out


__all__ = ["MiniLLaVA", "Projector", "answer_only_loss"]
