"""The tiny causal language model (24.3, 24.12) and the world's text it is pre-trained on."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.data.tokenizer import Tokenizer
from course_utils.data.world_text import text_lines
from course_utils.nn.language_model import CausalLM, LMConfig, lm_loss


def small_lm(seed=0, vocab=50) -> CausalLM:
    torch.manual_seed(seed)
    return CausalLM(LMConfig(vocab_size=vocab, dim=32, layers=2, heads=4, max_len=20)).eval()


def test_world_text_uses_only_known_words_in_both_languages():
    tok = Tokenizer.for_world()
    lines = text_lines(np.random.default_rng(0), 400)
    assert all(tok.unk_id not in tok.encode(line) for line in lines)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in line) for line in lines)
    assert any(line.isascii() for line in lines)
    assert text_lines(np.random.default_rng(3), 5) == text_lines(np.random.default_rng(3), 5)


def test_text_lines_rejects_a_bad_count():
    with pytest.raises(ValueError, match="n 0"):
        text_lines(np.random.default_rng(0), 0)


def test_lm_equals_transformers_gpt2_with_the_same_weights():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=50, n_positions=20, n_embd=32, n_layer=2, n_head=4, activation_function="gelu",
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    gpt2 = GPT2LMHeadModel(cfg).eval()
    ours = CausalLM.from_gpt2(gpt2).eval()
    ids = torch.randint(0, 50, (3, 12))
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[1, 9:] = 0
    want = gpt2(ids, attention_mask=mask).logits
    got = ours(ids, key_padding_mask=mask == 0)
    keep = mask.bool()
    torch.testing.assert_close(got[keep], want[keep], atol=1e-5, rtol=1e-5)


def test_lm_is_causal_and_embeds_equal_ids():
    lm = small_lm()
    ids = torch.randint(0, 50, (2, 10))
    later = ids.clone()
    later[:, 6:] = torch.randint(0, 50, (2, 4))
    torch.testing.assert_close(lm(ids)[:, :6], lm(later)[:, :6])
    torch.testing.assert_close(lm(embeds=lm.embed(ids)), lm(ids))
    torch.testing.assert_close(lm.logits(lm.hidden(lm.embed(ids), before_block=lambda i, h: h)), lm(ids))


def test_before_block_runs_before_every_block():
    lm = small_lm()
    seen = []
    lm.hidden(lm.embed(torch.zeros(1, 3, dtype=torch.long)), before_block=lambda i, h: seen.append(i) or h)
    assert seen == [0, 1]


def test_lm_loss_is_next_token_cross_entropy_ignoring_padding():
    lm = small_lm()
    ids = torch.tensor([[1, 7, 8, 9, 2], [1, 7, 2, 0, 0]])
    logits = lm(ids)
    by_hand = [F.cross_entropy(logits[b, t], ids[b, t + 1], reduction="sum")
               for b in range(2) for t in range(4) if ids[b, t + 1] != 0]
    torch.testing.assert_close(lm_loss(logits, ids), torch.stack(by_hand).sum() / len(by_hand))


def test_generate_is_greedy_and_pads_after_eos():
    lm = small_lm()
    prefix = lm.embed(torch.tensor([[1, 5, 6]]))
    out = lm.generate(prefix, 4, eos_id=2)
    x = prefix
    for k in range(4):
        nxt = lm(embeds=x)[:, -1].argmax(-1)
        assert int(out[0, k]) == int(nxt)
        if int(nxt) == 2:
            assert (out[0, k:] == 2).all()
            break
        x = torch.cat([x, lm.embed(nxt[:, None])], 1)


@pytest.mark.parametrize("bad, match", [
    (lambda lm: lm(), "exactly one"),
    (lambda lm: lm(torch.zeros(1, 21, dtype=torch.long)), "longer than max_len 20"),
    (lambda lm: lm.embed(torch.zeros(4, dtype=torch.long)), "must be \\(B, T\\)"),
    (lambda lm: lm.generate(torch.zeros(1, 2, 32), 0), "max_new 0"),
    (lambda lm: LMConfig(vocab_size=50, dim=30, heads=4), "divisible"),
])
def test_bad_input_names_the_value(bad, match):
    with pytest.raises(ValueError, match=match):
        bad(small_lm())


def test_shipped_world_lm_loads_and_knows_the_worlds_answers():
    from course_utils import pretrained
    from course_utils.data.scene import COLORS, SHAPES
    from course_utils.recipes import world_lm

    assert pretrained.status(world_lm.NAME) == "ok"
    lm = pretrained.get(world_lm.NAME, train=False, verbose=False)
    assert world_lm.scores(lm, fast=True)["perplexity"] < 2.3
    tok = Tokenizer.for_world()
    for question, allowed in (("what is the shape of the red object?", SHAPES),
                              ("what color is the object furthest from the blue object?", COLORS)):
        ids = torch.tensor([tok.encode(question, add_special=False)])
        prefix = lm.embed(torch.cat([torch.tensor([[tok.bos_id]]), ids], 1))
        answer = tok.decode(lm.generate(prefix, 2, eos_id=tok.eos_id)[0])
        assert answer in allowed, answer
