"""Specifications of course_utils.nn.vilt: the single stream [H_img; H_text] with the token order and sequence length
of transformers' ViltModel (small config), padding hidden from every token, the pooler, ITM pairs and MLM masking."""
import pytest
import torch

from course_utils.data import Tokenizer, VQADataset
from course_utils.nn.vilt import ViLT, itm_pairs, mask_words, mlm_loss

TOK = Tokenizer.for_world()


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ViLT(TOK.vocab_size, image_size=32, patch_size=8, dim=32, depth=2, heads=2, max_len=24).eval()


@pytest.fixture(scope="module")
def batch():
    ds = VQADataset(4, seed=0, max_len=None)
    return ds.rgb, TOK.batch([q.question for q in ds.qas])


def test_one_stream_image_first_with_the_length_of_transformers_vilt(model, batch):
    from transformers import ViltConfig, ViltModel

    images, tokens = batch
    h, pooled = model(images, tokens)
    assert h.shape == (4, 1 + 16 + tokens.size(1), 32) and pooled.shape == (4, 32)
    e = model.embed(images, tokens)  # [H_img; H_text]: the first 17 positions carry the image type embedding
    no_type = model.embed(images, tokens) - torch.cat([model.type_embed.weight[1].expand(17, -1),
                                                       model.type_embed.weight[0].expand(tokens.size(1), -1)])
    cls = model.image_cls[0, 0] + model.image_pos[0, 0]  # the image [CLS] is position 0
    assert torch.allclose(e[:, 0] - model.type_embed.weight[1], cls, atol=1e-6)
    assert torch.allclose(no_type[:, 17:], model.token_embed(tokens) + model.token_pos[:, :tokens.size(1)], atol=1e-6)
    cfg = ViltConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32,
                     patch_size=8, max_image_length=-1, vocab_size=TOK.vocab_size, max_position_embeddings=24)
    with torch.no_grad():
        ref = ViltModel(cfg).eval()(input_ids=tokens, attention_mask=(tokens != 0).long(), pixel_values=images,
                                    pixel_mask=torch.ones(4, 32, 32, dtype=torch.long))
    assert ref.last_hidden_state.shape == h.shape  # same tokens, transformers puts the text first


def test_padding_changes_nothing_for_the_real_tokens(model, batch):
    images, tokens = batch
    longer = torch.cat([tokens, torch.zeros(4, 3, dtype=torch.long)], 1)  # three more <pad>
    h, pooled = model(images, tokens)
    h2, pooled2 = model(images, longer)
    assert torch.allclose(pooled2, pooled, atol=1e-5) and torch.allclose(h2[:, :h.size(1)], h, atol=1e-5)


def test_every_text_token_sees_the_image(model, batch):
    images, tokens = batch
    h, _ = model(images, tokens)
    h2, _ = model(images.flip(0), tokens)
    assert not torch.allclose(h2[:, 17:], h[:, 17:], atol=1e-3)


def test_pooler_is_tanh_of_a_linear_map_of_the_first_token(model, batch):
    h, pooled = model(*batch)
    assert torch.allclose(pooled, torch.tanh(h[:, 0] @ model.pooler.weight.T + model.pooler.bias), atol=1e-6)
    assert model.itm_logits(*batch).shape == (4, 2)
    assert model.mlm_logits(*batch).shape == (4, batch[1].size(1), TOK.vocab_size)


def test_itm_pairs_swap_half_the_images_never_for_their_own():
    images = torch.arange(10).float()[:, None, None, None].expand(10, 3, 4, 4)
    out, labels = itm_pairs(images, torch.Generator().manual_seed(0))
    assert labels.sum() == 5
    same = (out == images).flatten(1).all(1)
    assert torch.equal(same, labels.bool())
    with pytest.raises(ValueError, match="at least 2 pairs"):
        itm_pairs(images[:1])


def test_mask_words_hides_about_15_percent_of_the_words_and_never_the_specials():
    ds = VQADataset(200, seed=1)
    tokens = TOK.batch([q.question for q in ds.qas])
    out, targets = mask_words(tokens, TOK, generator=torch.Generator().manual_seed(0))
    chosen = targets != -100
    words = (tokens > 2)  # not <pad>, <bos>, <eos>
    assert not (chosen & ~words).any()
    assert 0.12 < chosen.sum() / words.sum() < 0.18
    assert torch.equal(targets[chosen], tokens[chosen])
    became_mask = (out == TOK.mask_id) & chosen
    assert 0.7 < became_mask.sum() / chosen.sum() < 0.9
    assert torch.equal(out[~chosen], tokens[~chosen])


def test_mlm_loss_counts_only_the_chosen_words():
    logits = torch.zeros(1, 3, 5)
    logits[0, 1, 4] = 10.0
    targets = torch.tensor([[-100, 4, -100]])
    assert mlm_loss(logits, targets).item() < 1e-3


@pytest.mark.parametrize("call, message", [
    (lambda m, i, t: m(i[:2], t), "2 images but 4 texts"),
    (lambda m, i, t: m(i, torch.ones(4, 25, dtype=torch.long)), "longer than the context max_len 24"),
    (lambda m, i, t: m(i[..., :24, :24], t), "24×24"),
    (lambda m, i, t: mask_words(t, TOK, p=0.0), "masking probability 0.0"),
])
def test_bad_input_is_named(model, batch, call, message):
    with pytest.raises(ValueError, match=message):
        call(model, *batch)
