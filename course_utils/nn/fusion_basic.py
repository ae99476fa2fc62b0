"""Unimodal and fused classifiers of notebook 24.1 (image + question -> answer), built there cell by cell.

Every model has the same call ``model(image, tokens) -> logits`` so that one training loop, one evaluation
and one corruption sweep serve them all; a unimodal model ignores the other input.

The image path is a stem (one strided convolution: low-level features of each 2x2-pixel cell) followed by a
trunk (two convolutions and a global *max* pool, so a channel can act as a detector of "a red circle
somewhere"). The models differ only in where the question enters:

- ``ImageOnly`` / ``TextOnly``: one modality, an MLP head (the question read by ``BagOfWordsEncoder``).
- ``EarlyFusion``: the question embedding painted onto every pixel as extra input channels (input level).
- ``ConcatFusion``: the question vector concatenated to the stem's feature vector at every position
  (feature level).
- ``VectorConcatFusion``: pooled image vector and question vector concatenated (late feature level).
- ``decision_fusion``: the two unimodal classifiers' log-probabilities combined (decision level).
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.tokenizer import Tokenizer


def mlp_head(d_in: int, hidden: int, n_classes: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


def check_image(image: torch.Tensor, channels: int) -> None:
    if image.dim() != 4 or image.size(1) != channels:
        raise ValueError(f"expected images (B, {channels}, H, W), got shape {tuple(image.shape)}")
    if min(image.shape[-2:]) < 8:
        raise ValueError(f"image size {min(image.shape[-2:])} is too small: the encoder downsamples by 4")


class ImageStem(nn.Module):
    """(B, C, H, W) -> (B, width, H/2, W/2): one 4x4 convolution with stride 2 (colors, edges)."""

    def __init__(self, in_channels: int = 3, width: int = 16):
        super().__init__()
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, width, 4, stride=2, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        check_image(image, self.in_channels)
        return torch.relu(self.conv(image))                                            # (B, w, H/2, W/2)


class Trunk(nn.Module):
    """(B, c_in, h, w) -> (B, dim): conv3x3 stride 2, conv3x3, global max pool (receptive field 16 px)."""

    def __init__(self, c_in: int, width: int = 16, dim: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(c_in, 2 * width, 3, stride=2, padding=1), nn.ReLU(),             # (B, 2w, h/2, w/2)
            nn.Conv2d(2 * width, dim, 3, padding=1), nn.ReLU(),                        # (B, dim, h/2, w/2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).amax(dim=(2, 3))                                            # (B, dim)


class BagOfWordsEncoder(nn.Module):
    """(B, T) token ids -> (B, dim): mean of the embeddings of the non-padding tokens (word order is ignored)."""

    def __init__(self, vocab_size: int, dim: int = 16, pad_id: int = Tokenizer.pad_id):
        super().__init__()
        self.pad_id, self.dim = pad_id, dim
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(f"expected token ids (B, T) of dtype long, got {tuple(tokens.shape)} {tokens.dtype}")
        keep = (tokens != self.pad_id).unsqueeze(-1).float()                           # (B, T, 1)
        e = self.embed(tokens)                                                         # (B, T, dim)
        return (e * keep).sum(1) / keep.sum(1).clamp(min=1.0)                          # (B, dim)


def tile(z: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B, d) -> (B, d, h, w): the same vector at every position of the feature map ``like`` (B, c, h, w)."""
    return z[:, :, None, None].expand(-1, -1, *like.shape[-2:])


class ImageOnly(nn.Module):
    """p(y | v): stem, trunk, MLP head; the question is ignored."""

    def __init__(self, n_classes: int = 3, width: int = 16, dim: int = 32, hidden: int = 64):
        super().__init__()
        self.stem = ImageStem(3, width)
        self.trunk = Trunk(width, width, dim)
        self.head = mlp_head(dim, hidden, n_classes)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.trunk(self.stem(image)))                                 # (B, n_classes)


class TextOnly(nn.Module):
    """p(y | t): bag-of-words encoder, MLP head; the image is ignored."""

    def __init__(self, vocab_size: int, n_classes: int = 3, d_txt: int = 16, hidden: int = 64):
        super().__init__()
        self.enc_txt = BagOfWordsEncoder(vocab_size, d_txt)
        self.head = mlp_head(d_txt, hidden, n_classes)

    def forward(self, image: torch.Tensor | None, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc_txt(tokens))                                         # (B, n_classes)


class ConcatFusion(nn.Module):
    """p(y | v, t), feature-level fusion: [stem(v) at each position; z_txt] -> trunk -> MLP head."""

    def __init__(self, vocab_size: int, n_classes: int = 3, width: int = 16, d_txt: int = 16, dim: int = 32,
                 hidden: int = 64):
        super().__init__()
        self.stem = ImageStem(3, width)
        self.enc_txt = BagOfWordsEncoder(vocab_size, d_txt)
        self.trunk = Trunk(width + d_txt, width, dim)
        self.head = mlp_head(dim, hidden, n_classes)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        z_img, z_txt = self.stem(image), self.enc_txt(tokens)                          # (B, w, h, w'), (B, d)
        z = torch.cat([z_img, tile(z_txt, z_img)], dim=1)                              # (B, w + d, h, w')
        return self.head(self.trunk(z))                                                # (B, n_classes)


class EarlyFusion(nn.Module):
    """Input-level fusion: [pixels; z_txt at every pixel] -> stem -> trunk -> MLP head."""

    def __init__(self, vocab_size: int, n_classes: int = 3, width: int = 16, d_txt: int = 8, dim: int = 32,
                 hidden: int = 64):
        super().__init__()
        self.enc_txt = BagOfWordsEncoder(vocab_size, d_txt)
        self.stem = ImageStem(3 + d_txt, width)
        self.trunk = Trunk(width, width, dim)
        self.head = mlp_head(dim, hidden, n_classes)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, tile(self.enc_txt(tokens), image)], dim=1)               # (B, 3 + d, H, W)
        return self.head(self.trunk(self.stem(x)))                                     # (B, n_classes)


class VectorConcatFusion(nn.Module):
    """Late feature fusion: [pooled image vector; z_txt] -> MLP head. The pool has already discarded *where*
    each feature was, so which shape goes with which color must be kept in the channels themselves."""

    def __init__(self, vocab_size: int, n_classes: int = 3, width: int = 16, d_txt: int = 16, dim: int = 32,
                 hidden: int = 64):
        super().__init__()
        self.stem = ImageStem(3, width)
        self.trunk = Trunk(width, width, dim)
        self.enc_txt = BagOfWordsEncoder(vocab_size, d_txt)
        self.head = mlp_head(dim + d_txt, hidden, n_classes)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        z = torch.cat([self.trunk(self.stem(image)), self.enc_txt(tokens)], dim=-1)    # (B, dim + d)
        return self.head(z)                                                            # (B, n_classes)


def decision_fusion(logits_img: torch.Tensor, logits_txt: torch.Tensor, log_prior: torch.Tensor) -> torch.Tensor:
    """Decision-level fusion: log p(y|v) + log p(y|t) - log p(y), the exact posterior log p(y|v,t) + const
    only when v and t are independent given y."""
    return logits_img.log_softmax(-1) + logits_txt.log_softmax(-1) - log_prior                # (B, n_classes)
