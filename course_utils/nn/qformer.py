"""BLIP-2's Q-Former (Li et al. 2023), small: learned queries that read a frozen image encoder, trained with three
objectives whose only difference inside the transformer is the attention mask (``multimodal_masks.qformer_mask``).

One stream X = [queries; text] (B, Q + T, d) goes through ``depth`` layers (pre-LN):

    X += SelfAttn(LN X, mask)                       mask: ITC, ITM or ITG (who may see whom)
    X_q += CrossAttn(LN X_q, image features)        queries only, every ``cross_every``-th layer (0, 2, …)
    X += MLP(LN X)

- ITC: s(i, j) = max_k cos(z_q^{i,k}, z_t^j) over the Q query outputs of image i and the first token of text j;
  symmetric InfoNCE over s / τ.
- ITM: bidirectional mask; logits = mean over the Q query outputs of a linear 2-way head (match / no match);
  negatives are hard ones, drawn from softmax(s) with the true pair excluded.
- ITG: text is causal and sees every query (queries never see text); next-word cross-entropy on the text outputs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.tokenizer import Tokenizer
from .attention import MLP, MultiHeadAttention
from .clip_loss import soft_cross_entropy
from .decoding import greedy_decode
from .multimodal_masks import QFORMER_OBJECTIVES, qformer_mask


class QFormerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, image_dim: int | None, mlp_ratio: float = 2.0):
        super().__init__()
        self.norm1, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = MultiHeadAttention(dim, heads)
        self.cross = None
        if image_dim is not None:  # only on the layers that read the image
            self.norm2 = nn.LayerNorm(dim)
            self.cross = MultiHeadAttention(dim, heads, kv_dim=image_dim)
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, n_queries: int, mask: torch.Tensor, image: torch.Tensor | None):
        x = x + self.self_attn(self.norm1(x), attn_mask=mask[:, None])  # mask (B, L, L) -> (B, 1, L, L)
        if self.cross is not None and image is not None and n_queries:
            q = x[:, :n_queries]
            x = torch.cat([q + self.cross(self.norm2(q), image), x[:, n_queries:]], dim=1)  # queries read the image
        return x + self.mlp(self.norm3(x))


class QFormer(nn.Module):
    """Learned queries (``n_queries``) + text over a shared stream; cross-attention to the image features
    (B, N, image_dim) every ``cross_every``-th layer. ``forward(image, tokens, objective)`` returns the query outputs
    (B, Q, dim) and the text outputs (B, T, dim)."""

    def __init__(self, vocab_size: int, image_dim: int, *, n_queries: int = 32, dim: int = 64, heads: int = 4,
                 depth: int = 4, cross_every: int = 2, max_len: int = 32, embed_dim: int = 64,
                 pad_id: int = Tokenizer.pad_id):
        super().__init__()
        if n_queries < 1:
            raise ValueError(f"n_queries {n_queries!r} must be >= 1")
        self.vocab_size, self.image_dim, self.n_queries, self.max_len = vocab_size, image_dim, n_queries, max_len
        self.pad_id = pad_id
        self.queries = nn.Parameter(torch.randn(1, n_queries, dim) * 0.02)
        self.token_embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.token_pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        self.layers = nn.ModuleList(QFormerLayer(dim, heads, image_dim if k % cross_every == 0 else None)
                                    for k in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.image_proj, self.text_proj = nn.Linear(dim, embed_dim), nn.Linear(dim, embed_dim)  # ITC heads
        self.itm_head = nn.Linear(dim, 2)
        self.lm_head = nn.Linear(dim, vocab_size)
        self.log_tau = nn.Parameter(torch.tensor(0.07).log())

    def forward(self, image: torch.Tensor | None, tokens: torch.Tensor, objective: str):
        check_image_text(image, tokens, self.image_dim, self.max_len, "image features")
        B, T = tokens.shape
        pad = tokens == self.pad_id  # (B, T)
        mask = qformer_mask(objective, self.n_queries, pad)  # (B, Q + T, Q + T); checks the objective
        x = torch.cat([self.queries.expand(B, -1, -1), self.token_embed(tokens) + self.token_pos[:, :T]], dim=1)
        for layer in self.layers:
            x = layer(x, self.n_queries, mask, image)
        x = self.norm(x)
        return x[:, :self.n_queries], x[:, self.n_queries:]  # (B, Q, dim), (B, T, dim)

    # --- ITC's two halves, one modality each (retrieval encodes each side once) -------------------------------------

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """The query outputs under the ITC mask (B, Q, dim): queries see only queries and the image, so the text
        can be left out; equal to ``forward(image, tokens, "itc")[0]`` for any tokens."""
        if image.dim() != 3 or image.size(2) != self.image_dim:
            raise ValueError(f"expected image features (B, N, {self.image_dim}), got {tuple(image.shape)}")
        x = self.queries.expand(len(image), -1, -1)
        mask = torch.ones(len(image), self.n_queries, self.n_queries, dtype=torch.bool, device=image.device)
        for layer in self.layers:
            x = layer(x, self.n_queries, mask, image)
        return self.norm(x)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """The text outputs under the ITC mask (B, T, dim), without queries or image; equal to
        ``forward(image, tokens, "itc")[1]``."""
        check_image_text(None, tokens, self.image_dim, self.max_len)
        T = tokens.size(1)
        mask = (tokens != self.pad_id)[:, None, :].expand(-1, T, -1)  # (B, T, T): no one sees padding
        x = self.token_embed(tokens) + self.token_pos[:, :T]
        for layer in self.layers:
            x = layer(x, 0, mask, None)
        return self.norm(x)

    # --- the three objectives ---------------------------------------------------------------------------------------

    def itc_similarity(self, query_out: torch.Tensor, text_out: torch.Tensor) -> torch.Tensor:
        """s (B_img, B_txt): for each image-text pair, the largest cosine between any of the image's query outputs
        and the text's first-token output."""
        zq = F.normalize(self.image_proj(query_out), dim=-1)  # (B, Q, e)
        zt = F.normalize(self.text_proj(text_out[:, 0]), dim=-1)  # (B, e)
        return torch.einsum("iqe,je->ijq", zq, zt).amax(dim=-1)  # (B, B): max over queries

    def itc_loss(self, image: torch.Tensor, tokens: torch.Tensor,
                 same: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Symmetric InfoNCE over s / τ; returns (loss, s). Image i and text i are the positive pairs, and with
        ``same`` (B, B) bool every pair it marks (a caption true of another image in the batch)."""
        query_out, text_out = self(image, tokens, "itc")
        s = self.itc_similarity(query_out, text_out)  # (B, B)
        return contrastive_loss(s / self.log_tau.exp(), same), s

    def itm_logits(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(B, 2) match logits: the 2-way head on every query output, averaged over the queries."""
        query_out, _ = self(image, tokens, "itm")
        return self.itm_head(query_out).mean(dim=1)

    def itm_loss(self, image: torch.Tensor, tokens: torch.Tensor, s: torch.Tensor,
                 generator: torch.Generator | None = None, same: torch.Tensor | None = None) -> torch.Tensor:
        """Cross-entropy on B true pairs, B hard negative texts (one per image) and B hard negative images (one per
        text), the negatives drawn from softmax(s) over the wrong partners (never a pair ``same`` marks)."""
        neg_text, neg_image = hard_negatives(s, generator, same)
        images = torch.cat([image, image, image[neg_image]])
        texts = torch.cat([tokens, tokens[neg_text], tokens])
        labels = torch.cat([torch.ones(len(image)), torch.zeros(2 * len(image))]).long().to(image.device)
        return F.cross_entropy(self.itm_logits(images, texts), labels)

    def itg_loss(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Next-word cross-entropy of the text (causal, sees every query), padding ignored."""
        _, text_out = self(image, tokens, "itg")
        return next_token_loss(self.lm_head(text_out), tokens, self.pad_id)

    def stage1_loss(self, image: torch.Tensor, tokens: torch.Tensor, generator: torch.Generator | None = None,
                    same: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """BLIP-2's first stage: ITC + ITM (hard negatives from ITC's similarities) + ITG, equal weights; ``same``
        (B, B) marks captions true of other images of the batch (ITC positives, never ITM negatives)."""
        itc, s = self.itc_loss(image, tokens, same)
        itm = self.itm_loss(image, tokens, s, generator, same)
        itg = self.itg_loss(image, tokens)
        return itc + itm + itg, {"itc": itc.item(), "itm": itm.item(), "itg": itg.item()}

    # --- using the trained model -------------------------------------------------------------------------------------

    @torch.no_grad()
    def similarity(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """ITC similarities (N_img, N_txt) with each side encoded once (retrieval as a dual encoder)."""
        return self.itc_similarity(self.encode_image(image), self.encode_text(tokens))

    @torch.no_grad()
    def generate(self, image: torch.Tensor, bos_id: int, eos_id: int) -> torch.Tensor:
        """Greedy captions (B, t) under the ITG mask."""
        return greedy_decode(lambda t: self.lm_head(self(image, t, "itg")[1]), len(image), bos_id=bos_id,
                             eos_id=eos_id, pad_id=self.pad_id, max_len=self.max_len, device=image.device)


def check_image_text(image: torch.Tensor | None, tokens: torch.Tensor, image_dim: int, max_len: int,
                     what: str = "image tokens") -> None:
    """Token ids (B, T) with T <= max_len, and (when given) image tokens (B, N, image_dim) with the same B."""
    if tokens.dim() != 2 or tokens.dtype != torch.long:
        raise ValueError(f"expected token ids (B, T), got shape {tuple(tokens.shape)} {tokens.dtype}")
    if tokens.size(1) > max_len:
        raise ValueError(f"caption of {tokens.size(1)} tokens is longer than the context max_len {max_len}")
    if image is not None:
        if image.dim() != 3 or image.size(2) != image_dim:
            raise ValueError(f"expected {what} (B, N, {image_dim}), got {tuple(image.shape)}")
        if image.size(0) != tokens.size(0):
            raise ValueError(f"{image.size(0)} images but {tokens.size(0)} texts")


def contrastive_loss(logits: torch.Tensor, same: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over logits (B, B) whose diagonal holds the positive pairs; with ``same`` (B, B) bool the
    target of each row spreads evenly over every pair it marks (24.4's multi-positive remedy)."""
    if logits.dim() != 2 or logits.size(0) != logits.size(1):
        raise ValueError(f"expected square logits (B, B), got {tuple(logits.shape)}")
    if same is None:
        target = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    if same.shape != logits.shape or not bool(same.diagonal().all()):
        raise ValueError(f"same must be a {tuple(logits.shape)} bool matrix with a True diagonal")
    same = same.to(logits.device)
    return (soft_cross_entropy(logits, same) + soft_cross_entropy(logits.T, same.T)) / 2


def hard_negatives(s: torch.Tensor, generator: torch.Generator | None = None,
                   same: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each image i a wrong text j ~ softmax_j(s[i, j]), j ≠ i; for each text j a wrong image
    i ~ softmax_i(s[i, j]), i ≠ j. Returns (text index per image, image index per text), each (B,). Needs B ≥ 2.
    ``same`` (B, B) bool marks further pairs that are true (never drawn as negatives, unless a row has nothing
    else)."""
    if s.dim() != 2 or s.size(0) != s.size(1) or s.size(0) < 2:
        raise ValueError(f"hard negatives need square similarities (B, B) with B >= 2, got {tuple(s.shape)}")
    off = ~torch.eye(len(s), dtype=torch.bool, device=s.device)
    rows = cols = off
    if same is not None:
        wrong = off & ~same.to(s.device)
        rows = torch.where(wrong.any(1, keepdim=True), wrong, off)  # an image with no false text keeps them all
        cols = torch.where(wrong.any(0, keepdim=True), wrong, off)
    w_text = s.detach().float().masked_fill(~rows, float("-inf")).softmax(dim=1)  # (B, B), rows: images
    w_image = s.detach().float().masked_fill(~cols, float("-inf")).softmax(dim=0)  # columns: texts
    neg_text = torch.multinomial(w_text.cpu(), 1, generator=generator).squeeze(1)
    neg_image = torch.multinomial(w_image.T.cpu(), 1, generator=generator).squeeze(1)
    return neg_text.to(s.device), neg_image.to(s.device)


def next_token_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int = Tokenizer.pad_id) -> torch.Tensor:
    """Cross-entropy of predicting token t+1 from the output at t: logits (B, T, V), tokens (B, T); targets that are
    padding do not count."""
    if logits.shape[:2] != tokens.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match tokens {tuple(tokens.shape)}")
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), tokens[:, 1:].reshape(-1),
                           ignore_index=pad_id)


__all__ = ["QFORMER_OBJECTIVES", "QFormer", "QFormerLayer", "check_image_text", "contrastive_loss", "hard_negatives",
           "next_token_loss"]
