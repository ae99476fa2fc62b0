"""tasks.complementary: the 24.1 task's examples agree with their scenes, its exact joint is a distribution with
the stated ceilings, the corruptions do what they say, every experiment is drawn from the seed it is given; and the
fusion_basic models take (image, tokens)."""
import json
import math
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from course_utils.data import COLOR_ZH, COLORS, SHAPES, Tokenizer, questions
from course_utils.data.tokenizer import N_SPECIAL
from course_utils.nn import fusion_basic
from course_utils.tasks import complementary as comp
from course_utils.tasks.complementary import (
    TYPICAL_SHAPE,
    ComplementaryTask,
    add_pixel_noise,
    drop_modalities,
    mask_tokens,
    question,
    shape_probs,
    shuffle_pairs,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.for_world()


@pytest.fixture(scope="module")
def sample(tok):
    return ComplementaryTask().sample(64, rng=0, tokenizer=tok)


def test_labels_are_the_shape_of_the_object_with_the_asked_color(sample):
    for scene, color, label in zip(sample.scenes, sample.color.tolist(), sample.label.tolist()):
        colors = [o.color for o in scene.objects]
        assert len(set(colors)) == len(colors) == 3
        assert scene.objects[colors.index(COLORS[color])].shape == SHAPES[label]


def test_questions_name_the_asked_color_in_either_language(sample):
    for text, color in zip(sample.texts, sample.color.tolist()):
        assert COLORS[color] in text or COLOR_ZH[COLORS[color]] in text


def test_question_templates_are_the_worlds_shape_of_color_questions(sample):
    scene = sample.scenes[0]
    for lang in ("en", "zh"):
        world = {q.question for q in questions(scene, lang) if q.kind == "shape_of_color"}
        world |= {q.question for seed in range(8) for q in questions(scene, lang, seed) if q.kind == "shape_of_color"}
        ours = {question(o.color, lang, k) for o in scene.objects for k in range(2)}
        assert ours == world


def test_sample_shapes_and_token_vocabulary(sample, tok):
    assert sample.image.shape == (64, 3, 32, 32) and sample.image.dtype == torch.float32
    assert sample.tokens.shape == (64, 12) and sample.tokens.dtype == torch.long
    assert (sample.tokens == tok.unk_id).sum() == 0
    assert sample.image.min() >= 0 and sample.image.max() <= 1


def test_sampling_is_deterministic_from_the_seed(tok):
    a = ComplementaryTask().sample(8, rng=3, tokenizer=tok)
    b = ComplementaryTask().sample(8, rng=3, tokenizer=tok)
    assert torch.equal(a.image, b.image) and torch.equal(a.tokens, b.tokens) and torch.equal(a.label, b.label)


def test_sampling_needs_a_seed(tok):
    with pytest.raises(ValueError, match="rng="):
        ComplementaryTask().sample(8, rng=None, tokenizer=tok)


def test_exact_joint_is_a_distribution_with_uniform_answers():
    p, contents = ComplementaryTask().exact_joint()
    assert p.shape == (3, len(contents), 6) and len(contents) == math.comb(6, 3) * 27
    assert p.min() >= 0 and abs(p.sum() - 1) < 1e-12
    assert np.allclose(p.sum((1, 2)), 1 / 3)


def test_bayes_ceilings_match_the_closed_forms():
    acc = ComplementaryTask(typical_prob=0.6).bayes_accuracy()
    assert acc["text"] == pytest.approx(0.6)
    assert acc["image+text"] == pytest.approx(1.0)
    assert acc["chance"] == pytest.approx(1 / 3)
    assert 0.6 < acc["image"] < 0.62
    # independent uniform shapes: E[max count] / 3 = 17 / 27
    assert ComplementaryTask(typical_prob=1 / 3).bayes_accuracy()["image"] == pytest.approx(17 / 27)
    assert ComplementaryTask(typical_prob=1 / 3).bayes_accuracy()["text"] == pytest.approx(1 / 3)


def test_empirical_frequencies_follow_the_exact_joint(tok):
    task = ComplementaryTask()
    data = task.sample(3000, rng=1, tokenizer=tok)
    typical = torch.tensor([SHAPES.index(TYPICAL_SHAPE[COLORS[c]]) for c in data.color.tolist()])
    assert abs((data.label == typical).float().mean().item() - 0.6) < 0.03


def test_shape_probs_and_argument_errors():
    assert shape_probs("red", 0.6).tolist() == pytest.approx([0.6, 0.2, 0.2])
    with pytest.raises(ValueError, match="unknown color 'pink'"):
        shape_probs("pink", 0.5)
    with pytest.raises(ValueError, match="typical_prob"):
        ComplementaryTask(typical_prob=1.5)
    with pytest.raises(ValueError, match="n_objects"):
        ComplementaryTask(n_objects=7)
    with pytest.raises(ValueError, match="unknown language"):
        question("red", "fr")


def test_pixel_noise_keeps_a_valid_image_and_zero_noise_is_identity(sample):
    noisy = add_pixel_noise(sample.image, 0.5, gen())
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, sample.image)
    assert torch.equal(add_pixel_noise(sample.image, 0.0, gen()), sample.image)
    assert torch.equal(add_pixel_noise(sample.image, 0.5, gen(1)), add_pixel_noise(sample.image, 0.5, gen(1)))
    with pytest.raises(ValueError, match="sigma"):
        add_pixel_noise(sample.image, -0.1, gen())


def test_mask_tokens_touches_only_words(sample, tok):
    masked = mask_tokens(sample.tokens, 1.0, gen())
    words = sample.tokens >= N_SPECIAL
    assert (masked[words] == tok.unk_id).all()
    assert torch.equal(masked[~words], sample.tokens[~words])
    assert torch.equal(mask_tokens(sample.tokens, 0.0, gen()), sample.tokens)
    half = mask_tokens(sample.tokens, 0.5, gen())
    assert 0.35 < (half[words] == tok.unk_id).float().mean() < 0.65


def test_shuffle_pairs_moves_exactly_the_chosen_share(sample):
    out = shuffle_pairs(sample.tokens, 0.5, gen())
    moved = (out != sample.tokens).any(1).sum().item()
    assert moved <= 32 and moved >= 20           # a moved row may by chance receive an identical question
    assert sorted(map(tuple, out.tolist())) == sorted(map(tuple, sample.tokens.tolist()))
    assert torch.equal(shuffle_pairs(sample.tokens, 0.0, gen()), sample.tokens)


def test_drop_modalities_never_drops_both(sample):
    image, tokens = drop_modalities(sample.image, sample.tokens, 1.0, gen())
    lost_image = (image != sample.image).flatten(1).any(1)
    lost_text = (tokens != sample.tokens).any(1)
    assert (lost_image ^ lost_text).all()
    image, tokens = drop_modalities(sample.image, sample.tokens, 0.0, gen())
    assert torch.equal(image, sample.image) and torch.equal(tokens, sample.tokens)


def test_bag_of_words_ignores_order_and_padding(tok):
    enc = fusion_basic.BagOfWordsEncoder(tok.vocab_size, 8)
    ids = torch.tensor([[10, 11, 12, 0, 0]])
    assert torch.allclose(enc(ids), enc(torch.tensor([[12, 10, 11, 0, 0]])))
    assert torch.allclose(enc(ids), enc(torch.tensor([[10, 11, 12]])))


@pytest.mark.parametrize("name", ["ImageOnly", "TextOnly", "ConcatFusion", "EarlyFusion", "VectorConcatFusion"])
def test_fusion_models_map_image_and_tokens_to_logits(name, sample, tok):
    cls = getattr(fusion_basic, name)
    model = cls() if name == "ImageOnly" else cls(tok.vocab_size)
    assert model(sample.image[:5], sample.tokens[:5]).shape == (5, 3)


def test_fusion_models_reject_wrong_inputs(sample, tok):
    model = fusion_basic.ConcatFusion(tok.vocab_size)
    with pytest.raises(ValueError, match="expected images"):
        model(sample.image[:, :1], sample.tokens)
    with pytest.raises(ValueError, match="expected token ids"):
        model(sample.image, sample.tokens.float())


def test_decision_fusion_is_bayes_when_modalities_are_conditionally_independent():
    # p(y), p(v|y), p(t|y) with v and t independent given y: the product rule is the exact posterior
    g = np.random.default_rng(0)
    p_y = g.dirichlet(np.ones(3))
    p_v_y, p_t_y = g.dirichlet(np.ones(4), size=3), g.dirichlet(np.ones(5), size=3)   # (Y, V), (Y, T)
    joint = p_y[:, None, None] * p_v_y[:, :, None] * p_t_y[:, None, :]                  # (Y, V, T)
    post_v = torch.tensor(joint.sum(2) / joint.sum((0, 2)), dtype=torch.float64).T.log()  # (V, Y)
    post_t = torch.tensor(joint.sum(1) / joint.sum((0, 1)), dtype=torch.float64).T.log()  # (T, Y)
    fused = fusion_basic.decision_fusion(post_v[:, None].expand(4, 5, 3), post_t[None].expand(4, 5, 3),
                                         torch.tensor(p_y).log())
    exact = torch.tensor(joint / joint.sum(0), dtype=torch.float64).permute(1, 2, 0).log()  # (V, T, Y)
    assert torch.allclose(fused.log_softmax(-1), exact, atol=1e-10)


# ----------------------------------------------------------------------------------------------- experiments

TINY = comp.RunConfig(n_train=96, n_test=48, steps=3, batch_size=16, n_robust=24, levels=(0.0, 1.0),
                      shuffle=(0.0, 1.0))


def test_full_and_fast_configs():
    assert comp.RunConfig.fast().steps < comp.RunConfig().steps
    assert comp.RunConfig().levels[0] == 0.0 and comp.RunConfig().levels[-1] == 1.0


def test_the_records_were_made_with_the_full_config():
    full = json.loads(json.dumps(asdict(comp.RunConfig())))        # tuples as lists, as in the JSON
    assert comp.recorded()["config"] == full
    convergence = comp.recorded(comp.CONVERGENCE)
    assert convergence["config"] == full and comp.RunConfig().steps in convergence["steps"]


def test_data_depends_on_the_seed_and_train_differs_from_test(tok):
    task = ComplementaryTask()
    a_train, a_test = comp.make_data(task, TINY, 0, tok)
    b_train, _ = comp.make_data(task, TINY, 0, tok)
    c_train, _ = comp.make_data(task, TINY, 1, tok)
    assert torch.equal(a_train.image, b_train.image) and not torch.equal(a_train.image, c_train.image)
    assert not torch.equal(a_train.image[:len(a_test)], a_test.image)
    assert (len(a_train), len(a_test)) == (96, 48)


def test_batches_are_drawn_from_their_seed(sample):
    x = sample.tensors()
    first = [comp.batches(x, 8, seed=3)(k)[2] for k in range(3)]
    again = [comp.batches(x, 8, seed=3)(k)[2] for k in range(3)]
    other = [comp.batches(x, 8, seed=4)(k)[2] for k in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
    image, tokens, label = comp.batches_with_dropout(x, 1.0, 8, seed=3)(0)
    assert image.shape == (8, 3, 32, 32) and tokens.shape == (8, 12)


def test_scores_give_accuracy_and_cross_entropy_in_bits():
    label = torch.tensor([0, 1, 2, 0])
    uniform = comp.scores(torch.zeros(4, 3), label)
    assert uniform["ce_bits"] == pytest.approx(math.log2(3))
    sure = comp.scores(torch.eye(3)[label] * 50, label)
    assert sure["acc"] == 1.0 and sure["ce_bits"] < 1e-6


def test_new_model_draws_its_weights_from_the_seed(tok):
    a, b = (comp.new_model(fusion_basic.ConcatFusion, tok.vocab_size, 5) for _ in range(2))
    c = comp.new_model(fusion_basic.ConcatFusion, tok.vocab_size, 6)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_new_model_matches_manual_seed_and_leaves_the_global_rng(tok):
    torch.manual_seed(5)
    by_hand = fusion_basic.ConcatFusion(tok.vocab_size)            # what the notebook's cells do
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ours = comp.new_model(fusion_basic.ConcatFusion, tok.vocab_size, 5)
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(by_hand.parameters(), ours.parameters()))


def test_fused_by_steps_trains_one_model_per_length(tok):
    acc = comp.fused_by_steps(0, replace(TINY, n_train=64, n_test=32, batch_size=16), tok, (2, 4))
    assert list(acc) == ["2", "4"] and all(0.0 <= a <= 1.0 for a in acc.values())
    again = comp.fused_by_steps(0, replace(TINY, n_train=64, n_test=32, batch_size=16), tok, (4,))
    assert again["4"] == acc["4"]                                  # each length is its own run, from the seed


def test_corrupt_and_robustness_curves(sample, tok):
    image, tokens = comp.corrupt(sample, "text", 1.0, 10, seed=0)
    assert image.shape[0] == tokens.shape[0] == 10 and (tokens[tokens >= N_SPECIAL] == tok.unk_id).all()
    with pytest.raises(ValueError, match="kind 'audio'"):
        comp.corrupt(sample, "audio", 0.5, 10, seed=0)
    models = {"text only": fusion_basic.TextOnly(tok.vocab_size)}
    curves = comp.robustness_curves(models, sample, replace(TINY, n_robust=10), seed=0)
    assert set(curves) == {"image", "text"} and len(curves["text"]["text only"]) == len(TINY.levels)
    assert curves["image"]["text only"][0] == curves["image"]["text only"][1]    # pixels do not reach it


def test_run_seed_runs_every_experiment(tok):
    a = comp.run_seed(0, TINY, tok)
    assert set(a["acc"]) == {"image only", "text only", "image + text (fused)", "fused + modality dropout"}
    assert set(a["shuffled"]) == {"0.0", "1.0"}
    assert set(a["fusion"]) == {"early (pixels)", "feature (first feature map)", "late feature (pooled vectors)",
                                "decision (product of the unimodal models)"}
    assert all(0 <= v <= 1 for v in a["acc"].values())


def test_recorded_runs_read_over_seeds(tmp_path):
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"seeds": {"0": {"acc": {"m": 0.5}}, "1": {"acc": {"m": 0.7}}}}))
    assert comp.over_seeds(comp.recorded(path), "acc", "m") == [0.5, 0.7]
    with pytest.raises(FileNotFoundError, match="complementary_seeds.py"):
        comp.recorded(tmp_path / "missing.json")


def test_the_record_matches_the_code_that_reads_it():
    from dataclasses import asdict

    record = comp.recorded()
    assert record["config"] == json.loads(json.dumps(asdict(comp.RunConfig())))
    assert len(record["seeds"]) >= 3 and record["threads"] == 1
    for run in record["seeds"].values():
        assert set(run["robust"]["image"]) == set(run["acc"])
        assert all(len(curve) == len(record["config"]["levels"]) for curve in run["robust"]["text"].values())
