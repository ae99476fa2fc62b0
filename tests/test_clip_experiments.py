"""The measurements of notebook 24_04 (CLIP): retrieval relevance, probes, swap test, loss floor, widgets."""
import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from course_utils import data as W  # noqa: E402
from course_utils.recipes import clip_world as R  # noqa: E402
from course_utils.tasks import clip_experiments as X  # noqa: E402
from course_utils.viz import clip_widgets  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return X.build_live(fast=True).eval()


def test_retrieval_relevance_marks_exactly_the_captions_true_of_each_image():
    rs = X.retrieval_set(60, seed=3)
    assert rs.relevant.diagonal().all()
    for i in range(0, 60, 7):
        true = set(W.all_captions(rs.scenes[i], "en")) | set(W.all_captions(rs.scenes[i], "zh"))
        for j in range(60):
            assert bool(rs.relevant[i, j]) == (rs.captions[j] in true)


def test_retrieval_of_a_perfect_scorer_has_full_recall_but_not_exact_pair_recall(tiny, monkeypatch):
    rs = X.retrieval_set(40, seed=4)
    monkeypatch.setattr(X, "encode_images", lambda model, images: rs.relevant.float())  # sim = relevant
    monkeypatch.setattr(X, "encode_texts", lambda model, texts: torch.eye(len(texts)))
    r = X.retrieval(tiny, rs)
    assert r["i2t R@1"] == r["t2i R@1"] == 1.0
    assert r["i2t exact R@1"] < 1.0  # other true captions tie with the paired one


def test_retrieval_set_needs_two_pairs():
    with pytest.raises(ValueError, match="at least 2 pairs"):
        X.retrieval_set(1)


def test_attribute_accuracy_splits_pair_color_and_shape():
    red_circle, red_square, blue_square = (W.PAIRS.index(p) for p in
                                           [("red", "circle"), ("red", "square"), ("blue", "square")])
    acc = X.attribute_accuracy(torch.tensor([red_square, blue_square]), torch.tensor([red_circle, red_circle]))
    assert acc == {"pair": 0.0, "color": 0.5, "shape": 0.0}


def test_class_images_hold_the_requested_pairs():
    images, labels = X.class_images("heldout", 2)
    assert images.shape == (12, 3, 32, 32)
    assert {W.PAIRS[i] for i in labels.tolist()} == set(W.HELD_OUT_COMBOS)
    _, seen = X.class_images("train", 1)
    assert not {W.PAIRS[i] for i in seen.tolist()} & set(W.HELD_OUT_COMBOS)


def test_swap_set_captions_use_the_same_words_but_differ():
    _, true, swapped = X.swap_set(20)
    for a, b in zip(true, swapped):
        assert a != b and sorted(a.split()) == sorted(b.split())


def test_probes_and_zero_shot_return_shares(tiny):
    for value in [*X.binding_probe(tiny, n_train=4, n_test=3).values(), X.linear_probe(tiny, 4, 3)["seen"],
                  *X.zero_shot(tiny, True, n_per_class=3).values(), X.swap_test(tiny, n=10)]:
        assert 0.0 <= value <= 1.0


def test_optimal_info_nce_bound_is_below_log_classes_and_log_n():
    for n in (4, 64, 512):
        bound = math.log(n) - X.optimal_info_nce(n, n_classes=18, n_batches=50)
        assert bound <= min(math.log(n), math.log(18)) + 1e-6
    assert math.log(512) - X.optimal_info_nce(512, 18, 50) > 2.7  # close to log 18 = 2.89 for large batches


def test_loss_floor_is_between_zero_and_log_n():
    floor = X.loss_floor(32, n_batches=3)
    assert 0.0 < floor < math.log(32)


def test_run_trains_the_live_model_and_records_zero_shot(tmp_path):
    model, hist = X.run("multi_positive", 2, batch_size=8, fast=True, progress=False)
    assert len(hist.loss) == 2 and "held_out_acc" in hist.metric_names()
    assert not model.training


def test_temperature_limits_of_one_row():
    cos = torch.tensor([0.9, 0.2, 0.5, -0.1])
    loss_hot, grad_hot = clip_widgets.row_loss(cos, 0, 1e-3)
    loss_cold, grad_cold = clip_widgets.row_loss(cos, 0, 1e3)
    assert loss_hot < 1e-6 and abs(loss_cold - math.log(4)) < 1e-3 and grad_cold < 1e-3


def test_widgets_leave_figures_and_controls(tiny):
    import matplotlib.pyplot as plt

    box = clip_widgets.temperature_widget(torch.tensor([0.9, 0.2, 0.5]), positive=0)
    box.children[0].value = 0.5  # redraw at tau = 10^0.5
    images, _ = X.class_images("test", 1)
    z = X.encode_images(tiny, images)
    search = clip_widgets.prompt_search_widget(lambda t: X.encode_texts(tiny, t), z, images, k=4)
    search.children[0].value = "图中有一个红色的小圆形。"
    explorer = clip_widgets.EmbeddingExplorer(z, X.encode_texts(tiny, ["a small red circle."] * len(z)),
                                              {"pair": [str(i) for i in range(len(z))]})
    ex_box = explorer.widget()
    ex_box.children[0].value = "t-SNE"
    plt.close("all")


def test_embedding_explorer_rejects_unmatched_features():
    with pytest.raises(ValueError, match="matched pairs"):
        clip_widgets.EmbeddingExplorer(torch.zeros(3, 4), torch.zeros(2, 4), {})


def test_make_batch_scenes_are_the_batch_images():
    import numpy as np

    for remedy in ["none", "multi_positive+multi_object+attribute_captions+hard_negatives"]:
        b = R.make_batch(np.random.default_rng(0), 16, remedy)
        assert torch.equal(W.render_batch(b["scenes"], 32).rgb, b["images"])


def test_truth_is_exact_about_positions_and_feeds_multi_positive_targets():
    import numpy as np

    b = R.make_batch(np.random.default_rng(1), 64, "multi_positive")
    assert torch.equal(b["same"], b["truth"]) and b["truth"].diagonal().all()
    scene = W.Scene([W.Obj("circle", "red", "small", 0.15, 0.15)])
    elsewhere = W.Scene([W.Obj("circle", "red", "small", 0.85, 0.85)])
    caps = [W.caption(scene, "en", template="position"), W.caption(scene, "zh", template="list")]
    truth = X.caption_truth([scene, elsewhere], caps)
    assert truth.tolist() == [[True, True], [False, True]]  # "… at the top left." is false of the other image


def test_names_a_place_and_text_to_image_by_place(tiny):
    assert X.names_a_place("a small red circle at the top left.") and X.names_a_place("左上角有一个红色的小圆形。")
    assert not X.names_a_place("a small red circle.") and not X.names_a_place("图中有一个红色的小圆形。")
    rs = X.retrieval_set(40)
    r = X.text_to_image_by_place(tiny, rs)
    assert 0.0 < r["share naming a place"] < 1.0
    assert 0.0 <= r["names a place"] <= 1.0 and 0.0 <= r["no place"] <= 1.0
