"""Specifications of course_utils.nn.vqa: every answerer maps (image, question) to one logit per answer, reads both
languages, keeps its attention, rejects bad input by name, and the relation network learns from state descriptions."""

import pytest
import torch
import torch.nn.functional as F

from course_utils.data import ANSWERS, QUESTION_VECTOR_SIZE, Tokenizer, VQADataset, questions, sample_scene
from course_utils.data.scene import Obj, Scene
from course_utils.nn.vqa import (
    CNNMLP,
    STATE_SIZE,
    ImageOnlyCNN,
    QuestionEncoder,
    QuestionOnly,
    RelationNetwork,
    TransformerAnswerer,
    cell_coordinates,
    object_states,
    vqa_loss,
)

TOK = Tokenizer.for_world()
V = TOK.vocab_size
N_ANSWERS = len(ANSWERS)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def batch():
    ds = VQADataset(6, seed=0)
    return ds.rgb, ds.tokens  # (6, 3, 32, 32), (6, T)


# --- question encoder -------------------------------------------------------------------------------------------------


def test_question_encoder_reads_english_and_chinese_questions_of_one_scene():
    scene = sample_scene(0, n_objects=3)
    en, zh = questions(scene, "en"), questions(scene, "zh")
    assert len(en) == len(zh) > 0
    ids_en, ids_zh = TOK.batch([q.question for q in en]), TOK.batch([q.question for q in zh])
    assert (ids_en != TOK.unk_id).all() and (ids_zh != TOK.unk_id).all()  # both languages in one vocabulary
    enc = QuestionEncoder(V, dim=16).eval()
    q_en, q_zh = enc(ids_en), enc(ids_zh)
    assert q_en.shape == q_zh.shape == (len(en), 16)
    assert torch.isfinite(q_en).all() and torch.isfinite(q_zh).all()
    assert not torch.allclose(q_en, q_zh)


def test_question_encoder_ignores_the_padding_after_the_question():
    enc = QuestionEncoder(V, dim=16).eval()
    short, long = "how many objects are there?", "what color is the object furthest from the red circle?"
    alone = enc(TOK.batch([short]))
    padded = enc(TOK.batch([short, long]))[:1]  # right-padded to the longer question
    assert TOK.batch([short, long]).shape[1] > TOK.batch([short]).shape[1]
    torch.testing.assert_close(alone, padded, atol=1e-6, rtol=0)


def test_question_encoder_depends_on_word_order():
    enc = QuestionEncoder(V, dim=16).eval()
    a = TOK.batch(["is the red circle to the left of the blue square?"])
    b = TOK.batch(["is the blue square to the left of the red circle?"])
    assert sorted(a[0].tolist()) == sorted(b[0].tolist())  # the same words ...
    assert not torch.allclose(enc(a), enc(b))  # ... in another order: another question


@pytest.mark.parametrize("bad", [V, V + 7, -1])
def test_token_ids_outside_the_vocabulary_are_named(bad):
    tokens = TOK.batch(["how many objects are there?"])
    tokens[0, 2] = bad
    with pytest.raises(ValueError, match=rf"token id {bad} is outside the vocabulary \[0, {V}\)"):
        QuestionEncoder(V)(tokens)
    with pytest.raises(ValueError, match=rf"token id {bad} is outside the vocabulary \[0, {V}\)"):
        TransformerAnswerer(V, dim=16, heads=2, depth=1)(torch.rand(1, 3, 32, 32), tokens)


# --- every model ------------------------------------------------------------------------------------------------------

MODELS = {
    "question_only": lambda: QuestionOnly(V, d_question=16, hidden=32),
    "image_only": lambda: ImageOnlyCNN(width=8, hidden=32),
    "cnn_mlp": lambda: CNNMLP(V, width=8, d_question=16, hidden=32),
    "relation_network": lambda: RelationNetwork(V, d_question=16, cnn_width=8, hidden=32, g_layers=2),
    "transformer": lambda: TransformerAnswerer(V, dim=16, heads=2, depth=2),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_answerer_gives_one_logit_per_answer(name, batch):
    images, tokens = batch
    logits = MODELS[name]().eval()(images, tokens)
    assert logits.shape == (6, N_ANSWERS) and torch.isfinite(logits).all()


def test_baselines_ignore_the_modality_they_do_not_read(batch):
    images, tokens = batch
    q_only, i_only = MODELS["question_only"]().eval(), MODELS["image_only"]().eval()
    assert torch.equal(q_only(images, tokens), q_only(torch.rand_like(images), tokens))
    assert torch.equal(i_only(images, tokens), i_only(images, tokens.flip(0)))
    cnn_mlp = MODELS["cnn_mlp"]().eval()
    assert not torch.allclose(cnn_mlp(images, tokens), cnn_mlp(images, tokens.flip(0)))


def test_a_bad_question_leaves_the_batchnorm_statistics_untouched(batch):
    images, tokens = batch
    model = MODELS["cnn_mlp"]().train()
    before = model.cnn.net[1].running_mean.clone()
    bad = tokens.clone()
    bad[2, 1] = -5
    with pytest.raises(ValueError, match="token id -5"):
        model(images, bad)
    assert torch.equal(model.cnn.net[1].running_mean, before)


def test_fixed_size_models_name_the_image_size(batch):
    _, tokens = batch
    with pytest.raises(ValueError, match="expected 32×32 images, got 24×24"):
        MODELS["cnn_mlp"]()(torch.rand(6, 3, 24, 24), tokens)
    with pytest.raises(ValueError, match="6 images .* but 5 questions"):
        MODELS["cnn_mlp"]()(torch.rand(6, 3, 32, 32), tokens[:5])


# --- relation network -------------------------------------------------------------------------------------------------


def state_rn(**kw):
    return RelationNetwork(d_obj=STATE_SIZE, d_question=QUESTION_VECTOR_SIZE, hidden=32, g_layers=2, **kw).eval()


def test_relation_network_on_states_does_not_depend_on_object_order():
    rn = state_rn()
    states, q = torch.randn(3, 6, STATE_SIZE), torch.randn(3, QUESTION_VECTOR_SIZE)
    perm = torch.randperm(6)
    torch.testing.assert_close(rn(states, q), rn(states[:, perm], q), atol=1e-5, rtol=0)


def test_relation_network_sums_g_over_all_ordered_pairs():
    rn = state_rn()
    o, q = torch.randn(1, 3, STATE_SIZE), torch.randn(1, QUESTION_VECTOR_SIZE)
    pairs = [torch.cat([o[0, i], o[0, j], q[0]]) for i in range(3) for j in range(3)]  # 9 ordered pairs, i = j too
    expected = rn.f(rn.g(torch.stack(pairs)).sum(0, keepdim=True))
    torch.testing.assert_close(rn(o, q), expected, atol=1e-5, rtol=0)


def test_masked_objects_do_not_change_the_answer():
    rn = state_rn()
    states, q = torch.randn(2, 4, STATE_SIZE), torch.randn(2, QUESTION_VECTOR_SIZE)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    junk = states.clone()
    junk[~mask] = 100.0
    torch.testing.assert_close(rn(states, q, mask), rn(junk, q, mask), atol=1e-5, rtol=0)
    torch.testing.assert_close(rn(states, q, mask)[1:], rn(states[1:, :2], q[1:]), atol=1e-5, rtol=0)


def test_relation_network_objects_are_cnn_cells_with_their_centres():
    rn = RelationNetwork(cnn_width=8, hidden=16, g_layers=1, d_question=4).eval()
    objects = rn.objects(torch.rand(2, 3, 32, 32))
    assert objects.shape == (2, 16, 8 + 2)  # 32 / 2³ = 4 -> a 4×4 grid of objects
    assert torch.equal(objects[0, :, -2:], cell_coordinates(4, 4))
    assert torch.allclose(objects[0, :5, -2:], torch.tensor([[0.125, 0.125], [0.375, 0.125], [0.625, 0.125],
                                                             [0.875, 0.125], [0.125, 0.375]]))


def test_relation_network_names_wrong_inputs():
    with pytest.raises(ValueError, match=rf"expected object states \(B, N, {STATE_SIZE}\), got shape \(2, 6, 5\)"):
        state_rn()(torch.randn(2, 6, 5), torch.randn(2, QUESTION_VECTOR_SIZE))
    with pytest.raises(ValueError, match=rf"expected question vectors \(B, {QUESTION_VECTOR_SIZE}\)"):
        state_rn()(torch.randn(2, 6, STATE_SIZE), torch.ones(2, 4, dtype=torch.long))


def test_object_states_describe_each_object():
    scene = Scene([Obj("square", "blue", "large", 0.25, 0.75), Obj("circle", "red", "small", 0.6, 0.1)])
    states, mask = object_states([scene, Scene([Obj("triangle", "orange")])])
    assert states.shape == (2, 2, STATE_SIZE) and mask.tolist() == [[True, True], [True, False]]
    blue_square = [0, 0, 1, 0, 0, 0] + [0, 1, 0] + [1, 0.25, 0.75]  # color one-hot, shape one-hot, large, x, y
    assert states[0, 0].tolist() == blue_square
    assert states[1, 1].abs().sum() == 0


def test_relation_network_on_state_descriptions_learns_sort_of_clevr():
    ds = VQADataset(64, seed=0, mode="sort_of_clevr")
    states, _ = object_states(ds.scenes)  # (64, 6, STATE_SIZE)
    q, answers = ds.qvecs, ds.answer_ids  # (64, 11), (64,)
    rn = state_rn().train()
    opt = torch.optim.Adam(rn.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = vqa_loss(rn(states, q), answers)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


# --- transformer answerer ---------------------------------------------------------------------------------------------


def test_transformer_exposes_its_attention_over_patches(batch):
    images, tokens = batch
    model = TransformerAnswerer(V, patch_size=8, dim=16, heads=2, depth=3).eval()
    logits, attn = model(images, tokens, return_attention=True)
    T = tokens.size(1)
    assert logits.shape == (6, N_ANSWERS) and attn.shape == (6, 3, 2, T, 16)  # 32/8 = 4 -> 16 patches
    torch.testing.assert_close(attn.sum(-1), torch.ones(6, 3, 2, T), atol=1e-5, rtol=0)
    assert torch.equal(model.last_attention, attn)
    assert model.attention_maps().shape == (6, 3, 2, T, 4, 4)


def test_transformer_ignores_padding_tokens(batch):
    images, tokens = batch
    model = TransformerAnswerer(V, dim=16, heads=2, depth=2).eval()
    longer = torch.cat([tokens, torch.full((6, 3), TOK.pad_id)], dim=1)
    torch.testing.assert_close(model(images, tokens), model(images, longer), atol=1e-5, rtol=0)


def test_image_size_not_divisible_by_patch_size_is_named(batch):
    _, tokens = batch
    with pytest.raises(ValueError, match="image size 30 is not divisible by patch size 4"):
        TransformerAnswerer(V, image_size=30, patch_size=4)
    model = TransformerAnswerer(V, image_size=32, patch_size=4, dim=16, heads=2, depth=1)
    with pytest.raises(ValueError, match="image size 30 is not divisible by patch size 4"):
        model(torch.rand(6, 3, 30, 30), tokens)


def test_a_rejected_input_leaves_the_last_attention_in_place(batch):
    images, tokens = batch
    model = TransformerAnswerer(V, dim=16, heads=2, depth=1).eval()
    model(images, tokens)
    kept = model.last_attention.clone()
    for bad_images, bad_tokens in ((torch.rand(6, 3, 30, 30), tokens), (images, tokens + V)):
        with pytest.raises(ValueError):
            model(bad_images, bad_tokens)
        assert torch.equal(model.last_attention, kept)


# --- loss -------------------------------------------------------------------------------------------------------------


def test_vqa_loss_is_cross_entropy_over_the_answers():
    logits, answers = torch.randn(5, N_ANSWERS), torch.tensor([0, 3, N_ANSWERS - 1, 7, 1])
    torch.testing.assert_close(vqa_loss(logits, answers), F.cross_entropy(logits, answers))


@pytest.mark.parametrize("bad", [N_ANSWERS, 99, -1])
def test_vqa_loss_names_an_answer_index_out_of_range(bad):
    with pytest.raises(ValueError, match=rf"answer index {bad} is outside \[0, {N_ANSWERS}\)"):
        vqa_loss(torch.randn(3, N_ANSWERS), torch.tensor([0, bad, 1]))
