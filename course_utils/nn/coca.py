"""CoCa (Yu et al. 2022), small: one text decoder split in two halves, trained with a contrastive and a captioning loss.

    image tokens V (B, N, d_img)  -> attentional poolers:  v_con = Pool_1(V) (B, d)     one query: contrastive
                                                           V_cap = Pool_n(V) (B, n, d)  n queries: captioner
    words w_1..w_T + [CLS]        -> unimodal decoder (causal self-attention only, ``coca_text_mask``): text outputs
                                     and t_con = the [CLS] output, which has seen every word
    text outputs                  -> multimodal decoder (causal self-attention, then cross-attention to V_cap)
                                     -> next-word logits
    loss = InfoNCE(v_con, t_con) + 2 × captioning cross-entropy            (the paper's weights: 1 and 2)

The image encoder is outside: any (B, N, d_img) tokens, e.g. a ViT's patch outputs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.tokenizer import Tokenizer
from .attention import MultiHeadAttention, TransformerBlock
from .decoding import greedy_decode
from .multimodal_masks import coca_text_mask
from .qformer import check_image_text, contrastive_loss, next_token_loss

CAPTION_WEIGHT = 2.0


class AttentionalPooler(nn.Module):
    """n learned queries cross-attend to the image tokens: (B, N, d_img) -> (B, n, d), then LayerNorm."""

    def __init__(self, image_dim: int, dim: int, n_queries: int, heads: int):
        super().__init__()
        if n_queries < 1:
            raise ValueError(f"n_queries {n_queries!r} must be >= 1")
        self.queries = nn.Parameter(torch.randn(1, n_queries, dim) * 0.02)
        self.attn = MultiHeadAttention(dim, heads, kv_dim=image_dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.norm(self.attn(self.queries.expand(len(image), -1, -1), image))  # (B, n, d)


class CoCa(nn.Module):
    def __init__(self, vocab_size: int, image_dim: int, *, dim: int = 64, heads: int = 4, uni_layers: int = 2,
                 multi_layers: int = 2, caption_queries: int = 16, max_len: int = 32, embed_dim: int = 64,
                 pad_id: int = Tokenizer.pad_id):
        super().__init__()
        self.vocab_size, self.image_dim, self.max_len, self.pad_id = vocab_size, image_dim, max_len, pad_id
        self.contrastive_pool = AttentionalPooler(image_dim, dim, 1, heads)
        self.caption_pool = AttentionalPooler(image_dim, dim, caption_queries, heads)
        self.token_embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.token_pos = nn.Parameter(torch.randn(1, max_len + 1, dim) * 0.02)  # + 1: the [CLS] at the end
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.unimodal = nn.ModuleList(TransformerBlock(dim, heads, 2.0) for _ in range(uni_layers))
        self.multimodal = nn.ModuleList(TransformerBlock(dim, heads, 2.0, causal=True, cross_dim=dim)
                                        for _ in range(multi_layers))
        self.norm_cls, self.norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.image_proj, self.text_proj = nn.Linear(dim, embed_dim), nn.Linear(dim, embed_dim)
        self.lm_head = nn.Linear(dim, vocab_size)
        self.log_tau = nn.Parameter(torch.tensor(0.07).log())

    def _check(self, image: torch.Tensor | None, tokens: torch.Tensor) -> None:
        check_image_text(image, tokens, self.image_dim, self.max_len)

    def encode_text(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unimodal half: (text outputs (B, T, d), t_con (B, embed_dim) unit-norm). The image is never seen here."""
        self._check(None, tokens)
        B, T = tokens.shape
        x = torch.cat([self.token_embed(tokens), self.cls.expand(B, -1, -1)], 1) + self.token_pos[:, :T + 1]
        mask = coca_text_mask(tokens == self.pad_id)[:, None]  # (B, 1, T + 1, T + 1): causal, [CLS] sees all
        for block in self.unimodal:
            x = block(x, attn_mask=mask)
        return x[:, :T], F.normalize(self.text_proj(self.norm_cls(x[:, T])), dim=-1)

    def encode_image(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(v_con (B, embed_dim) unit-norm, V_cap (B, n, d))."""
        v_con = self.contrastive_pool(image)[:, 0]
        return F.normalize(self.image_proj(v_con), dim=-1), self.caption_pool(image)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> dict:
        """Returns image_embed, text_embed (B, embed_dim) and caption logits (B, T, vocab)."""
        self._check(image, tokens)
        v_con, v_cap = self.encode_image(image)
        text_out, t_con = self.encode_text(tokens)
        x = text_out
        for block in self.multimodal:
            x = block(x, context=v_cap)  # causal self-attention, then cross-attention to the image
        return {"image_embed": v_con, "text_embed": t_con, "logits": self.lm_head(self.norm(x))}

    def loss(self, image: torch.Tensor, tokens: torch.Tensor,
             same: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """contrastive + CAPTION_WEIGHT × captioning; returns the total and both parts. ``same`` (B, B) bool marks
        captions true of other images of the batch as positives too (``qformer.contrastive_loss``)."""
        out = self(image, tokens)
        con = contrastive_loss(out["image_embed"] @ out["text_embed"].T / self.log_tau.exp(), same)
        cap = next_token_loss(out["logits"], tokens, self.pad_id)
        return con + CAPTION_WEIGHT * cap, {"contrastive": con.item(), "captioning": cap.item()}

    @torch.no_grad()
    def similarity(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Cosines (N_img, N_txt) of v_con and t_con, each side encoded once."""
        return self.encode_image(image)[0] @ self.encode_text(tokens)[1].T

    @torch.no_grad()
    def generate(self, image: torch.Tensor, bos_id: int, eos_id: int) -> torch.Tensor:
        """Greedy captions (B, t) from the multimodal decoder."""
        return greedy_decode(lambda t: self(image, t)["logits"], len(image), bos_id=bos_id, eos_id=eos_id,
                             pad_id=self.pad_id, max_len=self.max_len, device=image.device)


__all__ = ["CAPTION_WEIGHT", "AttentionalPooler", "CoCa"]
