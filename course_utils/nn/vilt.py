"""ViLT (Kim et al. 2021), small: one transformer over both modalities, H = [H_img; H_text] (the lecture's order).

    H_img = [v_cls; patchify(v) E] + E_pos^img + t_img          (B, 1 + N, d)
    H_text = Embed(w) + E_pos^txt + t_txt                        (B, T, d)
    H^L = Blocks([H_img; H_text], mask = multimodal_masks.vilt_mask)   every token sees both modalities
    pooled = tanh(W h^L_0)                                       the image [CLS] token

t_img, t_txt are the two rows of the modality-type embedding. Pre-training heads: image–text matching (ITM, 2-way
on ``pooled``; ``itm_pairs`` swaps the image of half the pairs) and masked language modelling (MLM, a vocabulary
head on the text outputs; ``mask_words`` hides 15 % of the words). The world's tokenizer gives one token per word in
both languages, so masking tokens masks whole words.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.caption_pairs import itm_pairs
from ..data.clip_batches import pad_cat
from ..data.tokenizer import N_SPECIAL, Tokenizer
from .attention import TransformerBlock
from .multimodal_masks import vilt_mask
from .vit import PatchEmbedding

TEXT_TYPE, IMAGE_TYPE = 0, 1  # rows of the modality-type embedding (as in transformers' ViltModel)


class ViLT(nn.Module):
    def __init__(self, vocab_size: int, *, image_size: int = 32, patch_size: int = 8, in_channels: int = 3,
                 dim: int = 64, depth: int = 4, heads: int = 4, mlp_ratio: float = 2.0, max_len: int = 32,
                 pad_id: int = Tokenizer.pad_id):
        super().__init__()
        self.vocab_size, self.max_len, self.pad_id = vocab_size, max_len, pad_id
        self.patch_embed = PatchEmbedding(image_size, patch_size, in_channels, dim)  # checks size % patch_size
        self.n_image = 1 + self.patch_embed.num_patches  # [CLS] + patches
        self.image_cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.image_pos = nn.Parameter(torch.randn(1, self.n_image, dim) * 0.02)
        self.token_embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.token_pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        self.type_embed = nn.Embedding(2, dim)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.pooler = nn.Linear(dim, dim)
        self.itm_head = nn.Linear(dim, 2)
        self.mlm_head = nn.Linear(dim, vocab_size)

    def embed(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """[H_img; H_text] (B, 1 + N + T, d) before the first block."""
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(f"expected token ids (B, T), got shape {tuple(tokens.shape)} {tokens.dtype}")
        if tokens.size(1) > self.max_len:
            raise ValueError(f"caption of {tokens.size(1)} tokens is longer than the context max_len {self.max_len}")
        if image.size(0) != tokens.size(0):
            raise ValueError(f"{image.size(0)} images but {tokens.size(0)} texts")
        B, T = tokens.shape
        patches = self.patch_embed(image)  # (B, N, d); checks the image size
        h_img = torch.cat([self.image_cls.expand(B, -1, -1), patches], 1) + self.image_pos  # (B, 1 + N, d)
        h_img = h_img + self.type_embed.weight[IMAGE_TYPE]
        h_txt = self.token_embed(tokens) + self.token_pos[:, :T] + self.type_embed.weight[TEXT_TYPE]  # (B, T, d)
        return torch.cat([h_img, h_txt], dim=1)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the outputs H^L (B, 1 + N + T, d) and pooled = tanh(W h^L_0) (B, d)."""
        h = self.embed(image, tokens)
        mask = vilt_mask(self.n_image, tokens == self.pad_id)[:, None]  # (B, 1, L, L): no one sees padding
        for block in self.blocks:
            h = block(h, attn_mask=mask)
        h = self.norm(h)
        return h, torch.tanh(self.pooler(h[:, 0]))

    def itm_logits(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(B, 2): logits of "the text does not / does describe the image"."""
        return self.itm_head(self(image, tokens)[1])

    def mlm_logits(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T, vocab): a prediction of every word from the image and the rest of the text."""
        return self.mlm_head(self(image, tokens)[0][:, self.n_image:])

    def match_score(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(B,): the log-odds that text b describes image b (ITM logit "match" minus "no match")."""
        logits = self.itm_logits(image, tokens)
        return logits[:, 1] - logits[:, 0]

    @torch.no_grad()
    def pair_scores(self, images: torch.Tensor, tokens: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Retrieval with a single-stream model: one forward pass per (image, text) pair, (N_img, N_txt) log-odds."""
        was_training = self.training
        self.eval()
        ii, tt = torch.meshgrid(torch.arange(len(images)), torch.arange(len(tokens)), indexing="ij")
        ii, tt = ii.reshape(-1), tt.reshape(-1)
        out = [self.match_score(images[ii[k:k + batch_size]], tokens[tt[k:k + batch_size]])
               for k in range(0, len(ii), batch_size)]
        self.train(was_training)
        return torch.cat(out).reshape(len(images), len(tokens))


def mask_words(tokens: torch.Tensor, tokenizer: Tokenizer, p: float = 0.15,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: each real word (not <pad>, <bos>, <eos>) is chosen with probability p; of the chosen, 80 %
    become <mask>, 10 % a random word, 10 % stay. Returns (input tokens, targets) with targets −100 where no word was
    chosen (ignored by cross-entropy)."""
    if not 0 < p < 1:
        raise ValueError(f"masking probability {p!r} must be in (0, 1)")
    special = torch.tensor([tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id])
    words = ~torch.isin(tokens, special)
    chosen = words & (torch.rand(tokens.shape, generator=generator) < p)
    targets = torch.where(chosen, tokens, torch.full_like(tokens, -100))
    u = torch.rand(tokens.shape, generator=generator)
    random_words = torch.randint(N_SPECIAL, tokenizer.vocab_size, tokens.shape, generator=generator)  # words only
    out = torch.where(chosen & (u < 0.8), torch.full_like(tokens, tokenizer.mask_id), tokens)
    out = torch.where(chosen & (u >= 0.8) & (u < 0.9), random_words, out)
    return out, targets


def mlm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the chosen words only: logits (B, T, V), targets (B, T) with −100 elsewhere."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


def pretraining_loss(model: ViLT, batch: dict, tokenizer: Tokenizer,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """ITM on half-swapped pairs (labels from ``batch["truth"]``) + MLM on the true pairs; returns (sum, parts)."""
    images, labels = itm_pairs(batch["images"], generator, truth=batch["truth"])
    itm = F.cross_entropy(model.itm_logits(images, batch["tokens"]), labels)
    masked, targets = mask_words(batch["tokens"], tokenizer, generator=generator)
    mlm = mlm_loss(model.mlm_logits(batch["images"], masked), targets)
    return itm + mlm, {"itm": itm.item(), "mlm": mlm.item()}


def retrieval_loss(model: ViLT, batch: dict, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """Fine-tuning for retrieval (ITM with sampled negatives, as ViLT fine-tunes retrieval): each image with its true
    caption (1), with its one-attribute-wrong caption ``batch["neg_tokens"]`` (0), and half-swapped images."""
    n = len(batch["images"])
    swapped, swap_labels = itm_pairs(batch["images"], generator, truth=batch["truth"])
    images = torch.cat([batch["images"], batch["images"], swapped])
    tokens = pad_cat(pad_cat(batch["tokens"], batch["neg_tokens"], model.pad_id), batch["tokens"], model.pad_id)
    labels = torch.cat([torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long), swap_labels.cpu()])
    logits = model.itm_logits(images, tokens)
    labels = labels.to(logits.device)
    return F.cross_entropy(logits, labels), {"acc": (logits.argmax(1) == labels).float().mean().item()}


__all__ = ["IMAGE_TYPE", "TEXT_TYPE", "ViLT", "itm_pairs", "mask_words", "mlm_loss", "pretraining_loss",
           "retrieval_loss"]
