"""Image captioning (24.10): a CNN that gives a grid of image features, and two decoders that attend to it.

    image (B, 3, 32, 32) -> GridEncoder -> a_1 … a_L  (B, L, D), L = 4 × 4 cells, each with its position embedding
    words y_0 = <bos> (+ the language's embedding), y_1 … y_{t-1}  -> decoder -> p(y_t | y_<t, image), α_t (B, L)

- ``LSTMAttentionDecoder``: Show, Attend and Tell (Xu et al. 2015), soft attention. At step t
      e_ti = w^T tanh(W_a a_i + W_h h_{t-1}),  α_ti = softmax_i(e_ti),  z_t = β_t Σ_i α_ti a_i,  β_t = σ(f_β(h_{t-1}))
      h_t, c_t = LSTM([E y_{t-1}; z_t], h_{t-1}, c_t-1),   p(y_t) = softmax(W_o (E y_{t-1} + L_h h_t + L_z z_t))
  and the doubly stochastic regulariser λ Σ_i (τ − Σ_t α_ti)² asks every cell to be looked at about equally often
  over the caption (the paper's τ = 1; ours is T / L, the caption being longer than the 16 cells).
- ``TransformerCaptionDecoder``: causal self-attention over the words, cross-attention to a_1 … a_L, in each layer.

Both are trained with teacher forcing (the true previous word as input, ``Captioner.loss``) and decoded one token at a
time by ``decoding.beam_search`` through ``Captioner.step``, which also returns the attention over the L cells.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.tokenizer import Tokenizer
from .attention import TransformerBlock
from .cnn import conv_bn_relu
from .decoding import beam_search

DECODERS = ("lstm", "transformer")


@dataclass
class CaptionerConfig:
    vocab_size: int
    decoder: str = "lstm"  # "lstm" (Show, Attend and Tell) or "transformer"
    n_langs: int = 2  # the first input word carries the language: 0 = English, 1 = Chinese
    width: int = 32  # CNN widths w, 2w, 4w; the grid features have D = 4w channels
    dim: int = 128  # LSTM hidden size / transformer width
    embed_dim: int = 128  # word embedding (LSTM)
    attn_dim: int = 128  # f_att's hidden size (LSTM)
    layers: int = 3  # transformer decoder layers
    heads: int = 4
    max_len: int = 48  # tokens with <bos> and <eos>
    dropout: float = 0.1
    ds_lambda: float = 0.1  # weight of the doubly stochastic regulariser (LSTM)
    attention: bool = True  # False: the LSTM reads the mean of the cells at every step (one context vector)

    def __post_init__(self):
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}; allowed: {', '.join(DECODERS)}")
        if self.vocab_size < 4 or self.n_langs < 1 or self.max_len < 2:
            raise ValueError(f"need vocab_size >= 4, n_langs >= 1, max_len >= 2, got {self}")


class GridEncoder(nn.Module):
    """Three stages of [conv3×3-BN-ReLU, max-pool 2] (the CLIP tower of 24.4 without its pool) and a 1×1 conv:
    (B, 3, 32, 32) -> a (B, 16, 4w), one feature per 8×8 cell, plus a learned embedding of the cell.

    A caption names places ("at the top left"), and the 3×3 regions' borders fall inside the 8×8 cells, so the
    first convolution also reads each pixel's coordinates x, y ∈ [−1, 1] as two extra channels (CoordConv, Liu et al.
    2018): after the poolings a cell's features still say where in the cell its object lies."""

    def __init__(self, width: int = 32, grid: int = 4):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(3 + 2, w), nn.MaxPool2d(2),  # (B, w, 16, 16); + 2: the coordinates
            conv_bn_relu(w, 2 * w), nn.MaxPool2d(2),  # (B, 2w, 8, 8)
            conv_bn_relu(2 * w, 4 * w), nn.MaxPool2d(2),  # (B, 4w, 4, 4)
            nn.Conv2d(4 * w, 4 * w, 1),  # (B, 4w, 4, 4): mixes the channels of each cell
        )
        self.grid, self.dim = grid, 4 * w
        self.pos = nn.Parameter(torch.randn(1, grid * grid, 4 * w) * 0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.size(1) != 3:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(images.shape)}")
        B, _, H, W = images.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, H, device=images.device),
                                torch.linspace(-1, 1, W, device=images.device), indexing="ij")  # (H, W) each
        coords = torch.stack([xs, ys]).expand(B, -1, -1, -1)  # (B, 2, H, W)
        f = self.features(torch.cat([images, coords], 1))  # (B, D, h, w)
        if f.shape[-2:] != (self.grid, self.grid):
            raise ValueError(f"images of size {tuple(images.shape[-2:])} give a {tuple(f.shape[-2:])} grid, "
                             f"expected {self.grid}×{self.grid} (32×32 images)")
        return f.flatten(2).transpose(1, 2) + self.pos  # (B, L, D)


class SoftAttention(nn.Module):
    """f_att of Show, Attend and Tell: e_i = w^T tanh(W_a a_i + W_h h), α = softmax(e), z = Σ_i α_i a_i."""

    def __init__(self, feature_dim: int, hidden_dim: int, attn_dim: int):
        super().__init__()
        self.W_a = nn.Linear(feature_dim, attn_dim)
        self.W_h = nn.Linear(hidden_dim, attn_dim)
        self.w = nn.Linear(attn_dim, 1)

    def forward(self, a: torch.Tensor, a_proj: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a (B, L, D), a_proj = W_a a (B, L, A) computed once per image, h (B, H) -> z (B, D), α (B, L)."""
        e = self.w(torch.tanh(a_proj + self.W_h(h)[:, None])).squeeze(-1)  # (B, L)
        alpha = e.softmax(-1)  # (B, L)
        return (alpha[..., None] * a).sum(1), alpha  # (B, D), (B, L)


class LSTMAttentionDecoder(nn.Module):
    """Show, Attend and Tell's decoder: an LSTM cell that reads the previous word and an attended image context."""

    def __init__(self, cfg: CaptionerConfig, feature_dim: int):
        super().__init__()
        E, H, D = cfg.embed_dim, cfg.dim, feature_dim
        self.embed = nn.Embedding(cfg.vocab_size, E, padding_idx=Tokenizer.pad_id)
        self.lang = nn.Embedding(cfg.n_langs, E)
        self.init_h, self.init_c = nn.Linear(D, H), nn.Linear(D, H)  # h_0, c_0 from the mean feature
        self.attention = SoftAttention(D, H, cfg.attn_dim)
        self.f_beta = nn.Linear(H, 1)  # the gate β_t: how much of the image the word needs
        self.cell = nn.LSTMCell(E + D, H)
        self.L_h, self.L_z = nn.Linear(H, E), nn.Linear(D, E)  # the deep output layer
        self.drop = nn.Dropout(cfg.dropout)
        self.W_o = nn.Linear(E, cfg.vocab_size)
        self.use_attention = cfg.attention

    def start(self, a: torch.Tensor, lang: torch.Tensor) -> dict:
        """The state before the first word: h_0, c_0 = f(mean_i a_i), the image features and W_a a."""
        mean = a.mean(1)  # (B, D)
        return {"a": a, "a_proj": self.attention.W_a(a), "h": torch.tanh(self.init_h(mean)),
                "c": torch.tanh(self.init_c(mean)), "lang": lang}

    def step(self, word: torch.Tensor, state: dict, first: bool) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """One word (B,) -> logits (B, V), α (B, L), the new state."""
        e = self.embed(word)  # (B, E)
        if first:
            e = e + self.lang(state["lang"])  # <bos> + the language
        if self.use_attention:
            z, alpha = self.attention(state["a"], state["a_proj"], state["h"])  # (B, D), (B, L)
        else:  # Show and Tell's single context vector: every cell weighted 1 / L at every step
            alpha = torch.full(state["a"].shape[:2], 1 / state["a"].size(1), device=e.device)  # (B, L)
            z = state["a"].mean(1)  # (B, D)
        z = torch.sigmoid(self.f_beta(state["h"])) * z  # β_t z_t
        h, c = self.cell(torch.cat([e, z], -1), (state["h"], state["c"]))  # (B, H) each
        logits = self.W_o(self.drop(e + self.L_h(h) + self.L_z(z)))  # (B, V)
        return logits, alpha, {**state, "h": h, "c": c}

    def forward(self, a: torch.Tensor, tokens: torch.Tensor, lang: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: inputs tokens[:, :-1] (B, T-1) -> logits (B, T-1, V), α (B, T-1, L)."""
        state, logits, alphas = self.start(a, lang), [], []
        for t in range(tokens.size(1) - 1):
            step_logits, alpha, state = self.step(tokens[:, t], state, first=t == 0)
            logits.append(step_logits)
            alphas.append(alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)


class TransformerCaptionDecoder(nn.Module):
    """Words with learned positions -> [causal self-attention, cross-attention to a, MLP] × layers -> logits."""

    def __init__(self, cfg: CaptionerConfig, feature_dim: int):
        super().__init__()
        d = cfg.dim
        self.embed = nn.Embedding(cfg.vocab_size, d, padding_idx=Tokenizer.pad_id)
        self.lang = nn.Embedding(cfg.n_langs, d)
        self.pos = nn.Parameter(torch.randn(1, cfg.max_len, d) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(d, cfg.heads, 2.0, causal=True, cross_dim=feature_dim,
                                                     dropout=cfg.dropout) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size)

    def forward(self, a: torch.Tensor, inputs: torch.Tensor, lang: torch.Tensor,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """inputs (B, t) -> logits (B, t, V), and with ``need_weights`` the last layer's cross-attention averaged
        over heads (B, t, L)."""
        x = self.embed(inputs) + self.pos[:, :inputs.size(1)]  # (B, t, d)
        x = torch.cat([x[:, :1] + self.lang(lang)[:, None], x[:, 1:]], 1)  # <bos> + the language
        for block in self.blocks:
            x = block(x, context=a, need_weights=need_weights)
        weights = self.blocks[-1].cross_attn.last_weights.mean(1) if need_weights else None  # (B, t, L)
        return self.head(self.norm(x)), weights


class Captioner(nn.Module):
    """GridEncoder + one of the two decoders. ``lang`` (B,) long: 0 English, 1 Chinese."""

    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = GridEncoder(cfg.width)
        make = LSTMAttentionDecoder if cfg.decoder == "lstm" else TransformerCaptionDecoder
        self.decoder = make(cfg, self.encoder.dim)

    def _check(self, images: torch.Tensor, tokens: torch.Tensor | None, lang: torch.Tensor) -> None:
        if lang.dim() != 1 or len(lang) != len(images):
            raise ValueError(f"lang must be (B,) = ({len(images)},), got shape {tuple(lang.shape)}")
        if bool(((lang < 0) | (lang >= self.cfg.n_langs)).any()):
            raise ValueError(f"language ids must lie in 0..{self.cfg.n_langs - 1}, got {lang.unique().tolist()}")
        if tokens is not None and (tokens.dim() != 2 or len(tokens) != len(images) or tokens.size(1) < 2):
            raise ValueError(f"tokens must be (B, T) with B = {len(images)} and T >= 2, got {tuple(tokens.shape)}")
        if tokens is not None and tokens.size(1) > self.cfg.max_len:
            raise ValueError(f"captions of {tokens.size(1)} tokens are longer than max_len {self.cfg.max_len}")

    def forward(self, images: torch.Tensor, tokens: torch.Tensor, lang: torch.Tensor,
                need_weights: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: logits (B, T-1, V) for the words tokens[:, 1:], attention (B, T-1, L) (the transformer's
        only with ``need_weights``: the fused attention kernel does not return it)."""
        self._check(images, tokens, lang)
        a = self.encoder(images)  # (B, L, D)
        if self.cfg.decoder == "lstm":
            return self.decoder(a, tokens, lang)
        return self.decoder(a, tokens[:, :-1], lang, need_weights=need_weights)

    def loss(self, images: torch.Tensor, tokens: torch.Tensor,
             lang: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Cross-entropy of each next word under teacher forcing (padding ignored), plus for the LSTM the doubly
        stochastic regulariser λ Σ_i (τ − Σ_t α_ti)², averaged over the batch, with τ = T / L: the paper's τ = 1 for
        a caption of about L words; ours are longer than the 16 cells, so each cell is asked for T / L of them."""
        logits, alpha = self(images, tokens, lang, need_weights=False)  # (B, T-1, V), (B, T-1, L) or None
        target = tokens[:, 1:]  # (B, T-1)
        ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=Tokenizer.pad_id)
        if self.cfg.decoder != "lstm" or self.cfg.ds_lambda == 0:
            return ce, {"ce": ce.item()}
        real = (target != Tokenizer.pad_id).float()[..., None]  # (B, T-1, 1): steps that emit a word
        coverage = (alpha * real).sum(1)  # (B, L): Σ_t α_ti
        tau = real.sum(1) / alpha.size(-1)  # (B, 1): T / L
        ds = self.cfg.ds_lambda * ((tau - coverage) ** 2).sum(1).mean()
        return ce + ds, {"ce": ce.item(), "ds": ds.item()}

    # ------------------------------------------------------------------------------------------- decoding
    def start(self, images: torch.Tensor, lang: torch.Tensor) -> dict:
        """The decoding state of each image: its features (and the LSTM's h, c)."""
        self._check(images, None, lang)
        a = self.encoder(images)
        return self.decoder.start(a, lang) if self.cfg.decoder == "lstm" else {"a": a, "lang": lang}

    def step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """The words so far (N, t) -> log-probabilities of the next (N, V), its attention (N, L), the new state.
        The LSTM reads only the last word (its state holds the rest); the transformer re-reads the prefix."""
        if self.cfg.decoder == "lstm":
            logits, alpha, state = self.decoder.step(tokens[:, -1], state, first=tokens.size(1) == 1)
        else:
            logits, weights = self.decoder(state["a"], tokens, state["lang"], need_weights=True)
            logits, alpha = logits[:, -1], weights[:, -1]
        return logits.log_softmax(-1), alpha, state

    @torch.no_grad()
    def generate(self, images: torch.Tensor, lang: torch.Tensor, beam_size: int = 1,
                 length_penalty: float = 1.0) -> dict:
        """Captions by beam search (``beam_size=1`` is greedy): "tokens" (B, t), "attention" (B, t-1, L) for each
        generated word, "score" (B,) the length-normalized log-probability."""
        was_training = self.training
        self.eval()
        try:
            return beam_search(self.step, self.start(images, lang), len(images), beam_size=beam_size,
                               bos_id=Tokenizer.bos_id, eos_id=Tokenizer.eos_id, pad_id=Tokenizer.pad_id,
                               max_len=self.cfg.max_len, length_penalty=length_penalty)
        finally:
            self.train(was_training)


@torch.no_grad()
def load_torch_decoder_layer_(block: TransformerBlock, layer: nn.TransformerDecoderLayer) -> TransformerBlock:
    """Copy a ``torch.nn.TransformerDecoderLayer(norm_first=True, activation="gelu")`` into one of our causal blocks
    with cross-attention (same width and heads, memory width = width), so the two can be compared."""
    if not layer.norm_first or block.cross_attn is None:
        raise ValueError("need a pre-LN torch layer (norm_first=True) and a block with cross-attention")
    block.attn.load_torch_mha_(layer.self_attn)
    block.cross_attn.load_torch_mha_(layer.multihead_attn)
    for ours, theirs in ((block.norm1, layer.norm1), (block.norm_cross, layer.norm2), (block.norm2, layer.norm3)):
        ours.load_state_dict(theirs.state_dict())
    block.mlp.fc1.load_state_dict(layer.linear1.state_dict())
    block.mlp.fc2.load_state_dict(layer.linear2.state_dict())
    return block


__all__ = ["DECODERS", "Captioner", "CaptionerConfig", "GridEncoder", "LSTMAttentionDecoder", "SoftAttention",
           "TransformerCaptionDecoder", "load_torch_decoder_layer_"]
