"""Specifications of notebook 24.7's data and helpers: course_utils.data.counting, course_utils.tasks.vit_tasks,
the ``vit_count`` recipe and its shipped weights."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from course_utils import metrics, pretrained
from course_utils.data import counting as C
from course_utils.nn import SmallCNN, VisionTransformer
from course_utils.recipes import vit_count as R
from course_utils.report import Spread
from course_utils.tasks import vit_tasks as T
from course_utils.train import History, count_parameters, predict

# ----------------------------------------------------------------------------- counting scenes (data.counting)


def test_count_labels_are_the_number_of_objects_minus_one():
    x, y = C.count_scenes(np.random.default_rng(0), 64)
    assert x.shape == (64, 3, 32, 32) and y.shape == (64,)
    assert set(y.tolist()) == {0, 1, 2, 3}
    # every object is drawn on the black background: more objects, more colored pixels on average
    colored = (x.amax(1) > 0).float().mean((1, 2))
    assert colored[y == 3].mean() > colored[y == 0].mean()


def test_count_dataset_is_fixed_by_its_seed_and_its_prefixes_are_the_smaller_sets():
    a, b = C.count_dataset(16, seed=1), C.count_dataset(16, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(C.count_dataset(5, seed=1)[0], a[0][:5])
    assert not torch.equal(C.count_dataset(16, seed=2)[0], a[0])


def test_count_stream_draws_other_scenes_than_the_set_of_the_same_seed():
    x_set, _ = C.count_dataset(8, seed=3)
    x_stream, _ = C.count_stream(8, seed=3, augment=False)(0)
    assert not any(torch.equal(a, b) for a in x_set for b in x_stream)


def test_count_stream_gives_fresh_batches_and_leaves_the_global_random_state_alone():
    state = torch.random.get_rng_state()
    stream = C.count_stream(8, seed=0)
    (x0, y0), (x1, _) = stream(0), stream(1)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert x0.shape == (8, 3, 32, 32) and y0.dtype == torch.long
    assert not torch.equal(x0, x1)
    assert torch.equal(C.count_stream(8, seed=0)(0)[0], x0) and not torch.equal(C.count_stream(8, seed=1)(0)[0], x0)


def test_dihedral_keeps_pixel_content_and_applies_all_eight_transforms():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4).repeat(64, 1, 1, 1)
    out = C.dihedral(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal(out.flatten(1).sort(1).values, x.flatten(1).sort(1).values)  # a permutation of pixels
    assert len({tuple(o[0].flatten().tolist()) for o in out[::2]}) == 8


def test_bad_counting_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="square"):
        C.dihedral(torch.zeros(1, 3, 4, 6))
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        C.count_scenes(0, 0)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        C.count_stream(0, seed=0)


# ----------------------------------------------------------------------------- digits, streams, seeds


def test_digits_split_is_stratified_8x8_in_unit_range_and_drawn_with_its_seed():
    x_tr, y_tr, x_te, y_te = T.load_digits_split(seed=0)
    assert x_tr.shape[1:] == (1, 8, 8) and len(x_tr) + len(x_te) == 1797
    assert 0 <= x_tr.min() and x_tr.max() <= 1
    assert torch.bincount(y_te, minlength=10).min() >= 40
    assert torch.equal(T.load_digits_split(seed=0)[3], y_te)
    assert not torch.equal(T.load_digits_split(seed=1)[2], x_te)


def test_random_shift_moves_images_by_at_most_one_pixel():
    x = torch.zeros(16, 1, 8, 8)
    x[:, :, 4, 4] = 1
    out = T.random_shift(x, torch.Generator().manual_seed(0), max_shift=1)
    rows, cols = (out[:, 0] == 1).nonzero()[:, 1], (out[:, 0] == 1).nonzero()[:, 2]
    assert out.sum() == 16 and (rows - 4).abs().max() <= 1 and (cols - 4).abs().max() <= 1
    assert ((rows != 4) | (cols != 4)).any()


def test_balanced_order_prefixes_hold_every_class_and_depend_on_the_seed():
    y = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    order = T.balanced_order(y, seed=0)
    assert sorted(order.tolist()) == list(range(100))
    assert y[order[:30]].bincount().tolist() == [10, 10, 10]
    assert not torch.equal(T.balanced_order(y, seed=1)[:30], order[:30])


def test_tensor_stream_reshuffles_and_covers_the_data():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    stream = T.tensor_stream(x, y, 5, seed=0)
    seen = torch.cat([stream(i)[1] for i in range(2)])
    assert sorted(seen.tolist()) == list(range(10))


def test_seeded_builds_the_same_model_for_the_same_seed_without_touching_the_global_state():
    state = torch.random.get_rng_state()
    a, b, c = (T.seeded(lambda: SmallCNN(1, 10, 4), s) for s in (0, 0, 1))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.features[0][0].weight, b.features[0][0].weight)
    assert not torch.equal(a.features[0][0].weight, c.features[0][0].weight)


def test_models_of_similar_size():
    vit = VisionTransformer(T.count_vit_config())
    width = T.cnn_width_like(count_parameters(vit), 3, C.NUM_COUNT_CLASSES)
    assert width == 23
    cnn = SmallCNN(3, C.NUM_COUNT_CLASSES, width)
    assert abs(count_parameters(cnn) - count_parameters(vit)) / count_parameters(vit) < 0.02


# ----------------------------------------------------------------------------- training, curves, data efficiency


def test_training_a_tiny_model_on_digits_beats_chance():
    x_tr, y_tr, x_te, y_te = T.load_digits_split(seed=0)
    model = T.seeded(lambda: SmallCNN(1, 10, 8), 0)
    calls = []

    def train_mode_seen(m):  # an extra metric, evaluated beside the accuracy (the model is in eval mode then)
        calls.append(m.training)
        return float(len(calls))

    hist = T.train_classifier(model, T.tensor_stream(x_tr, y_tr, 64, seed=0), x_te, y_te, steps=40,
                              eval_every=20, extra_eval={"calls": train_mode_seen}, progress=False)
    assert hist.metric("test_acc")[0] == [20, 40] and hist.metric("calls") == ([20, 40], [1.0, 2.0])
    assert calls == [False, False]
    assert hist.last("test_acc") == metrics.accuracy(predict(model, x_te), y_te) > 0.5


def test_curve_over_seeds_gives_mean_min_and_max_per_evaluation():
    hists = []
    for accs in ([0.2, 0.6], [0.4, 0.8], [0.3, 1.0]):
        h = History()
        h.evals = [{"step": 10, "test_acc": accs[0]}, {"step": 20, "test_acc": accs[1]}]
        hists.append(h)
    steps, mean, lo, hi = T.curve_over_seeds(hists)
    assert steps == [10, 20]
    np.testing.assert_allclose(mean, [0.3, 0.8])
    np.testing.assert_allclose(lo, [0.2, 0.6])
    np.testing.assert_allclose(hi, [0.4, 1.0])


def test_data_efficiency_gives_one_row_per_size_seed_and_model():
    x_tr, y_tr, x_te, y_te = T.load_digits_split(seed=0)
    make = {"cnn": lambda: SmallCNN(1, 10, 4)}
    rows = T.data_efficiency(make, (x_tr, y_tr), (x_te[:50], y_te[:50]), [20, 40], [0, 1], steps=3, progress=False)
    assert [(r.model, r.n_train, r.seed) for r in rows] == [("cnn", 20, 0), ("cnn", 20, 1), ("cnn", 40, 0),
                                                            ("cnn", 40, 1)]
    table = T.efficiency_table(rows)
    assert list(table["cnn"]) == [20, 40] and isinstance(table["cnn"][20], Spread) and table["cnn"][20].n == 2
    assert table["cnn"][20].values == (rows[0].test_acc, rows[1].test_acc)
    again = T.data_efficiency(make, (x_tr, y_tr), (x_te[:50], y_te[:50]), [20], [1], steps=3, progress=False)
    assert again[0].test_acc == rows[1].test_acc  # a run is fixed by its seed
    with pytest.raises(ValueError, match="sizes"):
        T.data_efficiency(make, (x_tr, y_tr), (x_te, y_te), [0], [0], steps=1)


def test_gaps_by_seed_pairs_the_models_seed_by_seed():
    rows = [T.EfficiencyRow("cnn", 10, 0, 0.9), T.EfficiencyRow("vit", 10, 0, 0.6),
            T.EfficiencyRow("cnn", 10, 1, 0.8), T.EfficiencyRow("vit", 10, 1, 0.7),
            T.EfficiencyRow("cnn", 20, 0, 1.0)]
    assert T.gaps_by_seed(rows, "cnn", "vit", 10) == pytest.approx([0.3, 0.1])
    with pytest.raises(ValueError, match="no seed has both"):
        T.gaps_by_seed(rows, "cnn", "vit", 20)


# ----------------------------------------------------------------------------- cost of attention, readings


def test_vit_flops_split_into_quadratic_attention_and_linear_rest():
    f4, f2 = T.vit_flops(32, 4, 64, 4), T.vit_flops(32, 2, 64, 4)
    assert f4["tokens"] == 65 and f2["tokens"] == 257
    assert f4["total"] == f4["embed"] + f4["projections"] + f4["attention"] + f4["mlp"]
    # halving the patch size gives ~4× tokens: attention ~16× the cost, projections and MLP ~4×
    assert 15 < f2["attention"] / f4["attention"] < 16 and 3.9 < f2["mlp"] / f4["mlp"] < 4
    with pytest.raises(ValueError, match="not divisible"):
        T.vit_flops(30, 4, 64, 4)


def test_vit_flops_matches_a_measured_count():
    from torch.utils.flop_counter import FlopCounterMode

    model = VisionTransformer(T.count_vit_config()).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 32, 32), return_attn=True)  # the explicit path: its matmuls are counted
    cfg = model.config
    predicted = T.vit_flops(32, cfg.patch_size, cfg.dim, cfg.depth, mlp_ratio=cfg.mlp_ratio)["total"]
    head = 2 * cfg.dim * cfg.num_classes  # the classification head is not part of eq. (24.7.7)
    assert counter.get_total_flops() == predicted + head


def test_similarity_by_distance_averages_over_pairs_at_each_grid_distance():
    pe = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    sim = (pe @ pe.T).view(4, 4, 4, 4)  # sim[i, j] = cosine of position (i, j) with every position
    by_d = T.similarity_by_distance(sim)
    assert sorted(by_d) == [1, 2, 3, 4, 5, 6]
    corners = sim[0, 0, 3, 3] + sim[0, 3, 3, 0] + sim[3, 0, 0, 3] + sim[3, 3, 0, 0]  # the only pairs 6 apart
    torch.testing.assert_close(torch.tensor(by_d[6]), corners / 4)


def test_object_patches_marks_the_patches_an_object_touches():
    x = torch.zeros(1, 3, 16, 16)
    x[0, 0, 6:10, 1:3] = 1.0  # rows 6-9 cross the border between patch rows 0 and 1 (patch 8)
    assert T.object_patches(x, 8).tolist() == [[True, False, True, False]]
    assert T.mass_on(torch.tensor([[3.0, 1.0, 0.0, 0.0]]), T.object_patches(x, 8)) == 0.75


# ----------------------------------------------------------------------------- the vit_count recipe


def test_vit_count_recipe_does_not_import_the_notebook_tasks():
    code = "import sys, course_utils.recipes.vit_count; print('course_utils.tasks.vit_tasks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_vit_count_recipe_builds_the_live_counting_vit_deterministically_without_reseeding():
    assert R.config() == T.count_vit_config(fast=False)
    state = torch.random.get_rng_state()
    a, b = R.build(), R.build()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_vit_count_recipe_fast_training_is_deterministic_and_learns():
    recipe = pretrained.recipes()["vit_count"]
    x, y = C.count_dataset(R.FAST_TEST_SIZE, seed=R.TEST_SEED)
    untrained = metrics.accuracy(predict(recipe.build(), x), y)
    model, again = recipe.build(), recipe.build()
    m = recipe.train(model, True)
    assert recipe.train(again, True)["test_acc"] == m["test_acc"]
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))
    assert (m["steps"], m["batch_size"]) == (R.FAST_STEPS, R.FAST_BATCH_SIZE)
    assert m["test_acc"] == metrics.accuracy(predict(model, x), y) >= untrained + 0.2


def test_shipped_vit_count_weights_give_the_manifest_accuracy_on_the_recipe_test_set():
    assert pretrained.status("vit_count") == "ok", "data/checkpoints/vit_count.safetensors must ship with its manifest"
    model = pretrained.get("vit_count", train=False, verbose=False).cpu()
    x, y = C.count_dataset(R.TEST_SIZE, seed=R.TEST_SEED)
    recorded = pretrained.read_manifest()["vit_count"]["metrics"]["test_acc"]
    assert metrics.accuracy(predict(model, x), y) == pytest.approx(recorded, abs=1e-4)
