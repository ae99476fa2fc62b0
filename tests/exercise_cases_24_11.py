"""Typical wrong answers to notebook 24.11's exercises; each must be rejected with specific feedback."""
import torch


def _alpha_not_cumulative(x0, eps, t, betas):
    a = (1 - betas)[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def _beta_for_alpha_bar(x0, eps, t, betas):
    a = betas[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def _no_sqrt(x0, eps, t, betas):
    a = torch.cumprod(1 - betas, 0)[t].view(-1, 1, 1, 1)
    return a * x0 + (1 - a) * eps


def _not_broadcast(x0, eps, t, betas):
    a = torch.cumprod(1 - betas, 0)[t]  # (B,) against (B, C, H, W)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def _returns_x0(eps, x_t, a_t, a_prev):
    return (x_t - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5


def _no_direction(eps, x_t, a_t, a_prev):
    return a_prev ** 0.5 * (x_t - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5


def _swapped(eps, x_t, a_t, a_prev):
    x0 = (x_t - (1 - a_prev) ** 0.5 * eps) / a_prev ** 0.5
    return a_t ** 0.5 * x0 + (1 - a_t) ** 0.5 * eps


def _ddim_no_sqrt(eps, x_t, a_t, a_prev):
    x0 = (x_t - (1 - a_t) * eps) / a_t
    return a_prev * x0 + (1 - a_prev) * eps


def _paper_convention(eps_u, eps_c, g):
    return (1 + g) * eps_c - g * eps_u


def _difference_only(eps_u, eps_c, g):
    return g * (eps_c - eps_u)


def _no_difference(eps_u, eps_c, g):
    return eps_u + g * eps_c


def _away_from_prompt(eps_u, eps_c, g):
    return eps_c + g * (eps_u - eps_c)


def _beta_itself(betas, t):
    return float(betas[t])


def _one_step_late(betas, t):
    a = torch.cumprod(1 - betas, 0)
    return float((1 - a[t]) / (1 - a[t + 1]) * betas[t])


def _no_beta(betas, t):
    a = torch.cumprod(1 - betas, 0)
    return float((1 - a[t - 1]) / (1 - a[t]))


WRONG = {
    "24.11.1": [_alpha_not_cumulative, _beta_for_alpha_bar, _no_sqrt, _not_broadcast],
    "24.11.2": [_returns_x0, _no_direction, _swapped, _ddim_no_sqrt],
    "24.11.3": [_paper_convention, _difference_only, _no_difference, _away_from_prompt],
    "24.11.4": [_beta_itself, _one_step_late, _no_beta],
}
