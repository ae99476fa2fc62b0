"""Specifications of course_utils.nn.coca: the unimodal half never sees the image and its [CLS] sees every word, the
captioner is causal and reads the image, and the loss is contrastive + 2 × captioning computed by hand."""
import pytest
import torch

from course_utils.nn.coca import CAPTION_WEIGHT, AttentionalPooler, CoCa
from course_utils.nn.qformer import contrastive_loss, next_token_loss

V, D_IMG = 30, 12


@pytest.fixture
def model():
    torch.manual_seed(0)
    return CoCa(V, D_IMG, dim=16, heads=2, uni_layers=2, multi_layers=2, caption_queries=4, max_len=8,
                embed_dim=8).eval()


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    tokens = torch.tensor([[1, 7, 8, 2, 0, 0], [1, 9, 2, 0, 0, 0], [1, 10, 11, 12, 13, 2]])
    return torch.randn(3, 5, D_IMG, generator=g), tokens


def test_shapes_and_unit_embeddings(model, batch):
    out = model(*batch)
    assert out["image_embed"].shape == out["text_embed"].shape == (3, 8)
    assert torch.allclose(out["image_embed"].norm(dim=-1), torch.ones(3)) and out["logits"].shape == (3, 6, V)
    assert AttentionalPooler(D_IMG, 16, 4, 2)(batch[0]).shape == (3, 4, 16)


def test_text_embedding_ignores_the_image_and_sees_every_word(model, batch):
    image, tokens = batch
    a = model(image, tokens)["text_embed"]
    assert torch.allclose(model(torch.randn_like(image), tokens)["text_embed"], a, atol=1e-6)
    changed = tokens.clone()
    changed[2, 4] = 20  # a late word
    assert not torch.allclose(model(image, changed)["text_embed"][2], a[2], atol=1e-4)


def test_captioner_is_causal_and_reads_the_image(model, batch):
    image, tokens = batch
    logits = model(image, tokens)["logits"]
    changed = tokens.clone()
    changed[2, 4] = 20
    later = model(image, changed)["logits"]
    assert torch.allclose(later[2, :4], logits[2, :4], atol=1e-5) and not torch.allclose(later[2, 4:], logits[2, 4:])
    assert not torch.allclose(model(torch.randn_like(image), tokens)["logits"], logits, atol=1e-4)


def test_loss_is_contrastive_plus_twice_captioning(model, batch):
    image, tokens = batch
    total, parts = model.loss(image, tokens)
    out = model(image, tokens)
    con = contrastive_loss(out["image_embed"] @ out["text_embed"].T / model.log_tau.exp())
    cap = next_token_loss(out["logits"], tokens)
    assert CAPTION_WEIGHT == 2.0
    assert torch.allclose(total, con + 2 * cap, atol=1e-5)
    assert parts["contrastive"] == pytest.approx(con.item(), rel=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda m, i, t: m(i[:2], t), "2 images but 3 texts"),
    (lambda m, i, t: m(i, torch.ones(3, 9, dtype=torch.long)), "longer than the context max_len 8"),
    (lambda m, i, t: m(i[..., :4], t), r"image tokens \(B, N, 12\)"),
    (lambda m, i, t: AttentionalPooler(D_IMG, 16, 0, 2), "n_queries 0"),
])
def test_bad_input_is_named(model, batch, call, message):
    with pytest.raises(ValueError, match=message):
        call(model, *batch)
