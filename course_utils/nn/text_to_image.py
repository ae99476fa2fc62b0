"""Latent text-to-image diffusion (24.11), Stable Diffusion's layout at toy scale:

    prompt -> frozen text encoder -> token states c (B, L, 64) ──cross-attention──┐
    noise z_T (B, 4, 8, 8) -> T steps of the UNet ε_θ(z_t, t, c) (DDPM or DDIM, guided) -> z_0 -> decoder -> image

The autoencoder and the text encoder are trained before and stay frozen; only the UNet learns, with the ε-loss on
latents z_0 = E(x) / scale.
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.text_to_image import tokenize
from .autoencoder import Autoencoder
from .diffusion import NoiseSchedule, epsilon_loss, sample, to_pixels
from .text import TextTransformer
from .unet import UNet, UNetConfig


class FrozenTextEncoder(nn.Module):
    """Prompts -> the text transformer's final token states (B, L, width) and the padding mask (B, L), no gradients."""

    def __init__(self, text: TextTransformer):
        super().__init__()
        self.text = text.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> FrozenTextEncoder:  # stays in eval mode (no dropout) while the UNet trains
        return super().train(False)

    @torch.no_grad()
    def forward(self, prompts: list[str] | tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(self.text.parameters()).device
        ids = tokenize(prompts).to(device)  # (B, L), "" -> <bos> <eos>
        return self.text.forward_features(ids), ids == 0  # (B, L, width), (B, L) True at padding


class LatentDiffusion(nn.Module):
    """ε_θ in the latent space of a frozen autoencoder, conditioned on a frozen text encoder."""

    def __init__(self, autoencoder: Autoencoder, text_encoder: FrozenTextEncoder, unet_config: UNetConfig,
                 schedule: NoiseSchedule):
        super().__init__()
        self.autoencoder = autoencoder.requires_grad_(False)
        self.text_encoder = text_encoder
        self.unet = UNet(unet_config)
        self.schedule = schedule

    def train(self, mode: bool = True) -> LatentDiffusion:  # only the UNet ever trains
        super().train(mode)
        self.autoencoder.eval()
        return self

    def loss(self, images: torch.Tensor, captions: list[str], generator: torch.Generator | None = None) -> torch.Tensor:
        """The ε-loss on the latents of ``images`` (B, 3, 32, 32) in [−1, 1] with their ``captions``."""
        with torch.no_grad():
            z0 = self.autoencoder.encode(images)  # (B, 4, 8, 8)
        context, mask = self.text_encoder(captions)
        return epsilon_loss(self.unet, self.schedule, z0, context, mask, generator, check_range=False)

    @torch.no_grad()
    def generate(self, prompts: list[str], *, guidance: float = 3.0, sampler: str = "ddim", steps: int = 25,
                 eta: float = 0.0, generator: torch.Generator | None = None, trajectory: bool = False):
        """Images (B, 3, 32, 32) in [0, 1] for ``prompts``; with ``trajectory`` also [(t, x̂_0 image)] per step."""
        B = len(prompts)
        states, pad = self.text_encoder(list(prompts) + [""] * B)  # prompts and empty prompts, one length L
        context, null_context, mask, null_mask = states[:B], states[B:], pad[:B], pad[B:]  # (B, L, D), (B, L)
        cfg = self.unet.config
        shape = (B, cfg.in_channels, cfg.image_size, cfg.image_size)
        out = sample(self.unet, self.schedule, context, null_context, shape, guidance=guidance, sampler=sampler,
                     steps=steps, eta=eta, context_mask=mask, null_mask=null_mask, generator=generator,
                     trajectory=trajectory, clip=False)
        if not trajectory:
            return to_pixels(self.autoencoder.decode(out))
        z0, path = out
        return to_pixels(self.autoencoder.decode(z0)), [(t, to_pixels(self.autoencoder.decode(x0))) for t, x0 in path]


__all__ = ["FrozenTextEncoder", "LatentDiffusion"]
