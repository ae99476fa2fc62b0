"""Vision Transformer (Dosovitskiy et al. 2021) from scratch, with attention maps and attention rollout.

An image (B, C, H, W) is cut into N = (H/p)·(W/p) patches, each flattened and mapped linearly to a token;
a learnable class token is prepended, position embeddings added, and a stack of pre-LN transformer blocks
mixes the tokens. The class token (or the mean of the patch tokens) is the image representation.

The same module holds torchvision's ViT (``from_torchvision``) and open_clip's vision tower (``ln_pre=True``,
``patch_bias=False``, ``act="quick_gelu"``, ``ln_eps=1e-5``, ``output_dim``) by copying weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from .attention import TransformerBlock


@dataclass
class ViTConfig:
    image_size: int = 32
    patch_size: int = 4
    in_channels: int = 3
    num_classes: int = 10  # 0 = no classification head: forward returns the pooled features
    dim: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    mlp_dim: int | None = None  # overrides mlp_ratio when set
    pos_embed: str = "learned"  # "learned" | "sincos" (fixed 2-D sin-cos)
    pool: str = "cls"  # "cls" = class token, "mean" = mean of the patch tokens
    ln_pre: bool = False  # LayerNorm on the tokens before the encoder (CLIP)
    patch_bias: bool = True  # CLIP's patch embedding has no bias
    act: str = "gelu"  # "gelu" | "quick_gelu" (OpenAI CLIP)
    ln_eps: float = 1e-6  # torchvision 1e-6, open_clip 1e-5
    output_dim: int | None = None  # CLIP's projection width×output_dim (no bias) after pooling
    dropout: float = 0.0
    attn_dropout: float = 0.0

    def __post_init__(self):
        if self.image_size % self.patch_size != 0:
            raise ValueError(f"image size {self.image_size} is not divisible by patch size {self.patch_size}")
        if self.dim % self.heads != 0:
            raise ValueError(f"width {self.dim} is not divisible by the number of heads {self.heads}")
        if self.pos_embed not in ("learned", "sincos"):
            raise ValueError(f"pos_embed must be 'learned' or 'sincos', got {self.pos_embed!r}")
        if self.pos_embed == "sincos" and self.dim % 4 != 0:
            raise ValueError(f"sin-cos position embedding needs a width divisible by 4, got {self.dim}")
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {self.pool!r}")
        if self.act not in ("gelu", "quick_gelu"):
            raise ValueError(f"act must be 'gelu' or 'quick_gelu', got {self.act!r}")

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid_size**2

    @property
    def mlp_hidden_dim(self) -> int:
        return self.mlp_dim if self.mlp_dim is not None else int(self.dim * self.mlp_ratio)

    @classmethod
    def fast(cls, **overrides) -> ViTConfig:
        """A tiny ViT for COURSE_FAST=1 runs and tests: 32×32 images, 8×8 patches, 2 layers of width 32."""
        kw = dict(image_size=32, patch_size=8, dim=32, depth=2, heads=2, mlp_ratio=2.0)
        kw.update(overrides)
        return cls(**kw)


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, C·p·p), patches in row-major order, each flattened channel-first."""
    H, W = x.shape[-2:]
    if H % p != 0 or W % p != 0:
        bad = H if H % p != 0 else W
        raise ValueError(f"image size {bad} is not divisible by patch size {p}")
    return rearrange(x, "b c (h p1) (w p2) -> b (h w) (c p1 p2)", p1=p, p2=p)


def unpatchify(patches: torch.Tensor, p: int, channels: int = 3) -> torch.Tensor:
    """Inverse of ``patchify`` for a square grid: (B, N, C·p·p) -> (B, C, H, W)."""
    g = int(round(patches.size(1) ** 0.5))
    return rearrange(patches, "b (h w) (c p1 p2) -> b c (h p1) (w p2)", h=g, w=g, c=channels, p1=p, p2=p)


def sincos_2d_pos_embed(h: int, w: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """Fixed 2-D sin-cos position embedding (h·w, dim): [sin(xω), cos(xω), sin(yω), cos(yω)], ω_k = T^(-k/(dim/4))."""
    if dim % 4 != 0:
        raise ValueError(f"sin-cos position embedding needs a width divisible by 4, got {dim}")
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    omega = 1.0 / temperature ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))  # (dim/4,)
    x = x.flatten()[:, None] * omega[None, :]  # (h·w, dim/4)
    y = y.flatten()[:, None] * omega[None, :]  # (h·w, dim/4)
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1).float()  # (h·w, dim)


class PatchEmbedding(nn.Module):
    """z_i = E · flatten(patch_i) + b: one linear map shared by all patches (= Conv2d, kernel = stride = p)."""

    def __init__(self, image_size: int, patch_size: int, in_channels: int, dim: int, bias: bool = True):
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(f"image size {image_size} is not divisible by patch size {patch_size}")
        self.image_size, self.patch_size, self.in_channels = image_size, patch_size, in_channels
        self.num_patches = (image_size // patch_size) ** 2
        self.proj = nn.Linear(in_channels * patch_size * patch_size, dim, bias=bias)  # E: (dim, C·p·p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, dim)."""
        if x.dim() != 4:
            raise ValueError(f"expected images of shape (B, C, H, W), got shape {tuple(x.shape)}")
        C, H, W = x.shape[1:]
        if C != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {C}")
        for side in (H, W):
            if side % self.patch_size != 0:
                raise ValueError(f"image size {side} is not divisible by patch size {self.patch_size}")
        if (H, W) != (self.image_size, self.image_size):
            raise ValueError(f"expected {self.image_size}×{self.image_size} images, got {H}×{W}")
        return self.proj(patchify(x, self.patch_size))  # (B, N, C·p·p) -> (B, N, dim)

    def to_conv(self) -> nn.Conv2d:
        """The same map as a Conv2d with kernel = stride = patch size (weights copied)."""
        p = self.patch_size
        conv = nn.Conv2d(self.in_channels, self.proj.out_features, p, stride=p, bias=self.proj.bias is not None)
        with torch.no_grad():
            conv.weight.copy_(self.proj.weight.view(-1, self.in_channels, p, p))  # (dim, C, p, p)
            if conv.bias is not None:
                conv.bias.copy_(self.proj.bias)
        return conv.to(self.proj.weight.device)

    @torch.no_grad()
    def load_conv_(self, conv: nn.Conv2d) -> PatchEmbedding:
        """Copy a patchifying Conv2d's weights (dim, C, p, p) into the linear map (dim, C·p·p)."""
        if conv.kernel_size != (self.patch_size,) * 2 or conv.stride != conv.kernel_size:
            raise ValueError(f"conv has kernel {conv.kernel_size} and stride {conv.stride}, "
                             f"expected both {self.patch_size}")
        self.proj.weight.copy_(conv.weight.reshape(conv.out_channels, -1))
        if (conv.bias is None) != (self.proj.bias is None):
            raise ValueError("one of conv and patch embedding has a bias, the other not")
        if conv.bias is not None:
            self.proj.bias.copy_(conv.bias)
        return self


class VisionTransformer(nn.Module):
    """x (B, C, H, W) -> patch tokens + [CLS] + positions -> L pre-LN blocks -> LN -> pool -> [proj] -> [head]."""

    def __init__(self, config: ViTConfig):
        super().__init__()
        self.config = c = config
        self.patch_embed = PatchEmbedding(c.image_size, c.patch_size, c.in_channels, c.dim, bias=c.patch_bias)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        if c.pos_embed == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, c.num_patches + 1, c.dim))
        else:  # fixed; the class token gets position 0 = zero vector
            pe = torch.cat([torch.zeros(1, c.dim), sincos_2d_pos_embed(c.grid_size, c.grid_size, c.dim)])
            self.register_buffer("pos_embed", pe[None], persistent=False)  # (1, N+1, dim)
        self.drop = nn.Dropout(c.dropout)
        self.ln_pre = nn.LayerNorm(c.dim, eps=c.ln_eps) if c.ln_pre else nn.Identity()
        self.blocks = nn.ModuleList(
            TransformerBlock(c.dim, c.heads, act=c.act, mlp_dim=c.mlp_hidden_dim, dropout=c.dropout,
                             attn_dropout=c.attn_dropout, ln_eps=c.ln_eps)
            for _ in range(c.depth)
        )
        self.norm = nn.LayerNorm(c.dim, eps=c.ln_eps)
        self.proj = nn.Linear(c.dim, c.output_dim, bias=False) if c.output_dim else None
        self.feature_dim = c.output_dim or c.dim
        self.head = nn.Linear(self.feature_dim, c.num_classes) if c.num_classes > 0 else None
        self.apply(self._init_weights)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if isinstance(self.pos_embed, nn.Parameter):
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    @staticmethod
    def _init_weights(m: nn.Module):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) -> input tokens z_0 = [x_cls; x_p E] + E_pos, shape (B, N+1, dim)."""
        x = self.patch_embed(x)  # (B, N, dim)
        cls = self.cls_token.expand(x.size(0), -1, -1)  # (B, 1, dim)
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # (B, N+1, dim)
        return self.ln_pre(self.drop(x))

    def forward_features(
        self, x: torch.Tensor, return_attn: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Images -> final normalized tokens (B, N+1, dim); with ``return_attn`` also (L, B, h, T, T)."""
        x = self.embed(x)  # (B, T, dim), T = N+1
        attns = []
        for block in self.blocks:
            x = block(x, need_weights=return_attn)  # (B, T, dim)
            if return_attn:
                attns.append(block.attn.last_weights)  # (B, h, T, T)
        x = self.norm(x)
        return (x, torch.stack(attns)) if return_attn else x

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N+1, dim) -> (B, dim): the class token or the mean of the patch tokens."""
        return tokens[:, 0] if self.config.pool == "cls" else tokens[:, 1:].mean(dim=1)

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalized tokens -> pooled features (B, feature_dim), or logits (B, num_classes) with a head."""
        z = self.pool(tokens)  # (B, dim)
        if self.proj is not None:
            z = self.proj(z)  # (B, output_dim)
        return self.head(z) if self.head is not None else z

    def forward(self, x: torch.Tensor, return_attn: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) -> logits (B, num_classes) or features (B, feature_dim) when num_classes=0.

        With ``return_attn`` also the attention weights of every layer, (L, B, heads, T, T), T = N+1.
        """
        if return_attn:
            tokens, attns = self.forward_features(x, return_attn=True)
            return self.forward_head(tokens), attns
        return self.forward_head(self.forward_features(x))

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights of every layer for images x: (L, B, heads, T, T), without gradients."""
        return self.forward_features(x, return_attn=True)[1]

    @classmethod
    def from_torchvision(cls, model: nn.Module) -> VisionTransformer:
        """Copy a ``torchvision.models.VisionTransformer`` (e.g. ``vit_b_16()``) into our module: same logits."""
        if not isinstance(model.conv_proj, nn.Conv2d):
            raise ValueError("torchvision ViTs with a convolutional stem (conv_stem_configs) are not supported")
        if hasattr(model.heads, "pre_logits"):
            raise ValueError("torchvision ViTs with representation_size (pre_logits + tanh) are not supported")
        enc = model.encoder
        layer0 = enc.layers[0]
        cfg = ViTConfig(
            image_size=model.image_size, patch_size=model.patch_size, in_channels=model.conv_proj.in_channels,
            num_classes=model.heads.head.out_features, dim=model.hidden_dim, depth=len(enc.layers),
            heads=layer0.self_attention.num_heads, mlp_dim=model.mlp_dim, pos_embed="learned", pool="cls",
            ln_pre=False, patch_bias=model.conv_proj.bias is not None, act="gelu", ln_eps=enc.ln.eps,
            dropout=model.dropout, attn_dropout=model.attention_dropout,
        )
        with torch.device("meta"):  # skip the random init: every tensor is overwritten below
            ours = cls(cfg)
        ours = ours.to_empty(device=model.class_token.device)
        with torch.no_grad():
            ours.patch_embed.load_conv_(model.conv_proj)
            ours.cls_token.copy_(model.class_token)  # (1, 1, dim)
            ours.pos_embed.copy_(enc.pos_embedding)  # (1, N+1, dim)
            for block, layer in zip(ours.blocks, enc.layers):
                block.norm1.load_state_dict(layer.ln_1.state_dict())
                block.attn.load_torch_mha_(layer.self_attention)
                block.norm2.load_state_dict(layer.ln_2.state_dict())
                block.mlp.fc1.load_state_dict(layer.mlp[0].state_dict())  # MLPBlock = Linear, GELU, Dropout,
                block.mlp.fc2.load_state_dict(layer.mlp[3].state_dict())  # Linear, Dropout
            ours.norm.load_state_dict(enc.ln.state_dict())
            ours.head.load_state_dict(model.heads.head.state_dict())
        return ours.train(model.training)


def attention_rollout(
    attns: torch.Tensor | list[torch.Tensor], discard_ratio: float = 0.0, head_fusion: str = "mean"
) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020): Ã_l = renorm(A_l + I), R = Ã_L ··· Ã_1.

    attns: (L, B, h, T, T) or a list of (B, h, T, T). Heads are fused by mean / max / min; ``discard_ratio``
    zeroes that fraction of the smallest fused weights per layer (never the class token's attention to itself).
    Returns R (B, T, T); rows sum to 1. ``R[:, 0, 1:]`` is how much the class token draws from each patch.
    """
    if head_fusion not in ("mean", "max", "min"):
        raise ValueError(f"head_fusion must be 'mean', 'max' or 'min', got {head_fusion!r}")
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1), got {discard_ratio}")
    attns = torch.stack(list(attns)) if isinstance(attns, (list, tuple)) else attns
    if attns.dim() != 5:
        raise ValueError(f"expected attention weights of shape (L, B, h, T, T), got {tuple(attns.shape)}")
    L, B, _, T, _ = attns.shape
    eye = torch.eye(T, device=attns.device, dtype=attns.dtype)
    rollout = eye.expand(B, T, T)
    for a in attns:  # a: (B, h, T, T), from the first layer to the last
        a = a.mean(dim=1) if head_fusion == "mean" else a.amax(dim=1) if head_fusion == "max" else a.amin(dim=1)
        if discard_ratio > 0:  # (B, T, T)
            flat = a.reshape(B, -1).clone()
            k = int(flat.size(1) * discard_ratio)
            idx = flat.topk(k, dim=1, largest=False).indices  # (B, k)
            keep_cls = flat[:, :1].clone()
            flat.scatter_(1, idx, 0.0)
            flat[:, :1] = keep_cls
            a = flat.view(B, T, T)
        a = a + eye  # the residual connection carries each token's own value forward
        a = a / a.sum(dim=-1, keepdim=True)  # (B, T, T), rows sum to 1
        rollout = a @ rollout  # (B, T, T)
    return rollout
