"""Visual question answering on the toy world (lecture 24.9): image + question -> one answer of ``data.qa.ANSWERS``.

Every model is called as ``model(image, question) -> logits (B, len(ANSWERS))``; a baseline ignores what it does not
use. ``question`` is token ids (B, T) of the world's tokenizer (English or Chinese, one vocabulary), or, for the
models built with ``vocab_size=None``, a ready-made question vector (B, d_question) such as Sort-of-CLEVR's 11
numbers (``data.qa.sort_of_clevr_vector``).

- ``QuestionOnly``: the answer prior given the question (how far language alone gets).
- ``ImageOnlyCNN``: the image alone (CNN feature map flattened -> MLP).
- ``CNNMLP``: Santoro et al. 2017's baseline, [flattened CNN features; question vector] -> MLP.
- ``RelationNetwork``: Santoro et al. 2017, RN(O, q) = f_φ(Σ_{i,j} g_θ(o_i, o_j, q)) over CNN cells or object states.
- ``TransformerAnswerer``: question tokens cross-attend to image patches; the attention over patches is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.qa import ANSWERS
from ..data.scene import COLORS, SHAPES, Scene
from ..data.tokenizer import Tokenizer
from .attention import MLP, MultiHeadAttention, TransformerBlock
from .fusion import CrossAttentionFusion
from .vit import PatchEmbedding

N_ANSWERS = len(ANSWERS)
STATE_FIELDS = (*COLORS, *SHAPES, "large", "x", "y")  # one object's state description: one-hots, size, centre
STATE_SIZE = len(STATE_FIELDS)


def mlp(sizes: Sequence[int], *, last_relu: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """Linear-ReLU layers of the given sizes, e.g. (d_in, 128, 128, d_out); a ReLU after the last one if asked."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        if last and dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(a, b))
        if not last or last_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# --- inputs and their checks ------------------------------------------------------------------------------------------


def check_tokens(tokens: torch.Tensor, vocab_size: int) -> None:
    """Token ids must be a long tensor (B, T) with every id in [0, vocab_size)."""
    if tokens.dim() != 2 or tokens.dtype != torch.long:
        raise ValueError(f"expected token ids (B, T) of dtype long, got shape {tuple(tokens.shape)} {tokens.dtype}")
    bad = tokens[(tokens < 0) | (tokens >= vocab_size)]
    if bad.numel():
        raise ValueError(f"token id {bad[0].item()} is outside the vocabulary [0, {vocab_size})")


def check_images(image: torch.Tensor, channels: int, size: int | None = None) -> None:
    """Images must be (B, channels, H, W), square of side ``size`` when given."""
    if image.dim() != 4 or image.size(1) != channels:
        raise ValueError(f"expected images (B, {channels}, H, W), got shape {tuple(image.shape)}")
    if size is not None and tuple(image.shape[-2:]) != (size, size):
        raise ValueError(f"expected {size}×{size} images, got {image.size(2)}×{image.size(3)}")


def check_batch(x: torch.Tensor, q: torch.Tensor) -> None:
    """As many questions as images (or object sets)."""
    if x.size(0) != q.size(0):
        raise ValueError(f"{x.size(0)} images (or object sets) but {q.size(0)} questions")


def check_answers(answer_ids: torch.Tensor) -> None:
    """Answer indices must lie in [0, len(ANSWERS))."""
    bad = answer_ids[(answer_ids < 0) | (answer_ids >= N_ANSWERS)]
    if bad.numel():
        raise ValueError(f"answer index {bad[0].item()} is outside [0, {N_ANSWERS}) (the answers in data.qa.ANSWERS)")


def vqa_loss(logits: torch.Tensor, answer_ids: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the answer vocabulary: −(1/B) Σ_b log softmax(logits_b)[a_b]. logits (B, len(ANSWERS))."""
    if logits.dim() != 2 or logits.size(1) != N_ANSWERS:
        raise ValueError(f"logits have shape {tuple(logits.shape)}, expected (B, {N_ANSWERS}) (one per answer)")
    if answer_ids.shape != (logits.size(0),):
        raise ValueError(f"answer_ids have shape {tuple(answer_ids.shape)}, expected ({logits.size(0)},)")
    check_answers(answer_ids)
    return F.cross_entropy(logits, answer_ids)


def object_states(scenes: Sequence[Scene], n_max: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """State descriptions of each scene's objects: (B, n_max, STATE_SIZE) and an object mask (B, n_max), True = a real
    object. Each state is [color one-hot (6), shape one-hot (3), large?, x, y] (``STATE_FIELDS``); missing objects are
    zeros. n_max defaults to the largest scene."""
    n_max = max(len(s.objects) for s in scenes) if n_max is None else n_max
    states = torch.zeros(len(scenes), n_max, STATE_SIZE)
    mask = torch.zeros(len(scenes), n_max, dtype=torch.bool)
    for b, scene in enumerate(scenes):
        if len(scene.objects) > n_max:
            raise ValueError(f"scene {b} has {len(scene.objects)} objects, more than n_max {n_max}")
        for i, o in enumerate(scene.objects):
            states[b, i, COLORS.index(o.color)] = 1
            states[b, i, len(COLORS) + SHAPES.index(o.shape)] = 1
            states[b, i, -3:] = torch.tensor([float(o.size == "large"), o.x, o.y])
            mask[b, i] = True
    return states, mask


# --- question ---------------------------------------------------------------------------------------------------------


class QuestionEncoder(nn.Module):
    """Question token ids (B, T) -> q (B, dim): embedding, then a GRU; q is its state at the last real token.

    A GRU rather than a bag of words because word order carries the meaning of relational questions ("is the red
    circle left of the blue square" vs "… the blue square left of the red circle"); Santoro et al. read CLEVR's
    questions with an LSTM the same way. English and Chinese questions share the vocabulary and the encoder."""

    def __init__(self, vocab_size: int, dim: int = 64, pad_id: int = Tokenizer.pad_id):
        super().__init__()
        self.vocab_size, self.dim, self.pad_id = vocab_size, dim, pad_id
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.gru = nn.GRU(dim, dim, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        check_tokens(tokens, self.vocab_size)
        states, _ = self.gru(self.embed(tokens))  # (B, T, dim): h_t after reading tokens 1..t
        lengths = (tokens != self.pad_id).sum(dim=1).clamp(min=1)  # (B,): right padding, so h at length-1 is final
        return states[torch.arange(len(tokens)), lengths - 1]  # (B, dim)


class QuestionVector(nn.Module):
    """Ready-made question vectors (B, dim), e.g. Sort-of-CLEVR's 11 numbers, passed through after a shape check."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        if q.dim() != 2 or q.size(1) != self.dim or not q.is_floating_point():
            raise ValueError(f"expected question vectors (B, {self.dim}) of floats, got shape {tuple(q.shape)} "
                             f"{q.dtype} (pass vocab_size to read token ids instead)")
        return q


def question_input(vocab_size: int | None, d_question: int) -> nn.Module:
    """QuestionEncoder over token ids when there is a vocabulary, else QuestionVector (B, d_question)."""
    return QuestionEncoder(vocab_size, d_question) if vocab_size is not None else QuestionVector(d_question)


# --- image ------------------------------------------------------------------------------------------------------------


class FeatureMapCNN(nn.Module):
    """Santoro et al.'s Sort-of-CLEVR CNN: L × [conv 3×3 stride 2, BN, ReLU], 24 channels.

    (B, C, H, W) -> (B, width, H/2^L, W/2^L): each cell of the feature map sees one region of the image."""

    def __init__(self, in_channels: int = 3, width: int = 24, layers: int = 3):
        super().__init__()
        self.in_channels, self.width, self.layers = in_channels, width, layers
        blocks, c = [], in_channels
        for _ in range(layers):
            blocks += [nn.Conv2d(c, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            c = width
        self.net = nn.Sequential(*blocks)

    def grid_size(self, image_size: int) -> int:
        """Side of the feature map for images of side image_size (each stride-2 convolution rounds up)."""
        for _ in range(self.layers):
            image_size = (image_size + 1) // 2
        return image_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)  # (B, width, h, w)


def cell_coordinates(h: int, w: int, device: torch.device | None = None) -> torch.Tensor:
    """Centres (x, y) in [0, 1] of the cells of an h×w grid, row-major, x right and y down (the world's convention):
    (h·w, 2)."""
    y, x = torch.meshgrid((torch.arange(h, device=device) + 0.5) / h, (torch.arange(w, device=device) + 0.5) / w,
                          indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], dim=1)  # (h·w, 2)


# --- baselines --------------------------------------------------------------------------------------------------------


class QuestionOnly(nn.Module):
    """p(a | q): QuestionEncoder -> MLP -> answer logits; the image is ignored."""

    def __init__(self, vocab_size: int | None, d_question: int = 64, hidden: int = 128):
        super().__init__()
        self.question = question_input(vocab_size, d_question)
        self.head = mlp((d_question, hidden, N_ANSWERS))

    def forward(self, image: torch.Tensor | None, question: torch.Tensor) -> torch.Tensor:
        return self.head(self.question(question))  # (B, n_answers)


class ImageOnlyCNN(nn.Module):
    """p(a | v): FeatureMapCNN, flattened -> MLP -> answer logits; the question is ignored."""

    def __init__(self, image_size: int = 32, in_channels: int = 3, width: int = 24, layers: int = 3,
                 hidden: int = 128):
        super().__init__()
        self.image_size = image_size
        self.cnn = FeatureMapCNN(in_channels, width, layers)
        self.head = mlp((width * self.cnn.grid_size(image_size) ** 2, hidden, N_ANSWERS))

    def forward(self, image: torch.Tensor, question: torch.Tensor | None = None) -> torch.Tensor:
        check_images(image, self.cnn.in_channels, self.image_size)
        return self.head(self.cnn(image).flatten(1))  # (B, width·h·w) -> (B, n_answers)


class CNNMLP(nn.Module):
    """Santoro et al. 2017's CNN+MLP baseline: [flatten(CNN(v)); q] -> MLP -> answer logits.

    Flattening keeps *where* each feature is (one block of inputs per cell), but the MLP has to learn every
    relation between cells separately; that is what the relation network builds in."""

    def __init__(self, vocab_size: int | None, image_size: int = 32, in_channels: int = 3, width: int = 24,
                 layers: int = 3, d_question: int = 64, hidden: int = 256):
        super().__init__()
        self.image_size = image_size
        self.cnn = FeatureMapCNN(in_channels, width, layers)
        self.question = question_input(vocab_size, d_question)
        d_img = width * self.cnn.grid_size(image_size) ** 2
        self.head = mlp((d_img + d_question, hidden, hidden, N_ANSWERS))

    def forward(self, image: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        check_images(image, self.cnn.in_channels, self.image_size)
        q = self.question(question)  # (B, d_q); checked before the CNN updates its BatchNorm statistics
        check_batch(image, q)
        z = torch.cat([self.cnn(image).flatten(1), q], dim=1)  # (B, width·h·w + d_q)
        return self.head(z)  # (B, n_answers)


# --- relation network -------------------------------------------------------------------------------------------------


class RelationNetwork(nn.Module):
    """Relation network (Santoro et al. 2017): RN(O, q) = f_φ( Σ_{i,j} g_θ([o_i; o_j; q]) ).

    The objects O are either the cells of a CNN feature map, each with its centre (x, y) appended (``d_obj=None``:
    call ``rn(image, question)``), or state descriptions (``d_obj`` given: call ``rn(states, question)`` with states
    (B, N, d_obj), e.g. from ``object_states``; ``object_mask`` (B, N) drops padded objects from the sum).
    The sum runs over all N² ordered pairs, so the answer does not depend on the order of the objects.
    g_θ: ``g_layers`` layers of ``hidden`` units, ReLU after each; f_φ: ``hidden`` -> ``hidden`` -> answers.
    (The paper: 24 CNN channels, g_θ 4 × 256, f_φ 256, 256 with 50 % dropout, 29.)"""

    def __init__(self, vocab_size: int | None = None, *, d_question: int = 64, d_obj: int | None = None,
                 in_channels: int = 3, cnn_width: int = 24, cnn_layers: int = 3, hidden: int = 128,
                 g_layers: int = 4, dropout: float = 0.0):
        super().__init__()
        self.cnn = FeatureMapCNN(in_channels, cnn_width, cnn_layers) if d_obj is None else None
        self.d_obj = cnn_width + 2 if d_obj is None else d_obj
        self.question = question_input(vocab_size, d_question)
        self.g = mlp((2 * self.d_obj + d_question, *[hidden] * g_layers), last_relu=True)  # g_θ
        self.f = mlp((hidden, hidden, N_ANSWERS), dropout=dropout)  # f_φ

    def objects(self, x: torch.Tensor) -> torch.Tensor:
        """Image (B, C, H, W) -> CNN cells with coordinates (B, h·w, width + 2); states (B, N, d_obj) pass through."""
        if self.cnn is None:
            if x.dim() != 3 or x.size(2) != self.d_obj:
                raise ValueError(f"expected object states (B, N, {self.d_obj}), got shape {tuple(x.shape)}")
            return x
        fmap = self.cnn(x)  # (B, width, h, w)
        B, _, h, w = fmap.shape
        cells = fmap.flatten(2).transpose(1, 2)  # (B, h·w, width): one object per cell
        xy = cell_coordinates(h, w, x.device).to(cells.dtype).expand(B, -1, -1)  # (B, h·w, 2)
        return torch.cat([cells, xy], dim=2)  # (B, h·w, width + 2)

    def relate(self, o: torch.Tensor, q: torch.Tensor, object_mask: torch.Tensor | None = None) -> torch.Tensor:
        """f_φ(Σ_{i,j} g_θ([o_i; o_j; q])): objects (B, N, d_obj), question (B, d_q) -> logits (B, n_answers)."""
        B, N, d = o.shape
        o_i = o[:, :, None, :].expand(B, N, N, d)  # (B, N, N, d): o_i along dim 1
        o_j = o[:, None, :, :].expand(B, N, N, d)  # (B, N, N, d): o_j along dim 2
        qq = q[:, None, None, :].expand(B, N, N, q.size(1))  # (B, N, N, d_q): the question with every pair
        g = self.g(torch.cat([o_i, o_j, qq], dim=-1))  # (B, N, N, hidden)
        if object_mask is not None:
            pair_mask = object_mask[:, :, None] & object_mask[:, None, :]  # (B, N, N): both objects real
            g = g.masked_fill(~pair_mask[..., None], 0.0)  # padded objects take no part in the sum
        return self.f(g.sum(dim=(1, 2)))  # (B, hidden) -> (B, n_answers)

    def forward(self, x: torch.Tensor, question: torch.Tensor,
                object_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: images (B, C, H, W), or object states (B, N, d_obj); question: tokens (B, T) or vectors (B, d_q)."""
        if self.cnn is not None:
            check_images(x, self.cnn.in_channels)
            if object_mask is not None:
                raise ValueError("object_mask applies to object states; every CNN cell is an object")
        elif object_mask is not None and object_mask.shape != x.shape[:2]:
            raise ValueError(f"object_mask has shape {tuple(object_mask.shape)}, expected {tuple(x.shape[:2])} (B, N)")
        q = self.question(question)  # (B, d_q); checked before the CNN updates its BatchNorm statistics
        check_batch(x, q)
        return self.relate(self.objects(x), q, object_mask)  # (B, n_answers)


# --- transformer ------------------------------------------------------------------------------------------------------


class QuestionReadsImageLayer(nn.Module):
    """One layer of the answerer (pre-LN): X += SelfAttn(LN X); X += CrossAttn(LN X, P); X += MLP(LN X).

    X: question tokens (B, T, d); P: image patches (B, N, d). Returns X and the cross-attention weights (B, h, T, N)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = MultiHeadAttention(dim, heads, dropout=dropout)
        self.cross = CrossAttentionFusion(dim, dim, heads, dropout=dropout)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dropout=dropout)

    def forward(self, x: torch.Tensor, patches: torch.Tensor,
                padding_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.self_attn(self.norm1(x), key_padding_mask=padding_mask)  # (B, T, d): words read each other
        h, weights = self.cross(self.norm2(x), patches)  # (B, T, d), (B, h, T, N): words read the image
        x = x + h
        return x + self.mlp(self.norm3(x)), weights  # (B, T, d)


class TransformerAnswerer(nn.Module):
    """Question tokens cross-attend to image patches, ``depth`` layers, pooled -> answer logits.

        P = LN(Blocks(patchify(v) E + E_pos))            (B, N, d)   image patches (+ ``image_layers`` self-attention)
        X_0 = Embed(tokens) + E_pos^txt                  (B, T, d)   question tokens
        X_l = QuestionReadsImageLayer(X_{l-1}, P)        (B, T, d)
        logits = W · mean_{t real} LN(X_L)_t             (B, n_answers)

    ``forward(..., return_attention=True)`` also returns the cross-attention weights (B, depth, heads, T, N), kept
    in ``last_attention`` too; ``attention_maps`` reshapes them to the patch grid. With ``image_layers=0`` each patch
    token holds only its own pixels, so a map says exactly where a word looked; with self-attention layers over the
    patches first, a patch also carries what it gathered from the others (easier shapes, blurrier maps)."""

    def __init__(self, vocab_size: int, *, image_size: int = 32, patch_size: int = 4, in_channels: int = 3,
                 dim: int = 64, heads: int = 4, depth: int = 2, image_layers: int = 1, max_len: int = 32,
                 mlp_ratio: float = 2.0, dropout: float = 0.0, pad_id: int = Tokenizer.pad_id,
                 d_obj: int | None = None):
        super().__init__()
        self.vocab_size, self.max_len, self.pad_id, self.d_obj = vocab_size, max_len, pad_id, d_obj
        if d_obj is None:  # image patches: patchify + position embedding
            self.patch_embed = PatchEmbedding(image_size, patch_size, in_channels, dim)  # checks size % patch_size
            self.grid_size = image_size // patch_size
            self.patch_pos = nn.Parameter(torch.randn(1, self.patch_embed.num_patches, dim) * 0.02)
        else:  # object states (B, N, d_obj): one token per object, its position is in its state; an MLP, so that
            # keys can hold non-linear features of the state (|p|² makes q·k a distance)
            self.object_embed = nn.Sequential(nn.Linear(d_obj, dim), nn.GELU(), nn.Linear(dim, dim))
            self.grid_size = None
        self.image_blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio, dropout=dropout)
                                          for _ in range(image_layers))
        self.norm_img = nn.LayerNorm(dim)
        self.token_embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.token_pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        self.layers = nn.ModuleList(QuestionReadsImageLayer(dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, N_ANSWERS)
        self.last_attention: torch.Tensor | None = None  # (B, depth, heads, T, N) of the last forward

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> patch tokens P (B, N, dim); or object states (B, N, d_obj) -> object tokens."""
        if self.d_obj is not None:
            if image.dim() != 3 or image.size(2) != self.d_obj:
                raise ValueError(f"expected object states (B, N, {self.d_obj}), got shape {tuple(image.shape)}")
            p = self.object_embed(image)  # (B, N, dim)
        else:
            p = self.patch_embed(image) + self.patch_pos  # (B, N, dim)
        for block in self.image_blocks:
            p = block(p)  # (B, N, dim): patches read each other
        return self.norm_img(p)

    def answer(self, patches: torch.Tensor, tokens: torch.Tensor,
               return_attention: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Encoded patches P (B, N, dim) and question tokens (B, T) -> logits (B, n_answers).

        Split from ``forward`` so that several questions about one image share one ``encode_image``."""
        check_tokens(tokens, self.vocab_size)
        if tokens.size(1) > self.max_len:
            raise ValueError(f"question of {tokens.size(1)} tokens is longer than max_len {self.max_len}")
        check_batch(patches, tokens)
        pad = tokens == self.pad_id  # (B, T), True = padding
        x = self.token_embed(tokens) + self.token_pos[:, :tokens.size(1)]  # (B, T, dim)
        weights = []
        for layer in self.layers:
            x, w = layer(x, patches, pad)  # (B, T, dim), (B, h, T, N)
            weights.append(w)
        x = self.norm(x)
        keep = (~pad).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)  # (B, dim): mean over the real tokens
        logits = self.head(pooled)  # (B, n_answers)
        attention = torch.stack(weights, dim=1)  # (B, depth, h, T, N)
        self.last_attention = attention.detach()
        return (logits, attention) if return_attention else logits

    def forward(self, image: torch.Tensor, tokens: torch.Tensor,
                return_attention: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        check_tokens(tokens, self.vocab_size)  # before the image work
        if tokens.size(1) > self.max_len:
            raise ValueError(f"question of {tokens.size(1)} tokens is longer than max_len {self.max_len}")
        check_batch(image, tokens)
        return self.answer(self.encode_image(image), tokens, return_attention)  # PatchEmbedding checks the size

    def attention_maps(self, attention: torch.Tensor | None = None) -> torch.Tensor:
        """Cross-attention weights (B, depth, h, T, N) -> maps over the patch grid (B, depth, h, T, g, g)."""
        a = self.last_attention if attention is None else attention
        if self.grid_size is None:
            raise ValueError("this answerer reads object states, not a patch grid: its attention is "
                             "(B, depth, h, T, N)")
        if a is None:
            raise ValueError("no attention yet: call the model first (or pass attention=...)")
        return a.unflatten(-1, (self.grid_size, self.grid_size))


# --- perception: pixels -> object states --------------------------------------------------------------------------


def soft_argmax(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Spatial softmax: map logits (B, K, H, W) -> attention A (B, K, H·W) summing to 1 over the pixels, and the
    expected pixel centre (B, K, 2) as (x, y) in [0, 1] (x right, y down): Σ_p A_p · (x_p, y_p)."""
    B, K, H, W = logits.shape
    A = logits.flatten(2).softmax(dim=-1)  # (B, K, H·W)
    xy = cell_coordinates(H, W, logits.device).to(A.dtype)  # (H·W, 2) pixel centres
    return A, A @ xy  # (B, K, H·W), (B, K, 2)


class ColorSlotDerenderer(nn.Module):
    """Pixels -> object states, one slot per color (Sort-of-CLEVR has exactly one object of each color).

        F = CNN(v)                                  (B, width, H, W)   stride 1: every pixel keeps its features
        A_c = softmax_pixels(w_c · F)               (B, 6, H·W)        where is the object of color c?
        (x_c, y_c) = Σ_p A_c,p · (x_p, y_p)          (B, 6, 2)          soft-argmax: its centre
        f_c = Σ_p A_c,p F_p                          (B, 6, width)      what is there -> shape logits, large?
        state_c = [onehot(c); softmax(shape); σ(large); x_c; y_c]        (B, 6, STATE_SIZE), as ``object_states``

    Trained with ``perception_loss`` against the scenes' true states (de-rendering, as in neural-symbolic VQA,
    Yi et al. 2018), so a relation network or a transformer can reason over 6 states instead of 1024 pixels.
    ``last_maps`` keeps A (B, 6, H, W) of the last forward: where each color slot looked."""

    def __init__(self, image_size: int = 32, width: int = 32, layers: int = 4):
        super().__init__()
        self.image_size = image_size
        blocks, c = [], 3
        for _ in range(layers):  # receptive field 2·layers + 1 pixels: a small object (7 px) and its outline
            blocks += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            c = width
        self.cnn = nn.Sequential(*blocks)
        self.where = nn.Conv2d(width, len(COLORS), 1)  # one location logit per color and pixel
        self.what = nn.Linear(width, len(SHAPES) + 1)  # shape logits and the "large" logit
        self.last_maps: torch.Tensor | None = None

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        check_images(image, 3, self.image_size)
        F_ = self.cnn(image)  # (B, width, H, W)
        A, xy = soft_argmax(self.where(F_))  # (B, 6, H·W), (B, 6, 2)
        f = A @ F_.flatten(2).transpose(1, 2)  # (B, 6, width): features where each color is
        what = self.what(f)  # (B, 6, n_shapes + 1)
        self.last_maps = A.detach().unflatten(-1, image.shape[-2:])
        self.last_what = what
        color = torch.eye(len(COLORS), device=image.device, dtype=xy.dtype).expand(len(image), -1, -1)
        shape = what[..., :len(SHAPES)].softmax(-1)  # (B, 6, n_shapes)
        large = what[..., -1:].sigmoid()  # (B, 6, 1)
        return torch.cat([color, shape, large, xy], dim=-1)  # (B, 6, STATE_SIZE)

    def perception_loss(self, states: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of the last forward against true states (B, 6, STATE_SIZE) in color order (``color_slot_states``):
        squared error of the centres (in pixels, so it is O(1)) + cross-entropy of the shapes + BCE of "large"."""
        if target.shape != states.shape:
            raise ValueError(f"target states have shape {tuple(target.shape)}, expected {tuple(states.shape)}")
        xy_err = ((states[..., -2:] - target[..., -2:]) * self.image_size).pow(2).sum(-1).mean()
        what = self.last_what
        shape_target = target[..., len(COLORS):len(COLORS) + len(SHAPES)].argmax(-1)  # (B, 6)
        shape_ce = F.cross_entropy(what[..., :len(SHAPES)].flatten(0, 1), shape_target.flatten())
        large_bce = F.binary_cross_entropy_with_logits(what[..., -1], target[..., -3])
        return xy_err + shape_ce + large_bce


def color_slot_states(scenes: Sequence[Scene]) -> torch.Tensor:
    """True states (B, 6, STATE_SIZE) in color order, the target of ``ColorSlotDerenderer`` (one object per color)."""
    states, _ = object_states(scenes)
    out = torch.zeros(len(scenes), len(COLORS), STATE_SIZE)
    for b, scene in enumerate(scenes):
        if sorted(o.color for o in scene.objects) != sorted(COLORS):
            raise ValueError(f"scene {b} does not have one object of each color: "
                             f"{[o.color for o in scene.objects]}")
        for i, o in enumerate(scene.objects):
            out[b, COLORS.index(o.color)] = states[b, i]
    return out


class DerenderAndReason(nn.Module):
    """A pixel model in two stages: ``ColorSlotDerenderer`` (pixels -> 6 object states), then a reasoner over the
    states: a ``RelationNetwork`` or a ``TransformerAnswerer`` built with ``d_obj=STATE_SIZE``.
    ``encode_image`` and ``answer`` are split so that many questions about one image share one de-rendering."""

    def __init__(self, derenderer: ColorSlotDerenderer, reasoner: nn.Module):
        super().__init__()
        if getattr(reasoner, "d_obj", None) != STATE_SIZE:  # RelationNetwork, TransformerAnswerer or FocusReasoner
            raise ValueError(f"the reasoner must read object states of size {STATE_SIZE} (build it with d_obj)")
        self.derenderer, self.reasoner = derenderer, reasoner

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        return self.derenderer(image)  # (B, 6, STATE_SIZE)

    def answer(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if isinstance(self.reasoner, RelationNetwork):
            q = self.reasoner.question(tokens)  # (B, d_q)
            check_batch(states, q)
            return self.reasoner.relate(states, q)  # (B, n_answers)
        return self.reasoner.answer(self.reasoner.encode_image(states), tokens)  # (B, n_answers)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        check_images(image, 3, self.derenderer.image_size)
        check_tokens(tokens, self.reasoner.question.vocab_size if isinstance(self.reasoner, RelationNetwork)
                     else self.reasoner.vocab_size)
        check_batch(image, tokens)
        return self.answer(self.encode_image(image), tokens)


# --- a reasoner that steps from object to object ----------------------------------------------------------------------


class FocusStepLayer(nn.Module):
    """One reasoning step of ``FocusReasoner`` (pre-LN): the question tokens read each other, then each token attends
    to the objects with scores that can depend on distance from where the token looked one step before:

        f_t = Σ_j α⁻_tj p_j                                   where token t looked last step (α⁻: last step's weights)
        s_tj = q_t·k_j / √d + a_t · ‖p_j − f_t‖² / r² + b_t · α⁻_tj
        α_tj = softmax_j(s_tj),     x_t += W_O Σ_j α_tj v_j

    per head; a_t and b_t are read from the token: a < 0 looks for the object closest to the last focus, a > 0 the
    furthest, b < 0 steps away from the object just visited. p_j are the objects' centres in [0, 1]², r = 1/8."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = MultiHeadAttention(dim, heads)
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.steer = nn.Linear(dim, 2 * heads)  # a_t and b_t for every head
        nn.init.zeros_(self.steer.weight)  # start as plain cross-attention: no distance term until it helps
        nn.init.zeros_(self.steer.bias)
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x, objects, pos, prev, padding_mask):
        """x (B, T, d) tokens, objects (B, N, d), pos (B, N, 2), prev (B, h, T, N) last step's weights."""
        B, T, _ = x.shape
        x = x + self.self_attn(self.norm1(x), key_padding_mask=padding_mask)  # (B, T, d)
        h = self.norm2(x)
        split = lambda t: t.view(B, -1, self.heads, self.head_dim).transpose(1, 2)  # noqa: E731 (B, h, ·, hd)
        q, k, v = split(self.q(h)), split(self.k(objects)), split(self.v(objects))
        focus = prev @ pos[:, None]  # (B, h, T, 2): where each token looked last step
        dist2 = (pos[:, None, None] - focus[..., None, :]).pow(2).sum(-1) * 64  # (B, h, T, N): in (1/8 side)²
        a, b = self.steer(h).view(B, T, 2, self.heads).permute(2, 0, 3, 1)  # (B, h, T) each
        scores = q @ k.transpose(-2, -1) / self.head_dim ** 0.5 + a[..., None] * dist2 + b[..., None] * prev
        weights = scores.softmax(dim=-1)  # (B, h, T, N)
        x = x + self.out((weights @ v).transpose(1, 2).reshape(B, T, -1))
        return x + self.mlp(self.norm3(x)), weights


class FocusReasoner(nn.Module):
    """Question tokens step over object states (B, N, d_obj) whose last two fields are the centre (x, y):
    ``depth`` ``FocusStepLayer`` steps, each able to move the focus to the object closest to / furthest from the last
    one; then the mean over real tokens -> answer logits. Same interface as ``TransformerAnswerer`` over states
    (``encode_image(states)`` -> (objects, positions), ``answer``); ``last_attention`` (B, depth, h, T, N)."""

    def __init__(self, vocab_size: int, *, d_obj: int = STATE_SIZE, dim: int = 64, heads: int = 4, depth: int = 4,
                 max_len: int = 32, pad_id: int = Tokenizer.pad_id):
        super().__init__()
        self.vocab_size, self.d_obj, self.max_len, self.pad_id = vocab_size, d_obj, max_len, pad_id
        self.object_embed = nn.Linear(d_obj, dim)  # distances enter through the focus term, not the embedding
        self.token_embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.token_pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        self.layers = nn.ModuleList(FocusStepLayer(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, N_ANSWERS)
        self.heads = heads
        self.last_attention: torch.Tensor | None = None

    def encode_image(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if states.dim() != 3 or states.size(2) != self.d_obj:
            raise ValueError(f"expected object states (B, N, {self.d_obj}), got shape {tuple(states.shape)}")
        return self.object_embed(states), states[..., -2:]  # (B, N, dim), (B, N, 2)

    def answer(self, encoded, tokens: torch.Tensor, return_attention: bool = False):
        objects, pos = encoded
        check_tokens(tokens, self.vocab_size)
        if tokens.size(1) > self.max_len:
            raise ValueError(f"question of {tokens.size(1)} tokens is longer than max_len {self.max_len}")
        check_batch(objects, tokens)
        B, T = tokens.shape
        pad = tokens == self.pad_id
        x = self.token_embed(tokens) + self.token_pos[:, :T]  # (B, T, dim)
        prev = torch.full((B, self.heads, T, objects.size(1)), 1.0 / objects.size(1), device=x.device, dtype=x.dtype)
        weights = []
        for layer in self.layers:
            x, prev = layer(x, objects, pos, prev, pad)
            weights.append(prev)
        x = self.norm(x)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        logits = self.head((x * keep).sum(1) / keep.sum(1).clamp(min=1.0))  # (B, n_answers)
        attention = torch.stack(weights, dim=1)  # (B, depth, h, T, N)
        self.last_attention = attention.detach()
        return (logits, attention) if return_attention else logits
