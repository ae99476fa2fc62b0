"""Specifications of notebook 24.8's data and model additions: caption pairs with their truth, truth-aware ITM pairs,
the frozen grid-token encoder, ITC's one-sided encoders and similarity, multi-positive ITC, hard negatives that skip
true pairs, single-stream retrieval, greedy decoding and caption accuracy."""
import numpy as np
import pytest
import torch

from course_utils.data import caption_pairs as P
from course_utils.data import clip_batches as B
from course_utils.nn.clip import CLIP
from course_utils.nn.cnn import FrozenGridTokens
from course_utils.nn.coca import CoCa
from course_utils.nn.decoding import greedy_decode
from course_utils.nn.qformer import QFormer, contrastive_loss, hard_negatives
from course_utils.nn.vilt import ViLT, pretraining_loss, retrieval_loss
from course_utils.recipes import clip_world

TOK = B.tokenizer()


@pytest.fixture(scope="module")
def batch():
    return P.hard_pairs(np.random.default_rng(0), 6)


def test_pairs_truth_marks_every_caption_true_of_each_image(batch):
    assert batch["images"].shape == (6, 3, 32, 32) and batch["tokens"].size(0) == 6
    assert batch["truth"].diagonal().all()
    assert not B.full_caption_truth(batch["scenes"], batch["neg_captions"]).diagonal().any()  # the negatives are false


def test_itm_pairs_keep_label_1_when_the_caption_is_still_true():
    images = torch.arange(4.0).reshape(4, 1, 1, 1)
    _, labels = P.itm_pairs(images, torch.Generator().manual_seed(0), truth=torch.ones(4, 4, dtype=torch.bool))
    assert labels.eq(1).all()
    out, labels = P.itm_pairs(images, torch.Generator().manual_seed(0), truth=torch.eye(4, dtype=torch.bool))
    assert labels.sum() == 2 and torch.equal(out.flatten() == torch.arange(4.0), labels.bool())
    with pytest.raises(ValueError, match=r"truth must be \(4, 4\)"):
        P.itm_pairs(images, truth=torch.eye(3, dtype=torch.bool))


def test_held_out_sets_are_fixed_by_their_seed():
    a, b = P.itm_set(20, seed=3), P.itm_set(20, seed=3)
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["labels"], b["labels"])
    assert 0 < a["labels"].sum() < 20


def test_frozen_grid_tokens_are_cells_with_their_one_hot_and_no_gradients():
    enc = FrozenGridTokens(CLIP(clip_world.config(fast=True)).visual)
    enc.train()
    x = torch.rand(2, 3, 32, 32)
    f = enc(x)
    assert f.shape == (2, 16, enc.channels + 16) and not f.requires_grad
    assert torch.equal(f[0, :, enc.channels:], torch.eye(16))
    assert not enc.features.training  # batch norm stays in eval mode
    assert torch.allclose(f[..., :enc.channels], enc.features(x).flatten(2).transpose(1, 2))


def test_qformer_one_sided_encoders_and_similarity_equal_the_itc_pass():
    torch.manual_seed(0)
    m = QFormer(30, 12, n_queries=4, dim=16, heads=2, depth=4, max_len=8).eval()
    image = torch.randn(3, 5, 12)
    tokens = torch.tensor([[1, 7, 8, 2, 0, 0], [1, 9, 2, 0, 0, 0], [1, 10, 11, 12, 13, 2]])
    q, t = m(image, tokens, "itc")
    assert torch.allclose(m.encode_image(image), q, atol=1e-5)
    real = tokens != 0
    assert torch.allclose(m.encode_text(tokens)[real], t[real], atol=1e-5)
    assert torch.allclose(m.similarity(image, tokens), m.itc_similarity(q, t), atol=1e-5)


def test_multi_positive_contrastive_loss_spreads_the_target():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.5, 1.5, 0.0], [0.0, 0.2, 1.0]])
    assert torch.allclose(contrastive_loss(logits, torch.eye(3, dtype=torch.bool)), contrastive_loss(logits))
    same = torch.eye(3, dtype=torch.bool)
    same[0, 1] = True
    ls, lc = logits.log_softmax(1), logits.T.log_softmax(1)
    rows = (-(ls[0, 0] + ls[0, 1]) / 2 - ls[1, 1] - ls[2, 2]) / 3
    cols = (-lc[0, 0] - (lc[1, 0] + lc[1, 1]) / 2 - lc[2, 2]) / 3  # text 1 has images 0 and 1 as positives
    assert torch.allclose(contrastive_loss(logits, same), (rows + cols) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="True diagonal"):
        contrastive_loss(logits, torch.zeros(3, 3, dtype=torch.bool))


def test_hard_negatives_skip_pairs_marked_true():
    same = torch.eye(4, dtype=torch.bool)
    same[0, 1] = same[1, 0] = True
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        t, i = hard_negatives(torch.zeros(4, 4), g, same)
        assert not same[torch.arange(4), t].any() and not same[i, torch.arange(4)].any()


def test_vilt_losses_and_single_stream_retrieval(batch):
    torch.manual_seed(0)
    m = ViLT(TOK.vocab_size, image_size=32, patch_size=8, dim=32, depth=2, heads=2, max_len=B.CONTEXT_LENGTH)
    g = torch.Generator().manual_seed(0)
    loss, parts = pretraining_loss(m, batch, TOK, g)
    assert torch.isfinite(loss) and set(parts) == {"itm", "mlm"}
    loss, parts = retrieval_loss(m, batch, g)
    assert torch.isfinite(loss) and 0 <= parts["acc"] <= 1
    sim = m.pair_scores(batch["images"][:3], batch["tokens"][:4], batch_size=5)
    assert sim.shape == (3, 4)
    assert torch.allclose(sim[2, 1], m.eval().match_score(batch["images"][2:3], batch["tokens"][1:2])[0], atol=1e-5)


def test_greedy_decoding_stops_at_eos_and_caption_accuracy_reads_the_world(batch):
    target = TOK.batch([batch["captions"][0]])[0]  # <bos> words <eos>

    def oracle(seq):  # predicts the true caption's next token whatever came before
        t = seq.size(1)
        logits = torch.full((len(seq), t, TOK.vocab_size), -1e9)
        logits[:, -1, target[t] if t < len(target) else TOK.pad_id] = 0.0
        return logits

    ids = greedy_decode(oracle, 2, bos_id=TOK.bos_id, eos_id=TOK.eos_id, pad_id=TOK.pad_id, max_len=60)
    assert ids.shape == (2, len(target)) and TOK.decode_batch(ids) == [batch["captions"][0]] * 2
    caps = [batch["captions"][0], batch["captions"][0]]
    assert P.caption_accuracy(caps, batch["scenes"][:2]) == pytest.approx(batch["truth"][:2, 0].float().mean().item())
    with pytest.raises(ValueError, match="2 captions for 3 scenes"):
        P.caption_accuracy(caps, batch["scenes"][:3])


def test_qformer_and_coca_generate_captions_from_image_tokens():
    torch.manual_seed(0)
    feats = torch.randn(2, 16, 12)
    for m in (QFormer(TOK.vocab_size, 12, n_queries=2, dim=16, heads=2, depth=2, max_len=10),
              CoCa(TOK.vocab_size, 12, dim=16, heads=2, uni_layers=1, multi_layers=1, caption_queries=4, max_len=10)):
        ids = m.eval().generate(feats, TOK.bos_id, TOK.eos_id)
        assert ids.shape[0] == 2 and ids.shape[1] <= 10 and (ids[:, 0] == TOK.bos_id).all()
        assert m.similarity(feats, ids).shape == (2, 2)
