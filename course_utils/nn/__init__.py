"""Building blocks shared by several notebooks: attention, transformer blocks, ViT, a small CNN, text encoder, CLIP,
fusion layers and VQA models."""

from .attention import (
    MLP,
    CrossAttention,
    MultiHeadAttention,
    QuickGELU,
    TransformerBlock,
    causal_mask,
    scaled_dot_product_attention,
)
from .clip import CLIP, CLIPConfig
from .clip_loss import clip_loss, multi_positive_clip_loss, negclip_loss, siglip_loss
from .cnn import ConvImageTower, SmallCNN
from .fusion import (
    ConcatFusionLayer,
    CrossAttentionFusion,
    EarlyFusionCNN,
    FeatureFusionClassifier,
    FiLM,
    ImageTextCrossAttention,
    LowRankBilinearFusion,
    SumFusionLayer,
    average_logits,
    feature_fusion,
    product_of_experts,
    stack_rgbd,
)
from .text import TextConfig, TextTransformer
from .vit import (
    PatchEmbedding,
    VisionTransformer,
    ViTConfig,
    attention_rollout,
    patchify,
    sincos_2d_pos_embed,
    unpatchify,
)
from .vqa import (
    CNNMLP,
    ImageOnlyCNN,
    QuestionEncoder,
    QuestionOnly,
    RelationNetwork,
    TransformerAnswerer,
    object_states,
    vqa_loss,
)
from .zero_shot import build_zero_shot_classifier, zero_shot_logits, zero_shot_predict

__all__ = [
    "CLIP",
    "CLIPConfig",
    "TextConfig",
    "TextTransformer",
    "build_zero_shot_classifier",
    "clip_loss",
    "multi_positive_clip_loss",
    "negclip_loss",
    "siglip_loss",
    "zero_shot_logits",
    "zero_shot_predict",
    "MLP",
    "CrossAttention",
    "MultiHeadAttention",
    "PatchEmbedding",
    "QuickGELU",
    "ConvImageTower",
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
    # fusion (24.6)
    "ConcatFusionLayer",
    "CrossAttentionFusion",
    "EarlyFusionCNN",
    "FeatureFusionClassifier",
    "FiLM",
    "ImageTextCrossAttention",
    "LowRankBilinearFusion",
    "SumFusionLayer",
    "average_logits",
    "feature_fusion",
    "product_of_experts",
    "stack_rgbd",
    # VQA (24.9)
    "CNNMLP",
    "ImageOnlyCNN",
    "QuestionEncoder",
    "QuestionOnly",
    "RelationNetwork",
    "TransformerAnswerer",
    "object_states",
    "vqa_loss",
]
