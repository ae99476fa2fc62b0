"""Specifications of course_utils.nn.qformer: the masks really separate the objectives inside the model, the image
is read on every other layer, and each loss equals its hand computation on fixed inputs."""
import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.nn.qformer import QFormer, contrastive_loss, hard_negatives, next_token_loss

V, D_IMG = 30, 12


@pytest.fixture
def model():
    torch.manual_seed(0)
    return QFormer(V, D_IMG, n_queries=4, dim=16, heads=2, depth=4, max_len=8).eval()


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    image = torch.randn(3, 5, D_IMG, generator=g)  # (B, N, image_dim): frozen encoder features
    tokens = torch.tensor([[1, 7, 8, 2, 0, 0], [1, 9, 2, 0, 0, 0], [1, 10, 11, 12, 13, 2]])
    return image, tokens


def test_outputs_and_the_image_read_every_other_layer(model, batch):
    q, t = model(*batch, "itm")
    assert q.shape == (3, 4, 16) and t.shape == (3, 6, 16)
    assert [layer.cross is not None for layer in model.layers] == [True, False, True, False]


def test_itc_keeps_text_blind_to_the_image_and_queries_blind_to_the_text(model, batch):
    image, tokens = batch
    q, t = model(image, tokens, "itc")
    q2, t2 = model(torch.randn_like(image), tokens.flip(0), "itc")
    assert torch.allclose(t2.flip(0), t, atol=1e-5)  # text outputs do not depend on the image
    q3, _ = model(image, tokens.flip(0), "itc")
    assert torch.allclose(q3, q, atol=1e-5)  # query outputs do not depend on the text
    _, t4 = model(image, tokens, "itm")
    assert not torch.allclose(t4, t, atol=1e-3)  # with the ITM mask the text sees the queries (and the image)


def test_itg_text_is_causal_and_queries_never_see_it(model, batch):
    image, tokens = batch
    q, t = model(image, tokens, "itg")
    changed = tokens.clone()
    changed[2, 4] = 20  # change a late word of example 2
    q2, t2 = model(image, changed, "itg")
    assert torch.allclose(q2, q, atol=1e-5)
    assert torch.allclose(t2[2, :4], t[2, :4], atol=1e-5) and not torch.allclose(t2[2, 4:], t[2, 4:], atol=1e-4)


def test_itc_similarity_is_the_max_cosine_over_the_queries(model, batch):
    q, t = model(*batch, "itc")
    s = model.itc_similarity(q, t)
    zq, zt = F.normalize(model.image_proj(q), dim=-1), F.normalize(model.text_proj(t[:, 0]), dim=-1)
    for i in range(3):
        for j in range(3):
            assert math.isclose(s[i, j].item(), max((zq[i, k] @ zt[j]).item() for k in range(4)), abs_tol=1e-5)


def test_contrastive_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    rows = -(math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(math.exp(3) / (math.exp(1) + math.exp(3)))) / 2
    cols = -(math.log(math.exp(2) / (math.exp(2) + math.exp(1))) + math.log(math.exp(3) / (1 + math.exp(3)))) / 2
    assert math.isclose(contrastive_loss(logits).item(), (rows + cols) / 2, rel_tol=1e-6)


def test_hard_negatives_are_never_the_true_partner_and_follow_the_similarity():
    s = torch.tensor([[1.0, 9.0, -9.0], [-9.0, 1.0, 9.0], [9.0, -9.0, 1.0]])
    neg_text, neg_image = hard_negatives(s, torch.Generator().manual_seed(0))
    assert neg_text.tolist() == [1, 2, 0]  # the most similar wrong text of each image
    assert neg_image.tolist() == [2, 0, 1]  # the most similar wrong image of each text
    g = torch.Generator().manual_seed(1)
    draws = torch.stack([hard_negatives(torch.zeros(4, 4), g)[0] for _ in range(200)])
    assert not (draws == torch.arange(4)).any()


def test_next_token_loss_by_hand_ignores_padding():
    logits = torch.zeros(1, 3, 4)
    logits[0, 0, 2] = 2.0  # predicts token 2 after position 0
    tokens = torch.tensor([[1, 2, 0]])  # the target after position 1 is padding
    want = -math.log(math.exp(2) / (math.exp(2) + 3))
    assert math.isclose(next_token_loss(logits, tokens, pad_id=0).item(), want, rel_tol=1e-6)


def test_the_three_losses_train_together(model, batch):
    model.train()
    image, tokens = batch
    itc, s = model.itc_loss(image, tokens)
    itm = model.itm_loss(image, tokens, s, torch.Generator().manual_seed(0))
    itg = model.itg_loss(image, tokens)
    (itc + itm + itg).backward()
    assert all(torch.isfinite(x) for x in (itc, itm, itg))
    assert model.queries.grad is not None and model.queries.grad.abs().sum() > 0
    assert math.isclose(itc.item(), contrastive_loss(s / model.log_tau.exp()).item(), rel_tol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda m, i, t: m(i[:2], t, "itc"), "2 images but 3 texts"),
    (lambda m, i, t: m(i, torch.ones(3, 9, dtype=torch.long), "itc"), "longer than the context max_len 8"),
    (lambda m, i, t: m(i, t, "lm"), "unknown Q-Former objective 'lm'"),
    (lambda m, i, t: m(i[..., :5], t, "itc"), r"image features \(B, N, 12\)"),
    (lambda m, i, t: QFormer(V, D_IMG, n_queries=0), "n_queries 0"),
    (lambda m, i, t: hard_negatives(torch.zeros(1, 1)), "B >= 2"),
])
def test_bad_input_is_named(model, batch, call, message):
    with pytest.raises(ValueError, match=message):
        call(model, *batch)
