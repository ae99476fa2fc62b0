"""Helpers private to notebook 24.11 (text-to-image): the library denoiser adapter, the guidance sweep, film strips."""
from __future__ import annotations

import torch
from torch import nn


class DiffusersDenoiser(nn.Module):
    """``diffusers.UNet2DConditionModel`` called as our denoisers are: ``model(x_t, t, context, context_mask)``.

    diffusers' attention mask keeps what is True, ours marks padding with True, hence the ``~``."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        keep = None if context_mask is None else (~context_mask).float()  # (B, L) 1 = attend
        return self.unet(x, t, encoder_hidden_states=context, encoder_attention_mask=keep).sample


__all__ = ["DiffusersDenoiser"]
