"""Specifications of course_utils.nn.multimodal_masks: ViLT's single-stream mask (checked against the attention of
`transformers`' ViltModel), BLIP-2's three Q-Former masks (ITM against transformers' Blip2QFormerModel, which runs
only that bidirectional mask; ITC and ITG against their equations) and CoCa's text mask (against its equation)."""
import pytest
import torch

from course_utils.nn.multimodal_masks import additive, causal_mask, coca_text_mask, qformer_mask, vilt_mask

PAD = torch.tensor([[False, False, False, True, True], [False, False, False, False, False]])  # (B=2, T=5)


def test_vilt_mask_matches_the_attention_of_transformers_vilt():
    from transformers import ViltConfig, ViltModel

    cfg = ViltConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                     image_size=32, patch_size=8, max_image_length=-1, vocab_size=50, max_position_embeddings=16)
    model = ViltModel(cfg).eval()
    ids = torch.tensor([[1, 5, 6, 0, 0], [1, 7, 8, 9, 2]])
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=(~PAD).long(), pixel_values=torch.rand(2, 3, 32, 32),
                    pixel_mask=torch.ones(2, 32, 32, dtype=torch.long), output_attentions=True)
    n_image = 1 + (32 // 8) ** 2  # [CLS] + 16 patches
    ours = vilt_mask(n_image, PAD)  # [image; text], the lecture's order
    order = torch.cat([torch.arange(n_image, n_image + 5), torch.arange(n_image)])  # transformers: [text; image]
    theirs = out.attentions[0] > 0  # (B, heads, 22, 22): weights that are not exactly 0
    assert out.last_hidden_state.shape == (2, n_image + 5, 32)
    assert torch.equal(theirs, ours[:, order][:, :, order][:, None].expand_as(theirs))


def test_qformer_itm_mask_and_cross_attention_match_transformers_blip2_qformer():
    from transformers import Blip2QFormerConfig, Blip2QFormerModel

    cfg = Blip2QFormerConfig(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                             encoder_hidden_size=24, cross_attention_frequency=2, vocab_size=50,
                             use_qformer_text_input=True)
    cfg._attn_implementation = "eager"
    model = Blip2QFormerModel(cfg).eval()
    Q, T = 3, PAD.size(1)
    keep = torch.cat([torch.ones(2, Q, dtype=torch.long), (~PAD).long()], 1)  # (B, Q + T)
    with torch.no_grad():
        out = model(query_embeds=torch.randn(2, Q + T, 32), query_length=Q, attention_mask=keep,
                    encoder_hidden_states=torch.randn(2, 5, 24), output_attentions=True)
    self_attn = [a for a in out.attentions if a.shape[-1] == Q + T]
    assert len(self_attn) == 4
    ours = qformer_mask("itm", Q, PAD)[:, None]  # (B, 1, Q + T, Q + T)
    assert all(torch.equal(a > 0, ours.expand_as(a)) for a in self_attn)
    assert [layer.has_cross_attention for layer in model.encoder.layer] == [True, False, True, False]
    assert [tuple(c.shape) for c in out.cross_attentions] == [(2, 2, Q, 5)] * 2  # only the queries read the image


def test_qformer_itc_keeps_queries_and_text_apart():
    m = qformer_mask("itc", 3, PAD)  # (2, 8, 8)
    assert m.shape == (2, 8, 8)
    assert m[:, :3, :3].all() and not m[:, :3, 3:].any() and not m[:, 3:, :3].any()
    assert m[1, 3:, 3:].all() and torch.equal(m[0, 3:, 3:], ~PAD[0].expand(5, 5))


def test_qformer_itm_is_bidirectional_except_padding():
    m = qformer_mask("itm", 3, PAD)
    assert m[1].all()
    assert torch.equal(m[0], torch.cat([torch.ones(3, dtype=torch.bool), ~PAD[0]]).expand(8, 8))


def test_qformer_itg_text_is_causal_and_queries_never_see_text():
    m = qformer_mask("itg", 3, PAD)
    assert m[:, :, :3].all()  # everyone sees every query
    assert not m[:, :3, 3:].any()  # queries never see text
    assert torch.equal(m[1, 3:, 3:], causal_mask(5))
    assert torch.equal(m[0, 3:, 3:], causal_mask(5) & ~PAD[0])


def test_coca_cls_sees_every_real_word_and_words_are_causal():
    m = coca_text_mask(PAD)  # (2, 6, 6): five words then [CLS]
    assert torch.equal(m[1], causal_mask(6))
    assert torch.equal(m[0, -1], torch.tensor([True, True, True, False, False, True]))


def test_additive_mask_is_zero_where_allowed_and_the_minimum_elsewhere():
    a = additive(causal_mask(3))
    assert a[1, 0] == 0 and a[0, 1] == torch.finfo(torch.float32).min
    scores = torch.zeros(3, 3) + a
    assert torch.allclose(scores.softmax(-1), causal_mask(3).float() / causal_mask(3).sum(-1, keepdim=True))


@pytest.mark.parametrize("call, message", [
    (lambda: qformer_mask("ita", 4, PAD), "unknown Q-Former objective 'ita'"),
    (lambda: qformer_mask("itc", 0, PAD), "n_queries 0"),
    (lambda: vilt_mask(0, PAD), "n_image 0"),
    (lambda: vilt_mask(5, PAD.long()), "bool tensor"),
    (lambda: causal_mask(0), "length 0"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
