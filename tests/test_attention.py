"""Specifications of course_utils.nn.attention: our attention equals PyTorch's, masks mean what the docs say."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.nn import (
    CrossAttention,
    MultiHeadAttention,
    QuickGELU,
    TransformerBlock,
    causal_mask,
    scaled_dot_product_attention,
)

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def torch_and_ours(dim=32, heads=4, kdim=None):
    ref = nn.MultiheadAttention(dim, heads, batch_first=True, kdim=kdim, vdim=kdim).eval()
    return ref, MultiHeadAttention.from_torch(ref).eval()


def test_sdpa_matches_torch_sdpa_without_mask():
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 6)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
                               atol=ATOL, rtol=0)


def test_sdpa_bool_mask_true_means_keep_like_torch():
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    mask = torch.rand(2, 1, 5, 7) > 0.3
    mask[..., 0] = True  # every query keeps at least one key
    ours = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0)


def test_sdpa_float_mask_is_added_to_the_scores():
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 8)
    bias = torch.randn(5, 7)
    ours = scaled_dot_product_attention(q, k, v, bias)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=bias), atol=ATOL, rtol=0)


def test_sdpa_causal_mask_matches_is_causal():
    q, k, v = torch.randn(3, 6, 8), torch.randn(3, 6, 8), torch.randn(3, 6, 8)
    ours = scaled_dot_product_attention(q, k, v, causal_mask(6))
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=ATOL, rtol=0)


def test_attention_weights_are_distributions_and_respect_the_mask():
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 8)
    mask = torch.rand(5, 7) > 0.5
    mask[:, 0] = True
    _, w = scaled_dot_product_attention(q, k, v, mask, return_weights=True)
    assert w.shape == (2, 5, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 5))
    assert (w[:, ~mask] == 0).all()


def test_fully_blocked_query_gets_zero_output_not_nan():
    q = torch.randn(1, 2, 3, 4, requires_grad=True)
    keep = torch.tensor([[True, False, True], [False, False, False], [True, True, True]])
    out, w = scaled_dot_product_attention(q, q, q, keep, return_weights=True)
    assert (out[..., 1, :] == 0).all() and (w[..., 1, :] == 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, q, q, attn_mask=keep), atol=ATOL, rtol=0)
    out.sum().backward()
    assert torch.isfinite(q.grad).all()


def test_mha_self_attention_matches_torch_multihead_attention():
    ref, ours = torch_and_ours()
    x = torch.randn(3, 10, 32)
    ref_out, ref_w = ref(x, x, x, need_weights=True, average_attn_weights=False)
    out, w = ours(x, need_weights=True)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours(x), ref_out, atol=ATOL, rtol=0)  # fused fast path


def test_mha_key_padding_mask_matches_torch():
    ref, ours = torch_and_ours()
    x = torch.randn(3, 10, 32)
    pad = torch.zeros(3, 10, dtype=torch.bool)
    pad[0, 7:], pad[1, 3:] = True, True  # True = padding, as in nn.MultiheadAttention
    ref_out, ref_w = ref(x, x, x, key_padding_mask=pad, average_attn_weights=False)
    out, w = ours(x, key_padding_mask=pad, need_weights=True)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
    assert (w[1, :, :, 3:] == 0).all()
    torch.testing.assert_close(ours(x, key_padding_mask=pad), ref_out, atol=ATOL, rtol=0)


def test_mha_bool_attn_mask_true_means_keep_and_float_mask_is_added():
    ref, ours = torch_and_ours()
    x = torch.randn(2, 6, 32)
    keep = causal_mask(6)
    ref_out = ref(x, x, x, attn_mask=~keep, need_weights=False)[0]  # torch's module: True = blocked
    torch.testing.assert_close(ours(x, attn_mask=keep), ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours(x, attn_mask=keep, need_weights=True)[0], ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours(x, is_causal=True), ref_out, atol=ATOL, rtol=0)
    bias = torch.randn(6, 6)
    torch.testing.assert_close(ours(x, attn_mask=bias), ref(x, x, x, attn_mask=bias)[0], atol=ATOL, rtol=0)


def test_mha_combines_attention_and_padding_masks_like_torch():
    ref, ours = torch_and_ours()
    x = torch.randn(2, 6, 32)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    pad[1, 4:] = True
    bias = torch.randn(6, 6)
    pad_float = torch.zeros(2, 6).masked_fill(pad, float("-inf"))  # torch wants both masks of one type
    ref_out = ref(x, x, x, attn_mask=bias, key_padding_mask=pad_float)[0]
    torch.testing.assert_close(ours(x, attn_mask=bias, key_padding_mask=pad), ref_out, atol=ATOL, rtol=0)
    out_causal = ours(x, key_padding_mask=pad, is_causal=True, need_weights=True)[0]
    ref_causal = ref(x, x, x, attn_mask=~causal_mask(6), key_padding_mask=pad)[0]
    torch.testing.assert_close(out_causal, ref_causal, atol=ATOL, rtol=0)


def test_cross_attention_with_other_kv_width_matches_torch_kdim_vdim():
    ref, ours = torch_and_ours(dim=32, heads=4, kdim=20)
    x, ctx = torch.randn(3, 5, 32), torch.randn(3, 9, 20)  # queries: 5 tokens of width 32; keys: 9 of width 20
    pad = torch.zeros(3, 9, dtype=torch.bool)
    pad[2, 6:] = True
    ref_out, ref_w = ref(x, ctx, ctx, key_padding_mask=pad, average_attn_weights=False)
    out, w = ours(x, ctx, key_padding_mask=pad, need_weights=True)
    assert w.shape == (3, 4, 5, 9)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours(x, ctx, key_padding_mask=pad), ref_out, atol=ATOL, rtol=0)


def test_cross_attention_class_is_multi_head_attention_with_a_context():
    ca = CrossAttention(32, 20, 4)
    ca.load_torch_mha_(nn.MultiheadAttention(32, 4, batch_first=True, kdim=20, vdim=20))
    out = ca(torch.randn(2, 5, 32), torch.randn(2, 9, 20))
    assert out.shape == (2, 5, 32)


def test_weights_are_kept_on_the_module_for_plotting():
    mha = MultiHeadAttention(16, 2)
    assert mha.last_weights is None
    x = torch.randn(2, 4, 16, requires_grad=True)
    _, w = mha(x, need_weights=True)
    assert mha.last_weights.shape == (2, 2, 4, 4) and not mha.last_weights.requires_grad
    torch.testing.assert_close(mha.last_weights, w.detach())


def test_width_not_divisible_by_heads_raises_value_error():
    with pytest.raises(ValueError, match="width 30 is not divisible by the number of heads 4"):
        MultiHeadAttention(30, 4)
    with pytest.raises(ValueError, match="width 30 is not divisible by the number of heads 4"):
        TransformerBlock(30, 4)


def test_wrong_context_width_raises_value_error():
    with pytest.raises(ValueError, match="key/value width 16 does not match kv_dim 20"):
        CrossAttention(32, 20, 4)(torch.randn(1, 3, 32), torch.randn(1, 5, 16))


def test_quick_gelu_is_x_sigmoid_1702x():
    x = torch.linspace(-4, 4, 50)
    torch.testing.assert_close(QuickGELU()(x), x * torch.sigmoid(1.702 * x))


def test_causal_block_does_not_look_ahead():
    block = TransformerBlock(16, 2, causal=True).eval()
    x = torch.randn(1, 6, 16)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, 16)  # change only the future
    torch.testing.assert_close(block(x)[:, :4], block(x2)[:, :4])


def test_block_with_cross_attention_uses_its_context_and_gradients_flow_everywhere():
    block = TransformerBlock(16, 2, mlp_ratio=2.0, act="quick_gelu", cross_dim=12)
    x, ctx = torch.randn(2, 5, 16), torch.randn(2, 7, 12)
    y = block(x, context=ctx, need_weights=True)
    assert y.shape == (2, 5, 16)
    assert block.cross_attn.last_weights.shape == (2, 2, 5, 7)
    y.square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="context"):
        block(x)
