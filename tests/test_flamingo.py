"""Flamingo in miniature (nn.flamingo) and its interleaved sequences (data.interleaved): shapes, the closed gates at
step 0, the per-image mask, the attention against torch's, errors, and the shipped flamingo_world."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.data import interleaved as I
from course_utils.data.tokenizer import Tokenizer
from course_utils.nn.flamingo import (
    IMAGE_ID,
    FlamingoLM,
    GatedCrossAttention,
    PerceiverLayer,
    PerceiverResampler,
    media_mask,
)
from course_utils.nn.language_model import CausalLM, LMConfig

TOK = Tokenizer.for_world()


def _model(num_latents=3):
    lm = CausalLM(LMConfig(TOK.vocab_size, dim=32, layers=2, heads=4, max_len=40))
    torch.manual_seed(0)
    return FlamingoLM(lm, feature_dim=12, num_latents=num_latents, heads=4), lm


def _inputs(B=2, n=3, N=5, F_=12):
    g = torch.Generator().manual_seed(1)
    answers = torch.randint(10, 100, (B, n), generator=g)
    return I.interleave(answers), torch.randn(B, n, N, F_, generator=g)


def test_image_marker_ids_agree():
    assert I.IMAGE_ID == IMAGE_ID


def test_closed_gates_give_exactly_the_language_model():
    model, lm = _model()
    ids, feats = _inputs()
    with torch.no_grad():
        diff = (model(ids, feats) - lm(embeds=model.embed(ids))).abs().max().item()
    assert diff == 0.0


def test_open_gates_change_only_tokens_after_an_image():
    model, lm = _model()
    for layer in model.xattn:
        nn.init.constant_(layer.alpha_attn, 1.0)
    ids, feats = _inputs()
    with torch.no_grad():
        diff = (model(ids, feats) - lm(embeds=model.embed(ids))).abs()
    assert diff[:, 0].max() < 1e-5  # <bos> comes before every image
    assert diff[:, 1:].max() > 1e-3


def test_media_mask_reads_the_last_image_only():
    ids = torch.tensor([[1, IMAGE_ID, 7, 2, IMAGE_ID, 8, 2]])
    m = media_mask(ids, n_images=2, num_latents=2)  # (1, 7, 4)
    assert m.shape == (1, 7, 4)
    assert not m[0, 0].any()
    assert m[0, 1:4].tolist() == [[True, True, False, False]] * 3
    assert m[0, 4:].tolist() == [[False, False, True, True]] * 3


def test_a_later_image_does_not_change_earlier_logits():
    model, _ = _model()
    for layer in model.xattn:
        nn.init.constant_(layer.alpha_attn, 1.0)
    ids, feats = _inputs(n=2)
    other = feats.clone()
    other[:, 1] = torch.randn_like(other[:, 1])
    with torch.no_grad():
        a, b = model(ids, feats), model(ids, other)
    first = 4  # <bos> <image> answer <eos> come before the second image
    assert torch.allclose(a[:, :first], b[:, :first], atol=1e-6)
    assert (a[:, first:] - b[:, first:]).abs().max() > 1e-4


def test_perceiver_attention_matches_torch_multihead_attention():
    torch.manual_seed(2)
    layer = PerceiverLayer(dim=16, heads=4)
    x, lat = torch.randn(2, 6, 16), torch.randn(2, 3, 16)
    ref = nn.MultiheadAttention(16, 4, bias=False, batch_first=True)
    layer.attn.load_torch_mha_(ref)
    q = layer.norm_latents(lat)
    kv = torch.cat([layer.norm_media(x), q], 1)
    ours = layer.attn(q, kv)
    theirs = ref(q, kv, kv, need_weights=False)[0]
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_gated_cross_attention_follows_the_equation():
    torch.manual_seed(3)
    block = GatedCrossAttention(dim=16, heads=2)
    nn.init.constant_(block.alpha_attn, 0.5)
    nn.init.constant_(block.alpha_mlp, -0.3)
    x, v = torch.randn(2, 4, 16), torch.randn(2, 6, 16)
    mask = torch.ones(2, 4, 6, dtype=torch.bool)
    a = block.attn
    q = a.q_proj(block.norm_attn(x)).view(2, 4, 2, 8).transpose(1, 2)
    k = a.k_proj(v).view(2, 6, 2, 8).transpose(1, 2)
    val = a.v_proj(v).view(2, 6, 2, 8).transpose(1, 2)
    att = a.out_proj(F.scaled_dot_product_attention(q, k, val).transpose(1, 2).reshape(2, 4, 16))
    y = x + torch.tanh(torch.tensor(0.5)) * att
    y = y + torch.tanh(torch.tensor(-0.3)) * block.mlp(block.norm_mlp(y))
    assert torch.allclose(block(x, v, mask), y, atol=1e-6)


def test_resampler_shapes_and_errors():
    r = PerceiverResampler(feature_dim=12, dim=16, num_latents=5, depth=1, heads=4)
    assert r(torch.randn(3, 9, 12)).shape == (3, 5, 16)
    with pytest.raises(ValueError, match="expected image features"):
        r(torch.randn(3, 9, 11))
    with pytest.raises(ValueError, match="num_latents 0"):
        PerceiverResampler(12, 16, num_latents=0)


def test_marker_count_must_match_images():
    model, _ = _model()
    ids, feats = _inputs(n=3)
    with pytest.raises(ValueError, match="one image marker per image"):
        model(ids, feats[:, :2])


def test_every_answer_is_one_known_token():
    pool = I.image_pool(60, seed=5)
    for task in I.TASKS:
        for s in pool.scenes:
            ids = TOK.encode(I.answer_word(s, task), add_special=False)
            assert len(ids) == 1 and TOK.unk_id not in ids


def test_interleave_layout_and_training_batch():
    ids = I.interleave(torch.tensor([[7, 8]]), query=True)
    assert ids.tolist() == [[TOK.bos_id, IMAGE_ID, 7, TOK.eos_id, IMAGE_ID, 8, TOK.eos_id, IMAGE_ID]]
    pool = I.image_pool(30, seed=6)
    b = I.training_batch(np.random.default_rng(0), pool, batch_size=4, n_images=3)
    assert b["ids"].shape == (4, 10) and b["index"].shape == (4, 3)
    for row, idx, t in zip(b["ids"], b["index"], b["task"]):
        assert row[2::3].tolist() == pool.answers[I.TASKS[int(t)]][idx].tolist()


def test_bad_few_shot_requests_name_the_value():
    pool = I.image_pool(5, seed=7)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="shots 6"):
        I.few_shot_prompts(pool, 3, "color en", 6, rng)
    with pytest.raises(ValueError, match="query list is empty"):
        I.few_shot_prompts(pool, 0, "color en", 1, rng)
    with pytest.raises(ValueError, match="unknown task 'size en'"):
        I.few_shot_prompts(pool, 2, "size en", 1, rng)
    p = I.few_shot_prompts(pool, 3, "shape zh", 4, rng)
    assert p["ids"].shape == (3, 14) and p["support_index"].shape == (3, 4)


def test_shipped_flamingo_loads_and_answers_the_task_of_one_example():
    from course_utils import pretrained
    from course_utils.recipes import flamingo_world as FR

    assert FR.NAME in pretrained.recipes()
    assert pretrained.status(FR.NAME) == "ok"
    model = pretrained.get(FR.NAME, train=False, verbose=False)
    one_shot = FR.few_shot_accuracy(model, 1, n_queries=40, seed=11)  # images the recipe never evaluated on
    assert one_shot["mean"] >= 0.9


def test_task_words_are_the_answers_of_the_task():
    pool = I.image_pool(80, seed=8)
    for task in I.TASKS:
        words = I.task_words(task)
        assert len(words) == (6 if task.startswith("color") else 3)
        assert {I.answer_word(s, task) for s in pool.scenes} <= set(words)
        assert all(TOK.unk_id not in TOK.encode(w, add_special=False) for w in words)
