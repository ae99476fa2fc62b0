"""Image autoencoders for text-to-image (24.11): a continuous one whose latent space a diffusion model works in
(Stable Diffusion's idea), and a discrete one whose codes an autoregressive prior writes (DALL-E's idea).

    image x (B, 3, 32, 32) -> encoder E -> z (B, d, 8, 8) -> decoder D -> x̂ (B, 3, 32, 32)

- ``Autoencoder``: z is continuous, trained with ‖x − D(E(x))‖²; ``scale`` divides z so the latents have about unit
  variance before noise is added (Stable Diffusion's scale factor 0.18215 plays this role).
- ``DiscreteAutoencoder``: each of the 8 × 8 cells of E(x) is replaced by its nearest codebook vector e_k
  (vector quantization, van den Oord et al. 2017), so an image becomes 64 integer tokens; the loss is
  ‖x − D(e)‖² + ‖sg[E(x)] − e‖² + β ‖E(x) − sg[e]‖², the gradient copied past the quantizer (straight-through).
  DALL-E's dVAE makes the same choice differentiable with the Gumbel-softmax relaxation instead.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _block(c_in: int, c_out: int, groups: int = 8) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(groups, c_out), nn.SiLU())


class ConvEncoder(nn.Module):
    """(B, 3, 32, 32) -> (B, d, 8, 8): widths w, 2w, 4w at 32, 16 and 8 pixels (stride-2 convs between)."""

    def __init__(self, latent_dim: int, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            _block(3, width),  # 32 × 32
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), _block(2 * width, 2 * width),  # 16 × 16
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1), _block(4 * width, 4 * width),  # 8 × 8
            nn.Conv2d(4 * width, latent_dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """(B, d, 8, 8) -> (B, 3, 32, 32) in [−1, 1]: the encoder mirrored, nearest-neighbour upsampling."""

    def __init__(self, latent_dim: int, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            _block(latent_dim, 4 * width), _block(4 * width, 4 * width),  # 8 × 8
            nn.Upsample(scale_factor=2), _block(4 * width, 2 * width),  # 16 × 16
            nn.Upsample(scale_factor=2), _block(2 * width, width),  # 32 × 32
            nn.Conv2d(width, 3, 3, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _check_images(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[1:] != (3, 32, 32):
        raise ValueError(f"images of shape {tuple(x.shape)}: expected (B, 3, 32, 32) in [-1, 1]")


class Autoencoder(nn.Module):
    """A continuous autoencoder 32 × 32 × 3 -> 8 × 8 × d (d = 4: 12 times fewer numbers than pixels)."""

    def __init__(self, latent_dim: int = 4, width: int = 16):
        super().__init__()
        self.encoder, self.decoder = ConvEncoder(latent_dim, width), ConvDecoder(latent_dim, width)
        self.register_buffer("scale", torch.ones(()))  # std of E(x) over training images, set after training

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, 32, 32) in [−1, 1] -> latents z / scale (B, d, 8, 8), about unit variance."""
        _check_images(x)
        return self.encoder(x) / self.scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents (B, d, 8, 8) -> images (B, 3, 32, 32) in [−1, 1]."""
        return self.decoder(z * self.scale)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction error ‖x − D(E(x))‖² (mean over pixels)."""
        _check_images(x)
        return F.mse_loss(self.decoder(self.encoder(x)), x)

    @torch.no_grad()
    def set_scale_(self, x: torch.Tensor) -> float:
        """scale <- std of E(x) over the images x, so that encode(x) has unit variance."""
        self.scale.fill_(float(self.encoder(x).std()))
        return float(self.scale)


class VectorQuantizer(nn.Module):
    """z_e (B, d, h, w) -> nearest codebook vectors z_q, their indices (B, h, w), and the codebook + commitment loss."""

    def __init__(self, codebook_size: int, dim: int, beta: float = 0.25):
        super().__init__()
        self.codebook = nn.Embedding(codebook_size, dim)  # e_1 … e_K
        nn.init.uniform_(self.codebook.weight, -1 / codebook_size, 1 / codebook_size)
        self.beta = beta

    def indices(self, z_e: torch.Tensor) -> torch.Tensor:
        """k = argmin_k ‖z_e − e_k‖² for every cell: (B, d, h, w) -> (B, h, w)."""
        flat = z_e.permute(0, 2, 3, 1)  # (B, h, w, d)
        dist = (flat.pow(2).sum(-1, keepdim=True) - 2 * flat @ self.codebook.weight.T
                + self.codebook.weight.pow(2).sum(-1))  # (B, h, w, K)
        return dist.argmin(-1)

    def lookup(self, k: torch.Tensor) -> torch.Tensor:
        """Indices (B, h, w) -> code vectors (B, d, h, w)."""
        return self.codebook(k).permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor):
        k = self.indices(z_e)  # (B, h, w)
        z_q = self.lookup(k)  # (B, d, h, w)
        vq_loss = F.mse_loss(z_q, z_e.detach()) + self.beta * F.mse_loss(z_e, z_q.detach())
        z_q = z_e + (z_q - z_e).detach()  # straight-through: forward z_q, gradient to z_e
        return z_q, k, vq_loss


class DiscreteAutoencoder(nn.Module):
    """An image as 8 × 8 tokens from a codebook of K vectors (VQ-VAE), the image vocabulary of DALL-E's prior."""

    def __init__(self, codebook_size: int = 64, code_dim: int = 32, width: int = 16):
        super().__init__()
        self.encoder, self.decoder = ConvEncoder(code_dim, width), ConvDecoder(code_dim, width)
        self.quantizer = VectorQuantizer(codebook_size, code_dim)
        self.codebook_size = codebook_size

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, 32, 32) in [−1, 1] -> tokens (B, 64), row by row."""
        _check_images(x)
        return self.quantizer.indices(self.encoder(x)).flatten(1)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens (B, 64) -> images (B, 3, 32, 32) in [−1, 1]."""
        if tokens.dim() != 2 or tokens.size(1) != 64 or tokens.min() < 0 or tokens.max() >= self.codebook_size:
            raise ValueError(f"tokens of shape {tuple(tokens.shape)}: expected (B, 64) ids in "
                             f"[0, {self.codebook_size})")
        return self.decoder(self.quantizer.lookup(tokens.view(-1, 8, 8)))

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """‖x − D(z_q)‖² + codebook and commitment terms; also the share of codes in use."""
        _check_images(x)
        z_q, k, vq_loss = self.quantizer(self.encoder(x))
        rec = F.mse_loss(self.decoder(z_q), x)
        return rec + vq_loss, {"rec": float(rec.detach()), "codes": k.unique().numel() / self.codebook_size}


__all__ = ["Autoencoder", "ConvDecoder", "ConvEncoder", "DiscreteAutoencoder", "VectorQuantizer"]
