"""Specifications of course_utils.nn.fusion: each fusion layer equals its formula, cross-attention equals PyTorch's."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.nn.fusion import (
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

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# --- early fusion -----------------------------------------------------------------------------------------------------


def test_stack_rgbd_puts_depth_after_the_three_color_channels():
    rgb, depth = torch.rand(2, 3, 8, 8), torch.rand(2, 1, 8, 8)
    x = stack_rgbd(rgb, depth)
    assert x.shape == (2, 4, 8, 8)
    assert torch.equal(x[:, :3], rgb) and torch.equal(x[:, 3:], depth)


@pytest.mark.parametrize("shape", [(2, 8, 8), (2, 3, 8, 8), (2, 1, 8, 16), (3, 1, 8, 8)])
def test_stack_rgbd_names_the_depth_shape_received_and_expected(shape):
    with pytest.raises(ValueError, match="depth has shape " + re.escape(str(shape)) + r", expected \(2, 1, 8, 8\)"):
        stack_rgbd(torch.rand(2, 3, 8, 8), torch.rand(*shape))


def test_stack_rgbd_rejects_rgb_without_three_channels():
    with pytest.raises(ValueError, match=r"rgb has shape \(2, 4, 8, 8\), expected \(B, 3, H, W\)"):
        stack_rgbd(torch.rand(2, 4, 8, 8), torch.rand(2, 1, 8, 8))


def test_early_fusion_cnn_reads_rgb_and_depth_into_logits():
    model = EarlyFusionCNN(num_classes=5, width=4).eval()
    rgb = torch.rand(3, 3, 16, 16)
    out, out_other_depth = model(rgb, torch.rand(3, 1, 16, 16)), model(rgb, torch.rand(3, 1, 16, 16))
    assert model.cnn.in_channels == 4 and out.shape == (3, 5)
    assert not torch.allclose(out, out_other_depth)  # the depth channel reaches the prediction


# --- feature fusion ---------------------------------------------------------------------------------------------------


def test_concat_layer_is_one_linear_map_of_the_concatenation():
    layer = ConcatFusionLayer(3, 5, 4)
    x, y = torch.randn(2, 3), torch.randn(2, 5)
    W, b = layer.linear.weight, layer.linear.bias  # (4, 8), (4,)
    expected = torch.cat([x, y], 1) @ W.T + b
    torch.testing.assert_close(layer(x, y), expected, atol=ATOL, rtol=0)


def test_sum_layer_equals_concat_layer_with_stacked_weights():
    s, c = SumFusionLayer(3, 5, 4), ConcatFusionLayer(3, 5, 4)
    with torch.no_grad():
        c.linear.weight.copy_(torch.cat([s.proj_x.weight, s.proj_y.weight], dim=1))  # W = [W_x, W_y]
        c.linear.bias.copy_(s.proj_x.bias + s.proj_y.bias)  # b = b_x + b_y
    x, y = torch.randn(6, 3), torch.randn(6, 5)
    torch.testing.assert_close(s(x, y), c(x, y), atol=ATOL, rtol=0)


def test_low_rank_bilinear_matches_its_formula_on_fixed_tensors():
    layer = LowRankBilinearFusion(2, 3, 2, rank=2)
    U = torch.tensor([[1.0, -1.0], [0.5, 2.0]])  # (d_x, r)
    V = torch.tensor([[0.3, 0.0], [-1.0, 1.0], [2.0, 0.5]])  # (d_y, r)
    P = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])  # (r, d_out)
    b = torch.tensor([0.1, -0.2])
    with torch.no_grad():
        layer.U.weight.copy_(U.T)
        layer.V.weight.copy_(V.T)
        layer.P.weight.copy_(P.T)
        layer.P.bias.copy_(b)
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, -1.0, 1.0]])
    # by hand: Uᵀx = (2, 3), Vᵀy = (3.15, -0.5)
    h = torch.tensor([[math.tanh(2.0) * math.tanh(3.15), math.tanh(3.0) * math.tanh(-0.5)]])
    expected = h @ P + b  # Pᵀ h + b, as a row vector
    torch.testing.assert_close(layer(x, y), expected, atol=ATOL, rtol=0)


def test_low_rank_bilinear_output_is_multiplicative_in_x_and_y():
    layer = LowRankBilinearFusion(3, 4, 5, rank=8)
    with torch.no_grad():
        layer.P.bias.zero_()
    x, y = torch.randn(2, 3), torch.randn(2, 4)
    assert torch.allclose(layer(torch.zeros_like(x), y), torch.zeros(2, 5))  # tanh(0) = 0 switches every product off
    assert torch.allclose(layer(x, torch.zeros_like(y)), torch.zeros(2, 5))
    assert not torch.allclose(layer(x, y), torch.zeros(2, 5))


def film_by_hand(film, h, y):
    gamma = y @ film.gamma.weight.T + film.gamma.bias  # (B, C)
    beta = y @ film.beta.weight.T + film.beta.bias  # (B, C)
    if h.dim() == 4:
        gamma, beta = gamma[:, :, None, None], beta[:, :, None, None]
    return gamma * h + beta


def test_film_on_a_vector_matches_gamma_times_h_plus_beta():
    film = FiLM(4, 3)
    h, y = torch.randn(2, 4), torch.randn(2, 3)
    torch.testing.assert_close(film(h, y), film_by_hand(film, h, y), atol=ATOL, rtol=0)


def test_film_on_a_feature_map_scales_each_channel_the_same_at_every_position():
    film = FiLM(3, 2)
    with torch.no_grad():
        film.gamma.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        film.gamma.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
        film.beta.weight.zero_()
        film.beta.bias.copy_(torch.tensor([0.5, 0.0, 2.0]))
    h, y = torch.ones(1, 3, 2, 2), torch.tensor([[2.0, 3.0]])
    out = film(h, y)
    # γ = (2, 4, 4), β = (0.5, 0, 2), h = 1 everywhere -> γ + β per channel
    assert torch.equal(out, torch.tensor([2.5, 4.0, 6.0])[None, :, None, None].expand(1, 3, 2, 2))
    h = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(film(h, y.expand(2, 2)), film_by_hand(film, h, y.expand(2, 2)), atol=ATOL, rtol=0)


def test_film_starts_close_to_the_identity():
    film = FiLM(8, 4)
    with torch.no_grad():
        film.gamma.weight.zero_()
        film.beta.weight.zero_()
    h = torch.randn(3, 8)
    assert torch.allclose(film(h, torch.randn(3, 4)), h)  # b_γ = 1, b_β = 0 at initialisation


def test_film_names_the_wrong_feature_shape():
    with pytest.raises(ValueError, match=r"h has shape \(2, 5\), expected \(B, 4\) or \(B, 4, H, W\)"):
        FiLM(4, 3)(torch.randn(2, 5), torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"y has shape \(2, 2\), expected \(2, 3\)"):
        FiLM(4, 3)(torch.randn(2, 4), torch.randn(2, 2))


@pytest.mark.parametrize("kind", ["concat", "sum", "bilinear", "film"])
def test_every_feature_fusion_maps_two_vectors_to_d_out(kind):
    layer = feature_fusion(kind, 6, 3, 6)
    assert layer(torch.randn(4, 6), torch.randn(4, 3)).shape == (4, 6)


def test_feature_fusion_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="unknown feature fusion 'max'"):
        feature_fusion("max", 6, 3, 6)
    with pytest.raises(ValueError, match="d_out 5 must equal d_x 6"):
        feature_fusion("film", 6, 3, 5)
    with pytest.raises(ValueError, match=r"y has shape \(4, 2\), expected \(B, 3\)"):
        feature_fusion("concat", 6, 3, 6)(torch.randn(4, 6), torch.randn(4, 2))
    with pytest.raises(ValueError, match="x has batch size 4 but y has 5"):
        feature_fusion("sum", 6, 3, 6)(torch.randn(4, 6), torch.randn(5, 3))


def test_feature_fusion_classifier_composes_encoders_fusion_and_head():
    model = FeatureFusionClassifier(nn.Linear(10, 6), nn.Linear(7, 3), LowRankBilinearFusion(6, 3, 8), 8, 4)
    assert model(torch.randn(5, 10), torch.randn(5, 7)).shape == (5, 4)


# --- decision fusion --------------------------------------------------------------------------------------------------


def test_average_logits_is_the_mean_of_the_modalities():
    a, b, c = torch.randn(3, 5), torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(average_logits([a, b, c]), (a + b + c) / 3, atol=ATOL, rtol=0)


def test_product_of_experts_matches_a_hand_computation():
    s1, s2 = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    prior = torch.tensor([0.5, 0.25, 0.25])
    p1, p2 = s1.softmax(-1), s2.softmax(-1)
    unnormalised = p1 * p2 / prior  # Π_m p(y|x_m) / p(y)^(M-1), M = 2
    expected = unnormalised / unnormalised.sum()
    torch.testing.assert_close(product_of_experts([s1, s2], prior.log()).exp(), expected, atol=ATOL, rtol=0)
    uniform = p1 * p2 / (p1 * p2).sum()
    torch.testing.assert_close(product_of_experts([s1, s2]).exp(), uniform, atol=ATOL, rtol=0)


def test_product_of_experts_with_three_experts_divides_the_prior_twice():
    s = [torch.randn(4, 6) for _ in range(3)]
    prior = torch.rand(6) + 0.1
    prior = prior / prior.sum()
    p = s[0].softmax(-1) * s[1].softmax(-1) * s[2].softmax(-1) / prior**2
    torch.testing.assert_close(product_of_experts(s, prior.log()).exp(), p / p.sum(-1, keepdim=True), atol=ATOL,
                               rtol=0)


def test_decision_fusion_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"logits of modality 1 have shape \(3, 4\), expected \(3, 5\)"):
        average_logits([torch.randn(3, 5), torch.randn(3, 4)])
    with pytest.raises(ValueError, match=r"log_prior has shape \(4,\), expected \(5,\)"):
        product_of_experts([torch.randn(3, 5), torch.randn(3, 5)], torch.zeros(4))
    with pytest.raises(ValueError, match="at least one modality"):
        product_of_experts([])


# --- cross-attention fusion -------------------------------------------------------------------------------------------


def torch_mha_and_ours(d_q=32, d_k=24, heads=4):
    ref = nn.MultiheadAttention(embed_dim=d_q, num_heads=heads, kdim=d_k, vdim=d_k, batch_first=True).eval()
    return ref, CrossAttentionFusion.from_torch(ref).eval()


def test_cross_attention_with_different_widths_matches_torch_multihead_attention():
    ref, ours = torch_mha_and_ours(d_q=32, d_k=24, heads=4)
    x_q, x_kv = torch.randn(2, 5, 32), torch.randn(2, 9, 24)
    out, weights = ours(x_q, x_kv)
    ref_out, ref_weights = ref(x_q, x_kv, x_kv, need_weights=True, average_attn_weights=True)
    assert out.shape == (2, 5, 32) and weights.shape == (2, 4, 5, 9)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(weights.mean(dim=1), ref_weights, atol=ATOL, rtol=0)
    per_head = ref(x_q, x_kv, x_kv, need_weights=True, average_attn_weights=False)[1]
    torch.testing.assert_close(weights, per_head, atol=ATOL, rtol=0)


def test_cross_attention_padding_matches_torch_key_padding_mask():
    ref, ours = torch_mha_and_ours(d_q=16, d_k=8, heads=2)
    x_q, x_kv = torch.randn(2, 3, 16), torch.randn(2, 6, 8)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    out, weights = ours(x_q, x_kv, context_padding_mask=pad)
    ref_out = ref(x_q, x_kv, x_kv, key_padding_mask=pad, need_weights=False)[0]
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    assert torch.all(weights[1, :, :, 4:] == 0)


def test_cross_attention_equals_torch_sdpa_on_the_projected_q_k_v():
    ours = CrossAttentionFusion(32, 24, 4).eval()
    a = ours.attn
    x_q, x_kv = torch.randn(3, 5, 32), torch.randn(3, 7, 24)

    def heads(t):  # (B, T, 32) -> (B, 4, T, 8)
        return t.view(t.size(0), t.size(1), 4, 8).transpose(1, 2)

    q, k, v = heads(a.q_proj(x_q)), heads(a.k_proj(x_kv)), heads(a.v_proj(x_kv))
    y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(3, 5, 32)
    torch.testing.assert_close(ours(x_q, x_kv)[0], a.out_proj(y), atol=ATOL, rtol=0)


def test_cross_attention_errors_name_the_shapes():
    ours = CrossAttentionFusion(16, 8, 2)
    with pytest.raises(ValueError, match="queries have batch size 2 but context has 3"):
        ours(torch.randn(2, 4, 16), torch.randn(3, 5, 8))
    with pytest.raises(ValueError, match="key/value width 6 does not match kv_dim 8"):
        ours(torch.randn(2, 4, 16), torch.randn(2, 5, 6))


@pytest.mark.parametrize("direction, fused_shape, weight_shape", [
    ("text_to_image", (2, 7, 12), (2, 2, 7, 16)),  # each word: a distribution over the 16 patches
    ("image_to_text", (2, 16, 20), (2, 2, 16, 7)),  # each patch: a distribution over the 7 words
])
def test_image_text_cross_attention_in_both_directions(direction, fused_shape, weight_shape):
    m = ImageTextCrossAttention(d_img=20, d_txt=12, num_heads=2, direction=direction)
    fused, weights = m(torch.randn(2, 16, 20), torch.randn(2, 7, 12))
    assert fused.shape == fused_shape and weights.shape == weight_shape
    torch.testing.assert_close(weights.sum(-1), torch.ones(weight_shape[:-1]), atol=ATOL, rtol=0)


def test_patches_asking_words_ignore_padded_words():
    m = ImageTextCrossAttention(d_img=20, d_txt=12, num_heads=2, direction="image_to_text")
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[0, 5:] = True
    _, weights = m(torch.randn(2, 16, 20), torch.randn(2, 7, 12), text_padding_mask=pad)
    assert torch.all(weights[0, ..., 5:] == 0) and torch.all(weights[1, ..., 5:] > 0)


def test_image_text_cross_attention_names_an_unknown_direction():
    with pytest.raises(ValueError, match="unknown direction 'both'"):
        ImageTextCrossAttention(20, 12, 2, direction="both")
