"""Reference solutions of notebook 24.7's exercises, checked by course_utils.exercises in tests/test_exercises.py."""
import torch


def attention_share(image_size, patch_size, dim, mlp_dim):
    # exercise 1, eq. (24.7.7): FLOPs of Q K^T and A V over all FLOPs of one encoder layer
    T = (image_size // patch_size) ** 2 + 1                # N patches + the class token
    projections = 8 * T * dim**2                           # Q, K, V and output: 4 matmuls (T×D)(D×D), 2 FLOPs each
    mlp = 4 * T * dim * mlp_dim                            # (T×D)(D×D_mlp) and back
    attention = 4 * T**2 * dim                             # (T×D)(D×T) and (T×T)(T×D)
    return attention / (projections + mlp + attention)


def unpatchify(x_p, P, C):
    # exercise 2: (B, N, C·P·P) -> (B, C, H, W), the three steps of section 2.2 undone in reverse order
    B, N, _ = x_p.shape
    g = int(round(N ** 0.5))                               # grid side: N = g·g patches
    x = x_p.reshape(B, g, g, C, P, P)                      # (B, H/P, W/P, C, P, P)
    x = x.permute(0, 3, 1, 4, 2, 5)                        # (B, C, H/P, P, W/P, P)
    return x.reshape(B, C, g * P, g * P)                   # (B, C, H, W)


def sincos_2d(g, dim):
    # exercise 3: [sin(x ω), cos(x ω), sin(y ω), cos(y ω)], ω_k = 10000^(-k/(D/4)), x = column, y = row
    y, x = torch.meshgrid(torch.arange(g, dtype=torch.float64), torch.arange(g, dtype=torch.float64), indexing="ij")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))   # (D/4,)
    x = x.flatten()[:, None] * omega                       # (g·g, D/4)
    y = y.flatten()[:, None] * omega                       # (g·g, D/4)
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1).float()   # (g·g, D)


SOLUTIONS = {"24.7.1": attention_share, "24.7.2": unpatchify, "24.7.3": sincos_2d}
