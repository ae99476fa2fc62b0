"""Fusion of two modalities at the four levels of lecture 24.6: early, feature, decision and cross-attention.

- **Early** (input level): the raw inputs are stacked, e.g. RGB-D as 4 channels, and one network reads them.
- **Feature** (middle level): each modality is encoded to a vector, and a layer combines x (B, d_x) and y (B, d_y)
  into z (B, d_out): concatenation, sum, low-rank bilinear pooling, or FiLM (y modulates the features of x).
- **Decision** (late level): each modality predicts on its own and the predictions are combined: averaged logits or
  a product of experts.
- **Cross-attention**: the tokens of one modality query the tokens of the other and receive a weighted mixture of them;
  the weights say which token looked at which.

Concatenation and sum are the same family of functions (both are linear in [x; y]: W [x; y] = W_x x + W_y y); only a
product (bilinear, FiLM) or attention lets one modality *gate* what the other contributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .attention import CrossAttention
from .cnn import SmallCNN

# --- early fusion -----------------------------------------------------------------------------------------------------


def stack_rgbd(rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """Early fusion of RGB-D: x = [rgb; depth] along the channels, (B, 3, H, W) + (B, 1, H, W) -> (B, 4, H, W)."""
    if rgb.dim() != 4 or rgb.size(1) != 3:
        raise ValueError(f"rgb has shape {tuple(rgb.shape)}, expected (B, 3, H, W)")
    B, _, H, W = rgb.shape
    if tuple(depth.shape) != (B, 1, H, W):
        raise ValueError(f"depth has shape {tuple(depth.shape)}, expected {(B, 1, H, W)} to match rgb "
                         f"{tuple(rgb.shape)}")
    return torch.cat([rgb, depth], dim=1)  # (B, 4, H, W)


class EarlyFusionCNN(nn.Module):
    """Input-level fusion: one SmallCNN reads the 4-channel image [rgb; depth] -> logits (B, num_classes)."""

    def __init__(self, num_classes: int, width: int = 16):
        super().__init__()
        self.cnn = SmallCNN(in_channels=4, num_classes=num_classes, width=width)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        return self.cnn(stack_rgbd(rgb, depth))  # (B, num_classes)


# --- feature fusion ---------------------------------------------------------------------------------------------------


def check_pair(x: torch.Tensor, y: torch.Tensor, d_x: int, d_y: int) -> None:
    """x must be (B, d_x) and y (B, d_y) with the same B."""
    for name, t, d in (("x", x, d_x), ("y", y, d_y)):
        if t.dim() != 2 or t.size(1) != d:
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected (B, {d})")
    if x.size(0) != y.size(0):
        raise ValueError(f"x has batch size {x.size(0)} but y has {y.size(0)}")


class ConcatFusionLayer(nn.Module):
    """z = W [x; y] + b: concatenate the two feature vectors, then one linear map. (B, d_x), (B, d_y) -> (B, d_out)."""

    def __init__(self, d_x: int, d_y: int, d_out: int):
        super().__init__()
        self.d_x, self.d_y = d_x, d_y
        self.linear = nn.Linear(d_x + d_y, d_out)  # W: (d_out, d_x + d_y)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_pair(x, y, self.d_x, self.d_y)
        return self.linear(torch.cat([x, y], dim=-1))  # (B, d_x + d_y) -> (B, d_out)


class SumFusionLayer(nn.Module):
    """z = (W_x x + b_x) + (W_y y + b_y): project both modalities to d_out, then add.

    The same function family as ``ConcatFusionLayer`` (W = [W_x, W_y], b = b_x + b_y), written as two projections
    into one shared space."""

    def __init__(self, d_x: int, d_y: int, d_out: int):
        super().__init__()
        self.d_x, self.d_y = d_x, d_y
        self.proj_x = nn.Linear(d_x, d_out)  # W_x, b_x
        self.proj_y = nn.Linear(d_y, d_out)  # W_y, b_y

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_pair(x, y, self.d_x, self.d_y)
        return self.proj_x(x) + self.proj_y(y)  # (B, d_out)


class LowRankBilinearFusion(nn.Module):
    """Low-rank bilinear pooling (Kim et al. 2017, Hadamard product): z = Pᵀ(σ(Uᵀx) ∘ σ(Vᵀy)) + b.

    U: (d_x, r), V: (d_y, r), P: (r, d_out), σ = tanh. A full bilinear map z_k = xᵀ W_k y needs d_x·d_y·d_out
    weights; with rank r it needs r·(d_x + d_y + d_out), and every output still multiplies x with y."""

    def __init__(self, d_x: int, d_y: int, d_out: int, rank: int = 64, act: Callable = torch.tanh):
        super().__init__()
        self.d_x, self.d_y, self.rank, self.act = d_x, d_y, rank, act
        self.U = nn.Linear(d_x, rank, bias=False)  # Uᵀx
        self.V = nn.Linear(d_y, rank, bias=False)  # Vᵀy
        self.P = nn.Linear(rank, d_out)  # Pᵀ(·) + b

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_pair(x, y, self.d_x, self.d_y)
        h = self.act(self.U(x)) * self.act(self.V(y))  # (B, r): the Hadamard product
        return self.P(h)  # (B, d_out)


class FiLM(nn.Module):
    """Feature-wise linear modulation (Perez et al. 2018): h' = γ(y) ⊙ h + β(y), γ(y) = W_γ y + b_γ, β(y) = W_β y + b_β.

    h: a vector (B, C) or a feature map (B, C, H, W) (the same γ_c, β_c at every position); y: (B, d_y).
    b_γ starts at 1 and b_β at 0, so at initialisation h' ≈ h: the conditioning starts close to the identity."""

    def __init__(self, num_features: int, d_y: int):
        super().__init__()
        self.num_features, self.d_y = num_features, d_y
        self.gamma = nn.Linear(d_y, num_features)  # γ(y)
        self.beta = nn.Linear(d_y, num_features)  # β(y)
        with torch.no_grad():
            self.gamma.bias.fill_(1.0)
            self.beta.bias.zero_()

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        C = self.num_features
        if h.dim() not in (2, 4) or h.size(1) != C:
            raise ValueError(f"h has shape {tuple(h.shape)}, expected (B, {C}) or (B, {C}, H, W)")
        if y.dim() != 2 or y.size(1) != self.d_y or y.size(0) != h.size(0):
            raise ValueError(f"y has shape {tuple(y.shape)}, expected ({h.size(0)}, {self.d_y})")
        gamma, beta = self.gamma(y), self.beta(y)  # (B, C) each
        if h.dim() == 4:
            gamma, beta = gamma[:, :, None, None], beta[:, :, None, None]  # (B, C, 1, 1): one value per channel
        return gamma * h + beta  # same shape as h


FEATURE_FUSIONS = ("concat", "sum", "bilinear", "film")


def feature_fusion(kind: str, d_x: int, d_y: int, d_out: int) -> nn.Module:
    """A feature-fusion layer by name, all called as ``layer(x, y) -> (B, d_out)``; "film" modulates x by y
    (so d_out must equal d_x)."""
    if kind == "concat":
        return ConcatFusionLayer(d_x, d_y, d_out)
    if kind == "sum":
        return SumFusionLayer(d_x, d_y, d_out)
    if kind == "bilinear":
        return LowRankBilinearFusion(d_x, d_y, d_out)
    if kind == "film":
        if d_out != d_x:
            raise ValueError(f"FiLM keeps the width of x: d_out {d_out} must equal d_x {d_x}")
        return FiLM(d_x, d_y)
    raise ValueError(f"unknown feature fusion {kind!r}; allowed: {', '.join(FEATURE_FUSIONS)}")


class FeatureFusionClassifier(nn.Module):
    """Feature-level fusion model: z = fuse(enc_x(x), enc_y(y)) -> ReLU -> linear -> logits (B, num_classes)."""

    def __init__(self, encoder_x: nn.Module, encoder_y: nn.Module, fusion: nn.Module, d_fused: int, num_classes: int):
        super().__init__()
        self.encoder_x, self.encoder_y, self.fusion = encoder_x, encoder_y, fusion
        self.head = nn.Linear(d_fused, num_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z = self.fusion(self.encoder_x(x), self.encoder_y(y))  # (B, d_fused)
        return self.head(torch.relu(z))  # (B, num_classes)


# --- decision fusion --------------------------------------------------------------------------------------------------


def _stack_logits(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    logits = list(logits)
    if not logits:
        raise ValueError("decision fusion needs the logits of at least one modality, got none")
    for m, s in enumerate(logits):
        if s.dim() != 2 or s.shape != logits[0].shape:
            raise ValueError(f"logits of modality {m} have shape {tuple(s.shape)}, expected {tuple(logits[0].shape)} "
                             "(B, K) like modality 0")
    return torch.stack(logits)  # (M, B, K)


def average_logits(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Decision fusion by averaging: s = (1/M) Σ_m s_m, for M per-modality logits s_m (B, K). Returns (B, K)."""
    return _stack_logits(logits).mean(dim=0)  # (B, K)


def product_of_experts(logits: Sequence[torch.Tensor], log_prior: torch.Tensor | None = None) -> torch.Tensor:
    """Product of experts: p(y | x_1..x_M) ∝ Π_m p(y | x_m) / p(y)^(M-1).

    log p = log_softmax( Σ_m log_softmax(s_m) − (M − 1) log p(y) ); without ``log_prior`` the prior is uniform
    (the term is a constant and cancels). This is the exact posterior when the modalities are independent given y.
    logits: M tensors (B, K); log_prior: (K,). Returns log-probabilities (B, K)."""
    s = _stack_logits(logits)  # (M, B, K)
    M, _, K = s.shape
    z = s.log_softmax(dim=-1).sum(dim=0)  # (B, K): Σ_m log p(y | x_m)
    if log_prior is not None:
        if log_prior.shape != (K,):
            raise ValueError(f"log_prior has shape {tuple(log_prior.shape)}, expected ({K},)")
        z = z - (M - 1) * log_prior  # (B, K)
    return z.log_softmax(dim=-1)  # (B, K), renormalised


# --- cross-attention fusion -------------------------------------------------------------------------------------------


class CrossAttentionFusion(nn.Module):
    """Queries from one modality, keys and values from the other (lecture 24.6):

        Q = X_q W_Q,  K = X_kv W_K,  V = X_kv W_V,  head_i = softmax(Q_i K_iᵀ / √d_h) V_i,  out = [head_1 … head_h] W_O

    X_q (B, T_q, d_q) and X_kv (B, T_k, d_kv) may have different widths: W_K, W_V map d_kv to d_q. Returns the fused
    tokens (B, T_q, d_q), one per query token, and the attention weights (B, heads, T_q, T_k), each row a distribution
    over the other modality's tokens. Same maths and weights as
    ``nn.MultiheadAttention(d_q, heads, kdim=d_kv, vdim=d_kv, batch_first=True)`` (see ``from_torch``)."""

    def __init__(self, d_q: int, d_kv: int, num_heads: int, *, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        self.attn = CrossAttention(d_q, d_kv, num_heads, bias=bias, dropout=dropout)

    def forward(
        self, queries: torch.Tensor, context: torch.Tensor, *, context_padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """queries (B, T_q, d_q), context (B, T_k, d_kv); context_padding_mask (B, T_k) bool, True = padding."""
        if queries.dim() != 3 or context.dim() != 3:
            raise ValueError(f"expected token sequences (B, T, d), got queries {tuple(queries.shape)} and context "
                             f"{tuple(context.shape)}")
        if queries.size(0) != context.size(0):
            raise ValueError(f"queries have batch size {queries.size(0)} but context has {context.size(0)}")
        return self.attn(queries, context, key_padding_mask=context_padding_mask, need_weights=True)

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> CrossAttentionFusion:
        """A ``CrossAttentionFusion`` holding the weights of a ``torch.nn.MultiheadAttention``."""
        ours = cls(m.embed_dim, m.kdim, m.num_heads, bias=m.in_proj_bias is not None, dropout=m.dropout)
        ours.attn.load_torch_mha_(m)
        return ours


DIRECTIONS = ("text_to_image", "image_to_text")


class ImageTextCrossAttention(nn.Module):
    """Cross-attention between image patches (B, N, d_img) and words (B, T, d_txt); ``direction`` says who asks.

    - ``"text_to_image"``: words are the queries, patches the keys/values. Weights (B, h, T, N): for each word,
      *where in the image does it look?* The fused tokens (B, T, d_txt) are the words carrying what they found
      (a question reading the image, as in VQA).
    - ``"image_to_text"``: patches are the queries, words the keys/values. Weights (B, h, N, T): for each patch,
      *which words speak about it?* The fused tokens (B, N, d_img) are the patches conditioned on the text
      (grounding, text-conditioned image features).
    """

    def __init__(self, d_img: int, d_txt: int, num_heads: int, direction: str = "text_to_image", **kwargs):
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; allowed: {', '.join(DIRECTIONS)}")
        self.direction = direction
        d_q, d_kv = (d_txt, d_img) if direction == "text_to_image" else (d_img, d_txt)
        self.fusion = CrossAttentionFusion(d_q, d_kv, num_heads, **kwargs)

    def forward(
        self, image_tokens: torch.Tensor, text_tokens: torch.Tensor, *, text_padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (fused tokens of the querying modality, weights (B, h, T_q, T_k)). ``text_padding_mask`` (B, T),
        True = padding, hides padded words as keys; as queries their rows are computed and should be ignored."""
        if self.direction == "text_to_image":
            return self.fusion(text_tokens, image_tokens)  # (B, T, d_txt), (B, h, T, N)
        # image_to_text: (B, N, d_img), (B, h, N, T)
        return self.fusion(image_tokens, text_tokens, context_padding_mask=text_padding_mask)
