"""A tiny causal language model (GPT-style, decoder only), the frozen language model of 24.3 (Flamingo) and 24.12
(LLaVA).

    h_0 = E[w_1 … w_T] + P[1 … T]                      (B, T, D)  token + learned position embeddings
    h_l = Block_l(h_{l-1}),  causal self-attention      (B, T, D)  position t sees 1 … t
    p(w_{t+1} | w_≤t) = softmax(W_o LN(h_L)_t)          (B, T, V)

A multimodal model feeds it *embeddings* instead of token ids (``embeds=``): LLaVA puts projected image tokens in
front of the text's embeddings, Flamingo inserts gated cross-attention before each block (``before_block=``).
Pre-training is next-token prediction on ``<bos> text <eos>`` sequences (``lm_loss``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..data.tokenizer import Tokenizer
from .attention import TransformerBlock


@dataclass
class LMConfig:
    vocab_size: int
    dim: int = 128
    layers: int = 4
    heads: int = 4
    max_len: int = 160  # room for a few-shot prompt of several image-text pairs
    dropout: float = 0.0

    def __post_init__(self):
        if self.vocab_size < 4 or self.max_len < 2 or self.dim % self.heads:
            raise ValueError(f"need vocab_size >= 4, max_len >= 2 and dim divisible by heads, got {self}")


class CausalLM(nn.Module):
    def __init__(self, config: LMConfig):
        super().__init__()
        self.config = config
        self.token_embed = nn.Embedding(config.vocab_size, config.dim)
        self.pos_embed = nn.Parameter(torch.randn(1, config.max_len, config.dim) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(config.dim, config.heads, causal=True, dropout=config.dropout)
                                    for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.head.weight = self.token_embed.weight  # tied input and output embeddings
        nn.init.normal_(self.token_embed.weight, std=0.02)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings without positions: (B, T) -> (B, T, D)."""
        if ids.dim() != 2:
            raise ValueError(f"token ids must be (B, T), got shape {tuple(ids.shape)}")
        return self.token_embed(ids)

    def hidden(self, embeds: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None, *,
               before_block: Optional[Callable[[int, torch.Tensor], torch.Tensor]] = None) -> torch.Tensor:
        """(B, T, D) input embeddings -> (B, T, D) final hidden states after the last LayerNorm.

        key_padding_mask (B, T): True = padding. before_block(i, h) -> h runs before block i (Flamingo's layers)."""
        T = embeds.size(1)
        if T > self.config.max_len:
            raise ValueError(f"sequence of {T} tokens is longer than max_len {self.config.max_len}")
        h = embeds + self.pos_embed[:, :T]  # (B, T, D)
        for i, block in enumerate(self.blocks):
            if before_block is not None:
                h = before_block(i, h)
            h = block(h, key_padding_mask=key_padding_mask)  # (B, T, D), causal
        return self.norm(h)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)  # (B, T, V)

    def forward(self, ids: Optional[torch.Tensor] = None, *, embeds: Optional[torch.Tensor] = None,
                key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits (B, T, V) of the next token at every position, from ids (B, T) or embeds (B, T, D)."""
        if (ids is None) == (embeds is None):
            raise ValueError("pass exactly one of ids (B, T) or embeds (B, T, D)")
        if embeds is None:
            embeds = self.embed(ids)
        return self.logits(self.hidden(embeds, key_padding_mask))

    @torch.no_grad()
    def generate(self, prefix_embeds: torch.Tensor, max_new: int, *, eos_id: int = Tokenizer.eos_id) -> torch.Tensor:
        """Greedy continuation of (B, P, D) prefix embeddings: (B, max_new) token ids, eos_id after a row's <eos>.

        Recomputes the whole sequence at each step (no key-value cache): short sequences, clear code."""
        if max_new < 1:
            raise ValueError(f"max_new {max_new!r} must be >= 1")
        x, out = prefix_embeds, []
        done = torch.zeros(x.size(0), dtype=torch.bool, device=x.device)
        for _ in range(max_new):
            nxt = self.logits(self.hidden(x)[:, -1]).argmax(-1)  # (B,)
            nxt = nxt.masked_fill(done, eos_id)
            out.append(nxt)
            done |= nxt == eos_id
            if bool(done.all()):
                break
            x = torch.cat([x, self.embed(nxt[:, None])], 1)  # (B, P + t, D)
        ids = torch.stack(out, 1)  # (B, ≤ max_new)
        return F.pad(ids, (0, max_new - ids.size(1)), value=eos_id)

    @classmethod
    @torch.no_grad()
    def from_gpt2(cls, gpt2: nn.Module) -> "CausalLM":
        """Our model holding the weights of a ``transformers`` ``GPT2LMHeadModel`` with exact GELU
        (``activation_function="gelu"``). GPT-2's ``Conv1D`` stores weights as (in, out): transposed here."""
        c = gpt2.config
        if c.activation_function != "gelu" or c.scale_attn_by_inverse_layer_idx or c.reorder_and_upcast_attn:
            raise ValueError(f"only GPT-2 with activation_function='gelu' and plain attention maps onto CausalLM, "
                             f"got activation {c.activation_function!r}")
        model = cls(LMConfig(c.vocab_size, c.n_embd, c.n_layer, c.n_head, c.n_positions))
        t = gpt2.transformer
        model.token_embed.weight.copy_(t.wte.weight)
        model.pos_embed.copy_(t.wpe.weight[None])
        for ours, theirs in zip(model.blocks, t.h):
            ours.norm1.load_state_dict(theirs.ln_1.state_dict())
            ours.norm2.load_state_dict(theirs.ln_2.state_dict())
            a = ours.attn
            for lin, w, b in zip((a.q_proj, a.k_proj, a.v_proj), theirs.attn.c_attn.weight.T.chunk(3),
                                 theirs.attn.c_attn.bias.chunk(3)):
                lin.weight.copy_(w)
                lin.bias.copy_(b)
            for lin, conv in ((a.out_proj, theirs.attn.c_proj), (ours.mlp.fc1, theirs.mlp.c_fc),
                              (ours.mlp.fc2, theirs.mlp.c_proj)):
                lin.weight.copy_(conv.weight.T)
                lin.bias.copy_(conv.bias)
        model.norm.load_state_dict(t.ln_f.state_dict())
        return model


def lm_loss(logits: torch.Tensor, ids: torch.Tensor, pad_id: int = Tokenizer.pad_id) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts ids[t + 1]; padding targets are ignored.

    logits (B, T, V) from ids (B, T)."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1), ignore_index=pad_id)
