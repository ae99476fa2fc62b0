"""Reference solutions of notebook 24.11's exercises, checked by course_utils.exercises in tests/test_exercises.py."""
import torch


def add_noise(x0, eps, t, betas):
    # exercise 1: x0, eps (B, C, H, W), t (B,) -> x_t (B, C, H, W)
    alpha_bar = torch.cumprod(1 - betas, dim=0)[t].view(-1, 1, 1, 1)  # ᾱ_t for each image
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps


def ddim_step(eps, x_t, a_t, a_prev):
    # exercise 2: one deterministic DDIM step (η = 0) from ᾱ_t to ᾱ_prev
    x0 = (x_t - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5  # x̂_0
    return a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps


def guided(eps_u, eps_c, g):
    # exercise 3: classifier-free guidance
    return eps_u + g * (eps_c - eps_u)


def posterior_variance(betas, t):
    # exercise 4: β̃_t for t ≥ 1 (0-indexed steps)
    alpha_bar = torch.cumprod(1 - betas, dim=0)
    return float((1 - alpha_bar[t - 1]) / (1 - alpha_bar[t]) * betas[t])


SOLUTIONS = {"24.11.1": add_noise, "24.11.2": ddim_step, "24.11.3": guided, "24.11.4": posterior_variance}
