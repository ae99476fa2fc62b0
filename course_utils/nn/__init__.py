"""Building blocks shared by several notebooks: attention, transformer blocks, ViT, a small CNN."""

from .attention import (
    MLP,
    CrossAttention,
    MultiHeadAttention,
    QuickGELU,
    TransformerBlock,
    causal_mask,
    scaled_dot_product_attention,
)
from .cnn import SmallCNN
from .vit import (
    PatchEmbedding,
    VisionTransformer,
    ViTConfig,
    attention_rollout,
    patchify,
    sincos_2d_pos_embed,
    unpatchify,
)

__all__ = [
    "MLP",
    "CrossAttention",
    "MultiHeadAttention",
    "PatchEmbedding",
    "QuickGELU",
    "SmallCNN",
    "TransformerBlock",
    "ViTConfig",
    "VisionTransformer",
    "attention_rollout",
    "causal_mask",
    "patchify",
    "scaled_dot_product_attention",
    "sincos_2d_pos_embed",
    "unpatchify",
]
