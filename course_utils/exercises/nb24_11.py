"""Checkers of notebook 24.11's exercises (text-to-image diffusion). Each runs in well under a second."""
from __future__ import annotations

import torch

from ..nn.diffusion import NoiseSchedule
from .core import Wrong, call, checker, close


def _tensor(x, what: str, shape) -> torch.Tensor:
    if not torch.is_tensor(x):
        raise Wrong(f"{what} returned {type(x).__name__}, expected a tensor of shape {tuple(shape)}")
    if tuple(x.shape) != tuple(shape):
        raise Wrong(f"{what} returned shape {tuple(x.shape)}, expected {tuple(shape)}",
                    "t holds one step per image: index the table with t and reshape to (B, 1, 1, 1) to broadcast")
    return x.detach().double()


def _like(x: torch.Tensor, y: torch.Tensor) -> bool:
    return torch.allclose(x, y.double(), atol=1e-5)


# ----------------------------------------------------------------------------------------------- 24.11.1


@checker("24.11.1", "the forward process in closed form: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, ᾱ_t = Π_{s≤t} (1 − β_s)")
def check_add_noise(fn) -> str:
    s = NoiseSchedule(1000, "linear")
    g = torch.Generator().manual_seed(11)
    x0, eps = torch.rand(4, 3, 5, 5, generator=g) * 2 - 1, torch.randn(4, 3, 5, 5, generator=g)
    t = torch.tensor([0, 10, 400, 999])
    got = _tensor(call(fn, x0.clone(), eps.clone(), t.clone(), s.betas.clone()), "add_noise", x0.shape)
    want = s.add_noise(x0, eps, t)

    def with_table(a):
        a = a[t].view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    if _like(got, with_table(1 - s.betas)):
        raise Wrong("x_t uses α_t = 1 − β_t of the last step only",
                    "the closed form needs the product of all steps up to t: ᾱ_t = cumprod(1 − β)[t]")
    if _like(got, with_table(s.betas)):
        raise Wrong("x_t uses β_t where ᾱ_t belongs", "ᾱ_t = Π_{s≤t} (1 − β_s): torch.cumprod(1 - betas, 0)[t]")
    a = s.alphas_cumprod[t].view(-1, 1, 1, 1)
    if _like(got, a * x0 + (1 - a) * eps):
        raise Wrong("the square roots are missing",
                    "variances add, standard deviations do not: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε keeps Var(x_t) = 1 "
                    "for unit-variance data")
    if _like(got, with_table(torch.exp(-torch.cumsum(s.betas, 0)))):
        raise Wrong("ᾱ_t is exp(−Σ β_s), an approximation", "use the exact product torch.cumprod(1 - betas, 0)")
    close(got, want, "x_t", tol=1e-5,
          hint="x_t = ᾱ_t.sqrt() * x0 + (1 - ᾱ_t).sqrt() * eps with ᾱ of shape (B, 1, 1, 1)")
    left = float(s.alphas_cumprod[999].sqrt())
    return f"x_t matches NoiseSchedule.add_noise; at t = 999 only √ᾱ = {left:.4f} of x_0 is left"


# ----------------------------------------------------------------------------------------------- 24.11.2


@checker("24.11.2", "a deterministic DDIM step (η = 0): x_prev = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev) ε̂")
def check_ddim_step(fn) -> str:
    g = torch.Generator().manual_seed(12)
    x_t, eps = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    s = NoiseSchedule(1000, "cosine")
    cases = [(700, 650), (300, 250), (40, -1)]
    for t, t_prev in cases:
        a_t = float(s.alphas_cumprod[t])
        a_prev = float(s.alphas_cumprod[t_prev]) if t_prev >= 0 else 1.0
        got = _tensor(call(fn, eps.clone(), x_t.clone(), a_t, a_prev), "ddim_step", x_t.shape)
        want = s.ddim_step(eps, t, t_prev, x_t)
        x0 = (x_t - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        if t_prev < 0:  # the last step: ᾱ_prev = 1, x_prev = x̂_0
            close(got, want, "x_prev of the last step (ᾱ_prev = 1)", tol=1e-4,
                  hint="with ᾱ_prev = 1 the step returns x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t")
            continue
        if _like(got, x0):
            raise Wrong("ddim_step returns x̂_0, the predicted clean image",
                        "a step only goes to ᾱ_prev: add back the noise direction √(1 − ᾱ_prev) ε̂")
        if _like(got, a_prev ** 0.5 * x0):
            raise Wrong("the direction term √(1 − ᾱ_prev) ε̂ is missing",
                        "DDIM re-noises x̂_0 to the level of t_prev with the same predicted noise ε̂")
        x0_swapped = (x_t - (1 - a_prev) ** 0.5 * eps) / a_prev ** 0.5
        if _like(got, a_t ** 0.5 * x0_swapped + (1 - a_t) ** 0.5 * eps):
            raise Wrong("ᾱ_t and ᾱ_prev are swapped", "x̂_0 uses ᾱ_t (where x_t is); the new point uses ᾱ_prev")
        x0_nosqrt = (x_t - (1 - a_t) * eps) / a_t
        if _like(got, a_prev * x0_nosqrt + (1 - a_prev) * eps):
            raise Wrong("the square roots are missing", "x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t")
        close(got, want, f"x_prev for t = {t} -> {t_prev}", tol=1e-4,
              hint="x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t, then √ᾱ_prev x̂_0 + √(1 − ᾱ_prev) ε̂")
    return "x_prev matches NoiseSchedule.ddim_step with η = 0 (and diffusers' DDIMScheduler); the last step gives x̂_0"


# ----------------------------------------------------------------------------------------------- 24.11.3


@checker("24.11.3", "classifier-free guidance: ε̃ = ε_u + g (ε_c − ε_u)")
def check_guidance(fn) -> str:
    g = torch.Generator().manual_seed(13)
    eps_u, eps_c = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    for scale in (0.0, 1.0, 3.0, 7.5):
        got = _tensor(call(fn, eps_u.clone(), eps_c.clone(), scale), "guided", eps_u.shape)
        if scale == 3.0:
            if _like(got, (1 + scale) * eps_c - scale * eps_u):
                raise Wrong("this is the paper's convention (1 + w) ε_c − w ε_u, which is ours with g = w + 1",
                            "here g = 1 means no guidance: ε̃ = ε_u + g (ε_c − ε_u)")
            if _like(got, scale * (eps_c - eps_u)):
                raise Wrong("ε_u is missing: only the difference is scaled",
                            "start from the unconditional prediction and move g times along ε_c − ε_u")
            if _like(got, eps_u + scale * eps_c):
                raise Wrong("the difference ε_c − ε_u is missing", "ε̃ = ε_u + g (ε_c − ε_u)")
            if _like(got, eps_c + scale * (eps_u - eps_c)):
                raise Wrong("ε_u and ε_c are swapped: the step goes away from the prompt",
                            "ε̃ = ε_u + g (ε_c − ε_u) moves from the unconditional towards the conditional")
        close(got, eps_u + scale * (eps_c - eps_u), f"ε̃ for g = {scale}", tol=1e-5, hint="ε̃ = ε_u + g (ε_c − ε_u)")
    return "g = 0 gives ε_u (unconditional), g = 1 gives ε_c (plain conditional), g > 1 goes past it"


# ----------------------------------------------------------------------------------------------- 24.11.4


@checker("24.11.4", "the variance of the posterior q(x_{t−1} | x_t, x_0): β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t")
def check_posterior_variance(fn) -> str:
    s = NoiseSchedule(1000, "linear")
    a = s.alphas_cumprod
    for t in (1, 10, 500, 999):
        got = call(fn, s.betas.clone(), t)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"posterior_variance(betas, {t}) returned {type(got).__name__}, expected a number") from None
        want = float((1 - a[t - 1]) / (1 - a[t]) * s.betas[t])
        if t == 10:
            if abs(got - float(s.betas[t])) < 1e-9:
                raise Wrong("this is β_t, the forward step's variance (DDPM's 'fixed large' choice)",
                            "the posterior knows x_0 as well, so its variance is smaller: multiply β_t by "
                            "(1 − ᾱ_{t−1}) / (1 − ᾱ_t)")
            if abs(got - float((1 - a[t]) / (1 - a[t + 1]) * s.betas[t])) < 1e-9:
                raise Wrong("ᾱ is taken one step late", "use ᾱ_{t−1} = cumprod(1 − β)[t − 1] and ᾱ_t = cumprod[t]")
            if abs(got - float((1 - a[t - 1]) / (1 - a[t]))) < 1e-9:
                raise Wrong("the factor β_t is missing", "β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t")
        close(got, want, f"β̃_{t}", tol=1e-7, hint="ᾱ = torch.cumprod(1 - betas, 0); (1 − ᾱ[t−1]) / (1 − ᾱ[t]) · β[t]")
    tilde = float((1 - a[0]) / (1 - a[1]) * s.betas[1])
    return f"β̃_t < β_t at every step; at t = 1, β̃ = {tilde:.2e} vs β = {float(s.betas[1]):.2e}"
