"""The mini LLaVA of notebook 24.12: the projector equals transformers' LlavaMultiModalProjector with the same
weights, the answer-only loss equals cross-entropy with -100 labels (the transformers convention), shapes, errors,
grouped greedy generation, and the shipped checkpoints."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import pretrained
from course_utils.data import instructions as I
from course_utils.data.scene import COLOR_ZH, COLORS
from course_utils.data.tokenizer import Tokenizer
from course_utils.nn.language_model import CausalLM, LMConfig
from course_utils.nn.llava import MiniLLaVA, Projector, answer_only_loss
from course_utils.recipes import llava_world as L

TOK = Tokenizer.for_world()
MIN_ACCURACY = 0.35  # on 48 instructions of another seed; the notebook measures 54 % on 600


def _model(dim=32):
    torch.manual_seed(0)
    return MiniLLaVA(CausalLM(LMConfig(TOK.vocab_size, dim=dim, layers=2, heads=2)), image_dim=20)


def test_projector_matches_transformers_llava_projector():
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig
    from transformers.models.llava.modeling_llava import LlavaMultiModalProjector

    cfg = LlavaConfig(vision_config=CLIPVisionConfig(hidden_size=20, num_attention_heads=4),
                      text_config=LlamaConfig(hidden_size=32, num_attention_heads=4), projector_hidden_act="gelu")
    ref, ours = LlavaMultiModalProjector(cfg), Projector(20, 32)
    ours.load_state_dict(ref.state_dict())
    v = torch.randn(3, 16, 20)
    torch.testing.assert_close(ours(v), ref(v))


def test_answer_only_loss_equals_cross_entropy_with_ignored_labels():
    logits, ids = torch.randn(2, 6, 11), torch.randint(0, 11, (2, 6))
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]], dtype=torch.bool)
    labels = ids.masked_fill(~mask, -100)
    want = F.cross_entropy(logits[:, :-1].reshape(-1, 11), labels[:, 1:].reshape(-1), ignore_index=-100)
    torch.testing.assert_close(answer_only_loss(logits, ids, mask), want)
    with pytest.raises(ValueError, match="must agree"):
        answer_only_loss(logits, ids[:, :5], mask[:, :5])


def test_forward_shapes_and_image_token_error():
    m = _model()
    v, ids = torch.randn(2, 16, 20), torch.randint(6, TOK.vocab_size, (2, 7))
    assert m(v, ids).shape == (2, 7, TOK.vocab_size)
    with pytest.raises(ValueError, match=r"image tokens must be \(B, N, 20\)"):
        m(torch.randn(2, 16, 21), ids)


def test_padding_does_not_change_the_logits_of_real_tokens():
    m = _model().eval()
    v, ids = torch.randn(1, 16, 20), torch.randint(6, TOK.vocab_size, (1, 5))
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1)
    torch.testing.assert_close(m(v, padded)[:, :5], m(v, ids), atol=1e-5, rtol=1e-5)


def test_generate_groups_prompts_by_length_like_one_at_a_time():
    m = _model().eval()
    v = torch.randn(3, 16, 20)
    prompts = [[1, 40, 41], [1, 40], [1, 42, 43]]
    both = m.generate(v, prompts, 5)
    for i, p in enumerate(prompts):
        torch.testing.assert_close(both[i:i + 1], m.generate(v[i:i + 1], [p], 5))
    with pytest.raises(ValueError, match="2 prompts for 3 images"):
        m.generate(v, prompts[:2], 5)


def test_answer_rejects_an_empty_question():
    m = L.build()
    with pytest.raises(ValueError, match="prompt '' is empty"):
        L.answer(m, torch.zeros(1, 16, L.IMAGE_DIM), [""])


def test_stage_one_trains_only_the_projector():
    m, enc = L.build(), lambda images: torch.randn(len(images), 16, L.IMAGE_DIM)
    lm_before = {k: p.clone() for k, p in m.lm.state_dict().items()}
    proj_before = m.projector.linear_1.weight.clone()
    L.train_stage1(m, enc, 2)
    assert all(torch.equal(lm_before[k], p) for k, p in m.lm.state_dict().items())
    assert not torch.equal(proj_before, m.projector.linear_1.weight)
    assert all(p.requires_grad for p in m.lm.parameters())  # stage 2 trains the LM too


def test_the_pool_encodes_each_scene_once_and_draws_every_type_and_language():
    calls = []

    def enc(images):
        calls.append(len(images))
        return images.flatten(1)[:, :16 * L.IMAGE_DIM].reshape(len(images), 16, L.IMAGE_DIM)

    pool = L.InstructionPool(enc, 12, seed=3)
    assert len(pool) == 12 and sum(calls) == 12 and pool.v.shape == (12, 16, L.IMAGE_DIM)
    batch = pool.batch(np.random.default_rng(0), 400)
    assert sum(calls) == 12  # drawing costs no encoding
    assert batch["v"].shape == (400, 16, L.IMAGE_DIM) and batch["ids"].shape == batch["answer_mask"].shape
    texts = [TOK.decode(r[~m]) for r, m in zip(batch["ids"], batch["answer_mask"])]
    assert any("?" in t for t in texts) and any("？" in t for t in texts)  # both languages
    prompts = {t for t in texts}
    assert any(t.startswith("how many") for t in prompts) and any(t.startswith("what is in the image") for t in prompts)
    again = pool.batch(np.random.default_rng(0), 400)
    assert torch.equal(batch["ids"], again["ids"])
    with pytest.raises(ValueError, match="n=0"):
        L.InstructionPool(enc, 0)


def test_batches_are_the_same_for_both_styles_apart_from_the_two_hop_target():
    enc = lambda images: torch.zeros(len(images), 16, L.IMAGE_DIM)  # noqa: E731
    a = L.two_hop_batch(np.random.default_rng(5), 16, enc, "cot")
    b = L.two_hop_batch(np.random.default_rng(5), 16, enc, "direct")
    assert a["ids"].shape[0] == b["ids"].shape[0] == 16
    prompts_a = [TOK.decode(r[~m][:20]) for r, m in zip(a["ids"], a["answer_mask"])]
    prompts_b = [TOK.decode(r[~m][:20]) for r, m in zip(b["ids"], b["answer_mask"])]
    assert prompts_a == prompts_b


def test_two_hop_names_per_style_and_seed():
    assert L.two_hop_name("cot") == "llava_cot_world" and L.two_hop_name("direct", 2) == "llava_direct_world_seed2"
    with pytest.raises(ValueError, match="seed 7"):
        L.two_hop_name("cot", 7)
    with pytest.raises(ValueError, match="style 'both'"):
        L.two_hop_name("both")


@pytest.mark.parametrize("name", [L.NAME, *(L.two_hop_name(s, k) for s in L.NAMES for k in L.TWO_HOP_SEEDS)])
def test_shipped_weights_are_registered_and_load(name):
    assert name in pretrained.recipes()
    assert pretrained.status(name) == "ok"


def test_shipped_llava_answers_instructions_about_unseen_scenes():
    model = pretrained.get(L.NAME, train=False, verbose=False)
    rows = L.evaluate(model, L.frozen_image_encoder(), L.instruction_set(8, seed=11))  # another seed than the recipe's
    assert L.accuracy_by_type(rows)["all"] >= MIN_ACCURACY


def test_shipped_two_hop_models_write_their_style_and_answer_with_a_color():
    encoder, items = L.frozen_state_encoder(), L.two_hop_set(30, seed=11)
    colors = set(COLORS) | set(COLOR_ZH.values())
    for style, name in L.NAMES.items():
        rows = L.evaluate_two_hop(pretrained.get(name, train=False, verbose=False), encoder, items)
        for r in rows:
            said, answer = I.split_rationale(r["output"], r["lang"])
            assert answer in colors, r["output"]
            assert (said.count("." if r["lang"] == "en" else "。") == 2) == (style == "cot"), r["output"]
