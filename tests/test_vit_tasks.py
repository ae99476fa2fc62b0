"""Specifications of course_utils.tasks.vit_tasks (notebook 24.7) and the ``vit_count`` recipe."""
import numpy as np
import pytest
import torch

from course_utils import pretrained
from course_utils.nn import SmallCNN, VisionTransformer
from course_utils.tasks import vit_tasks as T


def test_count_labels_are_the_number_of_objects_minus_one():
    x, y = T.count_scenes(np.random.default_rng(0), 64)
    assert x.shape == (64, 3, 32, 32) and y.shape == (64,)
    assert set(y.tolist()) <= {0, 1, 2, 3} and len(set(y.tolist())) == 4
    # every object is drawn on the black background: more objects, more colored pixels on average
    colored = (x.amax(1) > 0).float().mean((1, 2))
    assert colored[y == 3].mean() > colored[y == 0].mean()


def test_count_dataset_is_deterministic_and_test_set_differs_from_training_data():
    a, b = T.count_dataset(16, seed=1), T.count_dataset(16, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(T.count_test_set(16)[0], a[0])


def test_dihedral_keeps_pixel_content_and_applies_all_eight_transforms():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4).repeat(64, 1, 1, 1)
    out = T.dihedral(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal(out.flatten(1).sort(1).values, x.flatten(1).sort(1).values)  # a permutation of pixels
    assert len({tuple(o[0].flatten().tolist()) for o in out[::2]}) == 8


def test_dihedral_rejects_non_square_images():
    with pytest.raises(ValueError, match="square"):
        T.dihedral(torch.zeros(1, 3, 4, 6))


def test_count_stream_gives_fresh_batches():
    stream = T.count_stream(8, seed=0)
    (x0, y0), (x1, _) = stream(0), stream(1)
    assert x0.shape == (8, 3, 32, 32) and y0.dtype == torch.long
    assert not torch.equal(x0, x1)


def test_digits_split_is_stratified_8x8_in_unit_range():
    x_tr, y_tr, x_te, y_te = T.load_digits_split()
    assert x_tr.shape[1:] == (1, 8, 8) and len(x_tr) + len(x_te) == 1797
    assert 0 <= x_tr.min() and x_tr.max() <= 1
    assert torch.bincount(y_te, minlength=10).min() >= 40


def test_random_shift_moves_images_by_at_most_one_pixel():
    x = torch.zeros(16, 1, 8, 8)
    x[:, :, 4, 4] = 1
    out = T.random_shift(x, torch.Generator().manual_seed(0), max_shift=1)
    rows, cols = (out[:, 0] == 1).nonzero()[:, 1], (out[:, 0] == 1).nonzero()[:, 2]
    assert out.sum() == 16 and (rows - 4).abs().max() <= 1 and (cols - 4).abs().max() <= 1


def test_balanced_order_prefixes_hold_every_class():
    y = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    order = T.balanced_order(y)
    assert sorted(order.tolist()) == list(range(100))
    assert set(y[order[:3]].tolist()) == {0, 1, 2}


def test_tensor_stream_reshuffles_and_covers_the_data():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    stream = T.tensor_stream(x, y, 5)
    seen = torch.cat([stream(i)[1] for i in range(2)])
    assert sorted(seen.tolist()) == list(range(10))


def test_models_of_similar_size():
    vit = VisionTransformer(T.count_vit_config())
    width = T.cnn_width_like(T.count_params(vit), 3, T.NUM_COUNT_CLASSES)
    cnn = SmallCNN(3, T.NUM_COUNT_CLASSES, width)
    assert abs(T.count_params(cnn) - T.count_params(vit)) / T.count_params(vit) < 0.1


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
    assert abs(counter.get_total_flops() - predicted) / predicted < 0.01


def test_cosine_similarity_grid_diagonal_is_one_and_cls_row_is_dropped():
    pe = torch.randn(1, 17, 8)
    grid = T.cosine_similarity_grid(pe)
    assert grid.shape == (4, 4, 4, 4)
    torch.testing.assert_close(grid[2, 3, 2, 3], torch.tensor(1.0))
    with pytest.raises(ValueError, match="square grid"):
        T.cosine_similarity_grid(torch.randn(7, 8))


def test_training_a_tiny_model_on_digits_beats_chance():
    torch.manual_seed(0)
    x_tr, y_tr, x_te, y_te = T.load_digits_split()
    model = SmallCNN(1, 10, 8)
    T.train_classifier(model, T.tensor_stream(x_tr, y_tr, 64), x_te, y_te, steps=40, plot=False, progress=False)
    assert T.accuracy(model, x_te, y_te) > 0.5


def test_data_efficiency_returns_one_row_per_model_and_size():
    x_tr, y_tr, x_te, y_te = T.load_digits_split()
    rows = T.data_efficiency({"cnn": lambda: SmallCNN(1, 10, 4)}, x_tr, y_tr, x_te[:50], y_te[:50], [20, 40],
                             steps=3, progress=False)
    assert [(r.model, r.n_train) for r in rows] == [("cnn", 20), ("cnn", 40)]
    assert T.efficiency_table(rows)["cnn"].keys() == {20, 40}
    with pytest.raises(ValueError, match="sizes"):
        T.data_efficiency({"cnn": lambda: SmallCNN(1, 10, 4)}, x_tr, y_tr, x_te, y_te, [0], steps=1)


def test_vit_count_recipe_is_registered_and_its_fast_training_runs():
    recipe = pretrained.recipes()["vit_count"]
    model = recipe.build()
    assert isinstance(model, VisionTransformer) and model.config.num_classes == T.NUM_COUNT_CLASSES
    metrics = recipe.train(model, True)
    assert 0 <= metrics["test_acc"] <= 1 and metrics["steps"] > 0


def test_shipped_vit_count_weights_count_well():
    assert pretrained.status("vit_count") == "ok", "data/checkpoints/vit_count.safetensors must ship with its manifest"
    model = pretrained.get("vit_count", train=False, verbose=False).cpu()
    x, y = T.count_test_set(500)
    assert T.accuracy(model, x, y) >= 0.95


def test_object_patches_marks_the_patches_an_object_touches():
    x = torch.zeros(1, 3, 16, 16)
    x[0, 0, 6:10, 1:3] = 1.0  # rows 6-9 cross the border between patch rows 0 and 1 (patch 8)
    assert T.object_patches(x, 8).tolist() == [[True, False, True, False]]
    assert T.mass_on(torch.tensor([[3.0, 1.0, 0.0, 0.0]]), T.object_patches(x, 8)) == 0.75


def test_similarity_by_distance_averages_over_pairs_at_each_grid_distance():
    pe = torch.randn(17, 8)
    sim = T.cosine_similarity_grid(pe)
    by_d = T.similarity_by_distance(sim)
    assert sorted(by_d) == [1, 2, 3, 4, 5, 6]
    corners = sim[0, 0, 3, 3] + sim[0, 3, 3, 0] + sim[3, 0, 0, 3] + sim[3, 3, 0, 0]  # the only pairs 6 apart
    torch.testing.assert_close(torch.tensor(by_d[6]), corners / 4)
