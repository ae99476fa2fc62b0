"""Denoising diffusion (24.11): the noise schedule, the forward process, the ε-loss, DDPM and DDIM steps, and
classifier-free guidance.

Forward process, one step and in closed form (Ho et al. 2020):
    q(x_t | x_{t-1}) = N(√(1 − β_t) x_{t-1}, β_t I),   q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),
    ᾱ_t = Π_{s≤t} (1 − β_s)
so x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with ε ~ N(0, I), and the network ε_θ(x_t, t, c) is trained with
    L = E_{x_0, c, t, ε} ‖ε − ε_θ(x_t, t, c)‖².
Reverse steps from x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t:
    DDPM:  x_{t-1} = [√ᾱ_{t-1} β_t x̂_0 + √α_t (1 − ᾱ_{t-1}) x_t] / (1 − ᾱ_t) + σ_t z,
           σ_t² = β̃_t = (1 − ᾱ_{t-1}) β_t / (1 − ᾱ_t)
    DDIM:  x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'} − σ²) ε_θ + σ z,  σ = η √((1 − ᾱ_{t'}) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_{t'})
Classifier-free guidance (Ho & Salimans 2022): ε̃ = ε_θ(x_t, t, ∅) + g (ε_θ(x_t, t, c) − ε_θ(x_t, t, ∅)).

The steps follow ``diffusers``' ``DDPMScheduler`` / ``DDIMScheduler`` term by term (same float32 schedule, same noise
draws from the same generator), so tests and notebook 24.11 can compare them to 1e-5.

A denoiser here is any module called as ``model(x_t, t, context, context_mask)`` that returns ε̂ of x_t's shape:
``context`` (B, L, D) are the text encoder's token states and ``context_mask`` (B, L) marks padding (True = ignore).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddim", "ddpm")


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal (2021): ᾱ(t) = cos²((t/T + s) / (1 + s) · π/2), β_t = min(1 − ᾱ(t+1)/ᾱ(t), max_beta)."""
    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    return torch.tensor([min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), max_beta) for i in range(T)],
                        dtype=torch.float32)


class NoiseSchedule:
    """β_1 … β_T and ᾱ_t, with the forward process and the DDPM / DDIM reverse steps (index t = 0 … T−1)."""

    def __init__(self, T: int = 1000, kind: str = "linear", beta_start: float = 1e-4, beta_end: float = 0.02):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown noise schedule {kind!r}; allowed: {', '.join(SCHEDULES)}")
        if not isinstance(T, int) or T < 2:
            raise ValueError(f"number of diffusion steps T must be an integer >= 2, got {T!r}")
        self.T, self.kind = T, kind
        if kind == "linear":
            self.betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float32)  # (T,)
        else:
            self.betas = cosine_betas(T)  # (T,)
        self.alphas = 1.0 - self.betas  # α_t
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)  # ᾱ_t
        self.one = torch.tensor(1.0)  # ᾱ before the first step (t = −1)

    def __repr__(self) -> str:
        return f"NoiseSchedule(T={self.T}, kind={self.kind!r})"

    def snr(self, t: torch.Tensor | int) -> torch.Tensor:
        """Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t)."""
        a = self.alphas_cumprod[self.check_t(t)]
        return a / (1 - a)

    def check_t(self, t: torch.Tensor | int) -> torch.Tensor | int:
        """t itself when every value is an integer step in [0, T), else a ValueError."""
        values = torch.as_tensor(t)
        if values.is_floating_point() or values.numel() == 0 or values.min() < 0 or values.max() >= self.T:
            raise ValueError(f"timestep {t!r} must be integers in [0, {self.T})")
        return t

    def alpha_bar(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """ᾱ_t broadcast over a batch like ``like`` (B, …): t is an int or (B,); t = −1 gives ᾱ = 1."""
        t = torch.as_tensor(t)
        table = torch.cat([self.alphas_cumprod, self.one[None]])  # index −1 -> 1
        a = table[t.long()].to(like.device, like.dtype)  # () or (B,)
        return a.reshape(-1, *([1] * (like.dim() - 1))) if a.dim() else a

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε."""
        a = self.alpha_bar(self.check_t(t), x0)  # (B, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def predict_x0(self, eps: torch.Tensor, t: int, x_t: torch.Tensor) -> torch.Tensor:
        """x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t: the clean image the predicted noise implies."""
        a = self.alpha_bar(self.check_t(t), x_t)
        return (x_t - (1 - a).sqrt() * eps) / a.sqrt()

    def ddpm_step(self, eps: torch.Tensor, t: int, x_t: torch.Tensor, generator: torch.Generator | None = None,
                  clip_sample: bool = True) -> torch.Tensor:
        """One ancestral step x_t -> x_{t-1} with the fixed-small variance β̃_t (no noise at t = 0)."""
        t = int(self.check_t(t))
        a_t, a_prev = self.alphas_cumprod[t], (self.alphas_cumprod[t - 1] if t > 0 else self.one)
        beta_t = 1 - a_t / a_prev  # β_t
        x0 = self.predict_x0(eps, t, x_t)
        if clip_sample:
            x0 = x0.clamp(-1, 1)
        mean = (a_prev.sqrt() * beta_t / (1 - a_t)) * x0 + ((1 - beta_t).sqrt() * (1 - a_prev) / (1 - a_t)) * x_t
        if t == 0:
            return mean
        var = ((1 - a_prev) / (1 - a_t) * beta_t).clamp(min=1e-20)  # β̃_t
        z = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
        return mean + var.sqrt() * z

    def ddim_step(self, eps: torch.Tensor, t: int, t_prev: int, x_t: torch.Tensor, eta: float = 0.0,
                  generator: torch.Generator | None = None, clip_sample: bool = False) -> torch.Tensor:
        """One DDIM step x_t -> x_{t_prev} (t_prev < t; −1 means ᾱ_prev = 1); η = 0 is deterministic, η = 1 is
        DDPM-like."""
        t = int(self.check_t(t))
        if not (-1 <= t_prev < t):
            raise ValueError(f"t_prev {t_prev!r} must be in [-1, t) with t = {t}")
        if eta < 0:
            raise ValueError(f"eta {eta!r} must be >= 0")
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[t_prev] if t_prev >= 0 else self.one
        x0 = self.predict_x0(eps, t, x_t)
        if clip_sample:
            x0 = x0.clamp(-1, 1)
        sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()
        x_prev = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).sqrt() * eps
        if eta > 0:
            z = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
            x_prev = x_prev + sigma * z
        return x_prev

    def ddim_timesteps(self, n: int) -> list[int]:
        """n evenly spaced steps T − T/n, …, 0 (``diffusers``' "leading" spacing), largest first."""
        if not isinstance(n, int) or not 1 <= n <= self.T:
            raise ValueError(f"number of sampling steps {n!r} must be an integer in [1, {self.T}]")
        return [i * (self.T // n) for i in range(n)][::-1]


# ----------------------------------------------------------------------------- training: the ε-loss


def check_image_range(x0: torch.Tensor) -> None:
    """Training images live in [−1, 1] (pixels 0…1 mapped by 2x − 1), the range the sampler clips x̂_0 to."""
    lo, hi = float(x0.min()), float(x0.max())
    if lo < -1 - 1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"images must lie in [-1, 1] (map pixels with 2 * x - 1), got values in [{lo:.3g}, {hi:.3g}]")


def epsilon_loss(model: nn.Module, schedule: NoiseSchedule, x0: torch.Tensor, context: torch.Tensor,
                 context_mask: torch.Tensor | None = None, generator: torch.Generator | None = None,
                 check_range: bool = True) -> torch.Tensor:
    """L = ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t, c)‖² with t ~ U{0 … T−1}, ε ~ N(0, I) per image.

    ``check_range``: x_0 are images, which must lie in [−1, 1] (latents of an autoencoder are not checked)."""
    if check_range:
        check_image_range(x0)
    B = x0.size(0)
    t = torch.randint(0, schedule.T, (B,), generator=generator).to(x0.device)  # (B,)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)  # (B, C, H, W)
    x_t = schedule.add_noise(x0, noise, t)
    return F.mse_loss(model(x_t, t, context, context_mask), noise)


def drop_condition(captions: list[str], p: float, rng) -> list[str]:
    """Condition dropout for classifier-free guidance: each caption becomes the empty prompt "" with probability p,
    so one network also learns ε_θ(x_t, t, ∅)."""
    if not 0 <= p <= 1:
        raise ValueError(f"condition dropout {p!r} must be in [0, 1]")
    drop = rng.random(len(captions)) < p
    return ["" if d else c for c, d in zip(captions, drop)]


# ----------------------------------------------------------------------------- sampling


def guided_eps(model: nn.Module, x_t: torch.Tensor, t: int, context: torch.Tensor, null_context: torch.Tensor,
               guidance: float, context_mask: torch.Tensor | None = None,
               null_mask: torch.Tensor | None = None) -> torch.Tensor:
    """ε̃ = ε_u + g (ε_c − ε_u), both halves in one batched forward of 2B images (as the Stable Diffusion pipeline).

    ``context`` (B, L, D) are the prompts' token states, ``null_context`` (B, L, D) those of the empty prompt."""
    if guidance < 0:
        raise ValueError(f"guidance scale {guidance!r} must be >= 0 (0: unconditional, 1: conditional only)")
    B = x_t.size(0)
    ts = torch.full((2 * B,), int(t), device=x_t.device, dtype=torch.long)  # (2B,)
    masks = None if context_mask is None else torch.cat([null_mask, context_mask])  # (2B, L)
    eps = model(torch.cat([x_t, x_t]), ts, torch.cat([null_context, context]), masks)  # (2B, C, H, W)
    eps_u, eps_c = eps.chunk(2)  # (B, C, H, W) each
    return eps_u + guidance * (eps_c - eps_u)


@torch.no_grad()
def sample(model: nn.Module, schedule: NoiseSchedule, context: torch.Tensor, null_context: torch.Tensor,
           shape: tuple[int, ...], *, guidance: float = 3.0, sampler: str = "ddim", steps: int = 25, eta: float = 0.0,
           context_mask: torch.Tensor | None = None, null_mask: torch.Tensor | None = None,
           generator: torch.Generator | None = None, trajectory: bool = False, clip: bool = True,
           callback: Callable[[int, torch.Tensor], None] | None = None):
    """Generate images of ``shape`` (B, C, H, W) from pure noise x_T ~ N(0, I).

    ``sampler="ddpm"`` walks all T steps (``steps`` is ignored); ``"ddim"`` walks ``steps`` steps of T/steps.
    Returns x_0 (B, C, H, W), clipped to [−1, 1] when ``clip`` (pixels; latents are not clipped); with
    ``trajectory`` also the list of (t, x̂_0) at each step."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}")
    device = context.device
    x = torch.randn(shape, generator=generator).to(device)  # x_T
    ts = list(range(schedule.T))[::-1] if sampler == "ddpm" else schedule.ddim_timesteps(steps)
    path = []
    for i, t in enumerate(ts):
        eps = guided_eps(model, x, t, context, null_context, guidance, context_mask, null_mask)
        if trajectory:
            x0 = schedule.predict_x0(eps, t, x)
            path.append((t, x0.clamp(-1, 1) if clip else x0))
        if sampler == "ddpm":
            x = schedule.ddpm_step(eps, t, x, generator=generator, clip_sample=clip)
        else:
            t_prev = ts[i + 1] if i + 1 < len(ts) else -1
            x = schedule.ddim_step(eps, t, t_prev, x, eta=eta, generator=generator)
        if callback is not None:
            callback(t, x)
    x = x.clamp(-1, 1) if clip else x
    return (x, path) if trajectory else x


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """[−1, 1] -> [0, 1]."""
    return ((x + 1) / 2).clamp(0, 1)


__all__ = ["NoiseSchedule", "SAMPLERS", "SCHEDULES", "check_image_range", "cosine_betas", "drop_condition",
           "epsilon_loss", "guided_eps", "sample", "to_pixels"]
