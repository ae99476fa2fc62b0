"""Typical wrong answers to notebook 24.7's exercises: each must be rejected with specific feedback."""
import torch


# 24.7.1 -------------------------------------------------------------------------------------------------------
def _share_without_class_token(image_size, patch_size, dim, mlp_dim):
    T = (image_size // patch_size) ** 2                    # forgets the class token
    return 4 * T**2 * dim / (8 * T * dim**2 + 4 * T * dim * mlp_dim + 4 * T**2 * dim)


def _share_one_matmul(image_size, patch_size, dim, mlp_dim):
    T = (image_size // patch_size) ** 2 + 1
    return 2 * T**2 * dim / (8 * T * dim**2 + 4 * T * dim * mlp_dim + 2 * T**2 * dim)   # counts only Q K^T


def _share_in_percent(image_size, patch_size, dim, mlp_dim):
    T = (image_size // patch_size) ** 2 + 1
    return 100 * 4 * T**2 * dim / (8 * T * dim**2 + 4 * T * dim * mlp_dim + 4 * T**2 * dim)


def _share_of_attention_vs_mlp_only(image_size, patch_size, dim, mlp_dim):
    T = (image_size // patch_size) ** 2 + 1
    return 4 * T**2 * dim / (4 * T * dim * mlp_dim + 4 * T**2 * dim)                     # forgets the projections


def _share_as_tuple(image_size, patch_size, dim, mlp_dim):
    return (0.04, 0.96)


# 24.7.2 -------------------------------------------------------------------------------------------------------
def _unpatchify_channel_last(x_p, P, C):
    B, N, _ = x_p.shape
    g = int(N ** 0.5)
    return x_p.reshape(B, g, g, P, P, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, g * P, g * P)


def _unpatchify_column_major(x_p, P, C):
    B, N, _ = x_p.shape
    g = int(N ** 0.5)
    return x_p.reshape(B, g, g, C, P, P).permute(0, 3, 2, 4, 1, 5).reshape(B, C, g * P, g * P)


def _unpatchify_plain_reshape(x_p, P, C):
    B, N, _ = x_p.shape
    g = int(N ** 0.5)
    return x_p.reshape(B, C, g * P, g * P)                 # right shape, pixels scrambled


def _unpatchify_wrong_shape(x_p, P, C):
    return x_p.transpose(1, 2)


# 24.7.3 -------------------------------------------------------------------------------------------------------
def _sincos(g, dim, swap=False, denom=None, start=0):
    y, x = torch.meshgrid(torch.arange(g, dtype=torch.float64), torch.arange(g, dtype=torch.float64), indexing="ij")
    omega = 1.0 / 10000 ** (torch.arange(start, start + dim // 4, dtype=torch.float64) / (denom or dim // 4))
    x, y = x.flatten()[:, None] * omega, y.flatten()[:, None] * omega
    if swap:
        x, y = y, x
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1).float()


WRONG = {
    "24.7.1": [_share_without_class_token, _share_one_matmul, _share_in_percent, _share_of_attention_vs_mlp_only,
               _share_as_tuple],
    "24.7.2": [_unpatchify_channel_last, _unpatchify_column_major, _unpatchify_plain_reshape,
               _unpatchify_wrong_shape],
    "24.7.3": [lambda g, dim: _sincos(g, dim, swap=True), lambda g, dim: _sincos(g, dim, denom=dim // 2),
               lambda g, dim: _sincos(g, dim, start=1), lambda g, dim: torch.zeros(g, dim)],
}
