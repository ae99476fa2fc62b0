"""The causal text encoder: pooling at the end-of-text token, causality, clear errors."""
import pytest
import torch

from course_utils.nn.text import TextConfig, TextTransformer

EOS = 2


def encoder(**kw):
    torch.manual_seed(0)
    return TextTransformer(TextConfig.fast(vocab_size=40, eos_id=EOS, context_length=10, **kw)).eval()


def tokens_with_eos_at(positions, length=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(3, 40, (len(positions), length), generator=g)
    t[torch.arange(len(positions)), torch.tensor(positions)] = EOS
    return t


def test_text_features_have_output_dim():
    assert encoder()(tokens_with_eos_at([3, 9])).shape == (2, 32)


def test_text_pools_at_the_first_eos_token():
    enc = encoder()
    t = tokens_with_eos_at([4, 6])
    states = enc.forward_features(t)  # (B, T, width)
    expected = enc.proj(states[torch.arange(2), torch.tensor([4, 6])])
    assert torch.allclose(enc(t), expected)


def test_tokens_after_eos_do_not_change_the_feature():
    enc = encoder()
    a = tokens_with_eos_at([4], seed=0)
    b = a.clone()
    b[0, 5:] = torch.randint(3, 40, (5,))  # padding / junk after the end of text
    c = a.clone()
    c[0, 1] = (a[0, 1] + 1 - 3) % 37 + 3  # a change before the end of text
    assert torch.allclose(enc(a), enc(b), atol=1e-6)
    assert not torch.allclose(enc(a), enc(c), atol=1e-4)


def test_attention_is_causal():
    weights = encoder().attention_maps(tokens_with_eos_at([9]))  # (L, B, h, T, T)
    assert weights.triu(diagonal=1).abs().max() == 0
    assert torch.allclose(weights.sum(-1), torch.ones(()))


def test_eot_argmax_pools_at_the_largest_id_like_open_clip():
    from open_clip.transformer import text_global_pool

    torch.manual_seed(0)
    enc = TextTransformer(TextConfig.fast(vocab_size=40, pool="eot_argmax", eos_id=None, context_length=10)).eval()
    t = torch.randint(1, 30, (3, 10))
    t[torch.arange(3), torch.tensor([2, 5, 9])] = 39  # <end_of_text> = the largest id
    states = enc.forward_features(t)
    assert torch.equal(enc.pool(states, t), text_global_pool(states, t, "argmax"))


def test_shorter_sequences_than_context_length_are_accepted():
    assert encoder()(tokens_with_eos_at([2], length=4)).shape == (1, 32)


def test_token_id_beyond_vocab_raises_value_error_naming_it():
    t = tokens_with_eos_at([4])
    t[0, 1] = 40
    with pytest.raises(ValueError, match="token id 40 is out of range for vocab_size 40"):
        encoder()(t)


def test_too_long_or_wrongly_shaped_or_float_tokens_raise_value_error():
    enc = encoder()
    with pytest.raises(ValueError, match="length 11 exceeds context_length 10"):
        enc(tokens_with_eos_at([4], length=11))
    with pytest.raises(ValueError, match=r"shape \(B, T\), got shape \(10,\)"):
        enc(tokens_with_eos_at([4])[0])
    with pytest.raises(ValueError, match="integer token ids"):
        enc(torch.zeros(1, 10))


def test_missing_eos_raises_value_error():
    t = torch.full((2, 10), 5)
    t[0, 3] = EOS
    with pytest.raises(ValueError, match="token row 1 has no end-of-text token"):
        encoder()(t)


def test_bad_config_raises_value_error():
    with pytest.raises(ValueError, match="width 30 is not divisible by the number of heads 4"):
        TextConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="pool must be one of"):
        TextConfig(pool="mean")
    with pytest.raises(ValueError, match="eos_id 200 is outside the vocabulary"):
        TextConfig(vocab_size=100, eos_id=200)
