"""CLIP (Radford et al. 2021) from scratch: an image encoder and a text encoder that meet in one embedding space.

image (B, 3, H, W) -> VisionTransformer -> projection -> z_img (B, embed_dim), L2-normalized
                      (or ConvImageTower, a small CNN with its projection: ``CLIPConfig(image_tower="conv")``)
tokens (B, T)      -> TextTransformer   -> projection -> z_txt (B, embed_dim), L2-normalized
s_ij = exp(logit_scale) <z_img_i, z_txt_j>, with 1/τ = exp(logit_scale) learned, initialised to 1/0.07, at most 100.

``CLIP.from_open_clip(model)`` copies an ``open_clip.model.CLIP`` with a ViT image tower into this module
(same features), so a student with real pretrained weights on disk can load them here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from .cnn import ConvImageTower
from .text import TextConfig, TextTransformer
from .vit import VisionTransformer, ViTConfig

LOGIT_SCALE_INIT = math.log(1 / 0.07)  # τ = 0.07 at the start
LOGIT_SCALE_MAX = math.log(100.0)  # 1/τ ≤ 100: keeps the softmax from becoming a hard max (CLIP paper)


def _default_vision() -> ViTConfig:
    return ViTConfig(image_size=32, patch_size=4, num_classes=0, dim=64, depth=3, heads=4, ln_pre=True, ln_eps=1e-5)


@dataclass
class CLIPConfig:
    vision: ViTConfig = field(default_factory=_default_vision)
    text: TextConfig = field(default_factory=TextConfig)
    embed_dim: int = 64
    init_logit_scale: float = LOGIT_SCALE_INIT
    init_logit_bias: float | None = None  # set (e.g. -10) for a SigLIP model with a learned bias
    image_tower: str = "vit"  # "vit" = VisionTransformer(vision); "conv" = ConvImageTower(width=conv_width)
    conv_width: int = 32  # first-stage channels of the conv tower (then 2w, 4w)

    def __post_init__(self):
        if self.image_tower not in ("vit", "conv"):
            raise ValueError(f"image_tower must be 'vit' or 'conv', got {self.image_tower!r}")
        if self.conv_width < 1:
            raise ValueError(f"conv_width must be >= 1, got {self.conv_width}")
        # CLIP's towers end in projections to embed_dim and have no classifier head.
        if self.vision.output_dim not in (None, self.embed_dim):
            raise ValueError(f"vision output_dim {self.vision.output_dim} differs from embed_dim {self.embed_dim}")
        if self.text.output_dim not in (None, self.embed_dim):
            raise ValueError(f"text output_dim {self.text.output_dim} differs from embed_dim {self.embed_dim}")
        self.vision = replace(self.vision, output_dim=self.embed_dim, num_classes=0)
        self.text = replace(self.text, output_dim=self.embed_dim)

    @classmethod
    def fast(cls, vocab_size: int = 128, eos_id: int = 2, context_length: int = 32, **overrides) -> CLIPConfig:
        """A tiny CLIP for tests and COURSE_FAST=1: 2-layer width-32 towers, 32×32 images in 8×8 patches."""
        kw = dict(
            vision=ViTConfig.fast(num_classes=0, ln_pre=True, ln_eps=1e-5),
            text=TextConfig.fast(vocab_size=vocab_size, eos_id=eos_id, context_length=context_length),
            embed_dim=32,
        )
        kw.update(overrides)
        return cls(**kw)


class CLIP(nn.Module):
    """Dual encoder for a contrastive loss; ``forward`` returns (z_img, z_txt, exp(logit_scale)) like open_clip."""

    def __init__(self, config: CLIPConfig):
        super().__init__()
        self.config = config
        if config.image_tower == "conv":
            self.visual = ConvImageTower(config.embed_dim, config.conv_width, config.vision.in_channels)
        else:
            self.visual = VisionTransformer(config.vision)
        self.text = TextTransformer(config.text)
        self.logit_scale = nn.Parameter(torch.tensor(float(config.init_logit_scale)))  # log(1/τ)
        if config.init_logit_bias is not None:
            self.logit_bias = nn.Parameter(torch.tensor(float(config.init_logit_bias)))
        else:
            self.logit_bias = None

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def encode_image(self, image: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """Images (B, 3, H, W) -> image features (B, embed_dim); L2-normalized when ``normalize``."""
        z = self.visual(image)  # (B, embed_dim)
        return F.normalize(z, dim=-1) if normalize else z

    def encode_text(self, text: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """Token ids (B, T) -> text features (B, embed_dim); L2-normalized when ``normalize``."""
        z = self.text(text)  # (B, embed_dim)
        return F.normalize(z, dim=-1) if normalize else z

    def scale(self) -> torch.Tensor:
        """1/τ = exp(logit_scale), clamped at 100."""
        return self.logit_scale.clamp(max=LOGIT_SCALE_MAX).exp()

    @torch.no_grad()
    def clamp_logit_scale_(self) -> None:
        """Keep the parameter itself in [0, ln 100] (call after each optimizer step, as open_clip's trainer does)."""
        self.logit_scale.clamp_(0.0, LOGIT_SCALE_MAX)

    def forward(self, image: torch.Tensor, text: torch.Tensor):
        """(z_img (B, d), z_txt (B', d), exp(logit_scale)), features L2-normalized; plus logit_bias for SigLIP."""
        z_img = self.encode_image(image, normalize=True)
        z_txt = self.encode_text(text, normalize=True)
        if self.logit_bias is not None:
            return z_img, z_txt, self.scale(), self.logit_bias
        return z_img, z_txt, self.scale()

    def similarity(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Logits s_ij = <z_img_i, z_txt_j> / τ, shape (B_img, B_txt)."""
        z_img, z_txt, scale = self(image, text)[:3]
        return scale * z_img @ z_txt.T

    # ------------------------------------------------------------------ open_clip weights

    @classmethod
    def from_open_clip(cls, model: nn.Module) -> CLIP:
        """Copy an ``open_clip.model.CLIP`` with a ViT image tower and the built-in text tower: same features."""
        visual = model.visual
        if not hasattr(visual, "conv1") or not hasattr(visual, "class_embedding"):
            raise ValueError(f"only open_clip ViT image towers are supported, got {type(visual).__name__}")
        if getattr(visual, "attn_pool", None) is not None or getattr(visual, "final_ln_after_pool", False):
            raise ValueError("open_clip towers with attentional pooling or final_ln_after_pool are not supported")
        if visual.pool_type not in ("tok", "avg"):
            raise ValueError(f"open_clip vision pool_type {visual.pool_type!r} is not supported ('tok' or 'avg')")
        if not isinstance(visual.patch_dropout, nn.Identity):
            raise ValueError("open_clip towers with patch dropout are not supported")
        if not hasattr(model, "token_embedding"):
            raise ValueError("only open_clip's built-in text transformer is supported (not HF / CustomTextCLIP)")
        if model.text_pool_type not in ("argmax", "eos"):
            raise ValueError(f"open_clip text pool_type {model.text_pool_type!r} is not supported")
        if model.attn_mask is None:
            raise ValueError("open_clip text towers without a causal mask are not supported")
        for block in [*visual.transformer.resblocks, *model.transformer.resblocks]:
            if not isinstance(block.attn, nn.MultiheadAttention) or not isinstance(block.ls_1, nn.Identity):
                raise ValueError("open_clip custom blocks or layer scale (ls_init_value) are not supported")
        if isinstance(model.text_projection, nn.Linear):
            raise ValueError("open_clip text projections with a bias (proj_bias=True) are not supported")

        v_blocks, t_blocks = visual.transformer.resblocks, model.transformer.resblocks
        v0, t0 = v_blocks[0], t_blocks[0]
        act = "quick_gelu" if type(v0.mlp.gelu).__name__ == "QuickGELU" else "gelu"
        t_act = "quick_gelu" if type(t0.mlp.gelu).__name__ == "QuickGELU" else "gelu"
        width = visual.conv1.out_channels
        vision = ViTConfig(
            image_size=visual.image_size[0], patch_size=visual.patch_size[0], in_channels=visual.conv1.in_channels,
            num_classes=0, dim=width, depth=len(v_blocks), heads=v0.attn.num_heads,
            mlp_dim=v0.mlp.c_fc.out_features, pos_embed="learned", pool="cls" if visual.pool_type == "tok" else "mean",
            ln_pre=not isinstance(visual.ln_pre, nn.Identity), patch_bias=visual.conv1.bias is not None, act=act,
            ln_eps=visual.ln_post.eps, output_dim=visual.proj.shape[1],
        )
        t_width = model.token_embedding.embedding_dim
        text = TextConfig(
            vocab_size=model.vocab_size, context_length=model.positional_embedding.shape[0], width=t_width,
            heads=t0.attn.num_heads, layers=len(t_blocks), mlp_ratio=t0.mlp.c_fc.out_features / t_width, act=t_act,
            ln_eps=model.ln_final.eps, output_dim=model.text_projection.shape[1],
            pool="eot_argmax" if model.text_pool_type == "argmax" else "eos_id",
            eos_id=model.text_eos_id if model.text_pool_type == "eos" else None,
        )
        init_bias = None if getattr(model, "logit_bias", None) is None else float(model.logit_bias)
        config = CLIPConfig(vision=vision, text=text, embed_dim=vision.output_dim, init_logit_bias=init_bias)
        device = model.logit_scale.device
        with torch.device("meta"):  # no random init for weights that are overwritten below (ViT-B/32: 150M)
            ours = cls(config)
        ours = ours.to_empty(device=device)
        with torch.no_grad():
            v = ours.visual
            v.patch_embed.load_conv_(visual.conv1)
            v.cls_token.copy_(visual.class_embedding.view(1, 1, -1))  # (width,) -> (1, 1, width)
            v.pos_embed.copy_(visual.positional_embedding[None])  # (N+1, width) -> (1, N+1, width)
            if vision.ln_pre:
                v.ln_pre.load_state_dict(visual.ln_pre.state_dict())
            _copy_blocks(v.blocks, v_blocks)
            v.norm.load_state_dict(visual.ln_post.state_dict())
            v.proj.weight.copy_(visual.proj.T)  # x @ proj == Linear with weight proj.T
            t = ours.text
            t.token_embedding.weight.copy_(model.token_embedding.weight)
            t.positional_embedding.copy_(model.positional_embedding)
            _copy_blocks(t.blocks, t_blocks)
            t.ln_final.load_state_dict(model.ln_final.state_dict())
            t.proj.weight.copy_(model.text_projection.T)
            ours.logit_scale.copy_(model.logit_scale.reshape(()))
            if init_bias is not None:
                ours.logit_bias.copy_(model.logit_bias.reshape(()))
        return ours.train(model.training)


def _copy_blocks(ours: nn.ModuleList, theirs: nn.ModuleList) -> None:
    """open_clip ResidualAttentionBlock (ln_1, attn, ln_2, mlp.c_fc, mlp.c_proj) -> our TransformerBlock."""
    for block, res in zip(ours, theirs):
        block.norm1.load_state_dict(res.ln_1.state_dict())
        block.attn.load_torch_mha_(res.attn)
        block.norm2.load_state_dict(res.ln_2.state_dict())
        block.mlp.fc1.load_state_dict(res.mlp.c_fc.state_dict())
        block.mlp.fc2.load_state_dict(res.mlp.c_proj.state_dict())
