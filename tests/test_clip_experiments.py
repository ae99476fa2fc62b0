"""The measurements of notebook 24.4 (CLIP): zero-shot, probes, retrieval relevance, swap test, gap, widgets.

A hand-made "CLIP" whose features are exactly known (color and shape one-hots, read from a class index written into
the image) tells what each measurement must give: a factorized model names held-out pairs, an entangled one cannot.
"""
import math

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from course_utils import data as W  # noqa: E402
from course_utils import report  # noqa: E402
from course_utils.data import clip_batches as B  # noqa: E402
from course_utils.recipes import clip_world as R  # noqa: E402
from course_utils.tasks import clip_experiments as X  # noqa: E402
from course_utils.viz import clip_widgets, world_color  # noqa: E402

TOK = B.tokenizer()
COLOR_IDS = {TOK.stoi[w]: k for k, c in enumerate(W.COLORS) for w in (c, W.COLOR_ZH[c])}
SHAPE_IDS = {TOK.stoi[w]: k for k, s in enumerate(W.SHAPES) for w in (s, W.SHAPE_ZH[s])}


class KnownCLIP(nn.Module):
    """Image (class index in pixel [0, 0, 0]) and caption -> [one-hot color, one-hot shape] (factorized), or the
    one-hot of the (color, shape) pair (entangled: a held-out pair has a direction no training image used)."""

    def __init__(self, factorized: bool = True):
        super().__init__()
        self.factorized = factorized
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def _features(self, color: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        if self.factorized:
            z = torch.cat([nn.functional.one_hot(color, len(W.COLORS)), nn.functional.one_hot(shape, len(W.SHAPES))], 1)
        else:
            z = nn.functional.one_hot(color * len(W.SHAPES) + shape, len(W.PAIRS))
        return nn.functional.normalize(z.float(), dim=-1)

    def encode_image(self, images, normalize=False):
        cls = images[:, 0, 0, 0].round().long()
        return self._features(X.COLOR_OF_CLASS[cls], X.SHAPE_OF_CLASS[cls])

    def encode_text(self, tokens, normalize=False):
        color = torch.tensor([next(COLOR_IDS[t] for t in row.tolist() if t in COLOR_IDS) for row in tokens])
        shape = torch.tensor([next(SHAPE_IDS[t] for t in row.tolist() if t in SHAPE_IDS) for row in tokens])
        return self._features(color, shape)


@pytest.fixture
def known_images(monkeypatch):
    """class_images that write each image's class index into pixel [0, 0, 0]."""
    real = B.class_images

    def fake(held_out, n_per_class, seed, purpose="zero_shot"):
        images, labels = real(held_out, n_per_class, seed, purpose)
        images[:, 0, 0, 0] = labels.float()
        return images, labels

    monkeypatch.setattr(B, "class_images", fake)


def test_zero_shot_of_a_factorized_model_names_held_out_pairs(known_images):
    acc = X.zero_shot(KnownCLIP(factorized=True), held_out=True, seed=0, n_per_class=5)
    assert acc == {"pair": 1.0, "color": 1.0, "shape": 1.0}
    assert X.zero_shot(KnownCLIP(factorized=False), held_out=False, seed=0, n_per_class=5)["pair"] == 1.0


def test_binding_probe_separates_factorized_from_entangled_features(known_images):
    factorized = X.binding_probe(KnownCLIP(factorized=True), seed=0, n_train=10, n_test=5)
    entangled = X.binding_probe(KnownCLIP(factorized=False), seed=0, n_train=10, n_test=5)
    assert factorized == {"color_seen": 1.0, "shape_seen": 1.0, "color_held_out": 1.0, "shape_held_out": 1.0}
    assert entangled["shape_seen"] == 1.0 and entangled["shape_held_out"] < 0.5  # unseen pair: no shape direction
    assert X.linear_probe(KnownCLIP(factorized=False), seed=0, n_train=10, n_test=5) == 1.0


def test_attribute_accuracy_splits_pair_color_and_shape():
    red_circle, red_square, blue_square = (W.PAIRS.index(p) for p in
                                           [("red", "circle"), ("red", "square"), ("blue", "square")])
    acc = X.attribute_accuracy(torch.tensor([red_square, blue_square]), torch.tensor([red_circle, red_circle]))
    assert acc == {"pair": 0.0, "color": 0.5, "shape": 0.0}


def test_retrieval_relevance_marks_exactly_the_captions_true_of_each_image():
    rs = X.retrieval_set(60, seed=3)
    assert rs.relevant.diagonal().all()
    for i in range(0, 60, 7):
        true = set(W.all_captions(rs.scenes[i], "en")) | set(W.all_captions(rs.scenes[i], "zh"))
        for j in range(60):
            assert bool(rs.relevant[i, j]) == (rs.captions[j] in true)
    rs.images.zero_()  # a copy: the next call is unchanged
    assert X.retrieval_set(60, seed=3).images.abs().sum() > 0
    assert X.retrieval_set(60, seed=4).captions != rs.captions


def test_retrieval_of_a_perfect_scorer_has_full_recall_but_not_exact_pair_recall(monkeypatch):
    rs = X.retrieval_set(40, seed=4)
    monkeypatch.setattr(X, "image_features", lambda model, images: rs.relevant.float())  # sim = relevant
    monkeypatch.setattr(X, "text_features", lambda model, texts: torch.eye(len(texts)))
    r = X.retrieval(None, rs)
    assert r["i2t R@1"] == r["t2i R@1"] == 1.0
    assert r["i2t exact R@1"] < 1.0  # other true captions tie with the paired one
    by_place = X.text_to_image_by_place(None, rs)
    assert by_place["names a place"] == by_place["no place"] == 1.0 and 0 < by_place["share naming a place"] < 1


def test_retrieval_set_needs_two_pairs():
    with pytest.raises(ValueError, match="at least 2 pairs"):
        X.retrieval_set(1, seed=0)


def test_names_a_place():
    assert X.names_a_place("a small red circle at the top left.") and X.names_a_place("左上角有一个红色的小圆形。")
    assert not X.names_a_place("a small red circle.") and not X.names_a_place("图中有一个红色的小圆形。")


def test_swap_set_captions_use_the_same_words_but_differ_and_a_bag_of_words_scores_zero():
    images, true, swapped = X.swap_set(20, seed=0)
    for a, b in zip(true, swapped):
        assert a != b and sorted(a.split()) == sorted(b.split())
    bag = R.build_live(0, fast=True)
    bag.encode_text = lambda tokens, normalize=False: nn.functional.one_hot(tokens, TOK.vocab_size).sum(1).float()
    bag.encode_image = lambda images, normalize=False: torch.rand(len(images), TOK.vocab_size)
    assert X.swap_test(bag, seed=0, n=20) == 0.0  # same words, same score: never strictly right


def test_modality_gap_is_the_distance_between_the_two_means():
    z = nn.functional.normalize(torch.randn(50, 8), dim=-1)
    assert X.modality_gap(z, z) == 0.0
    e = torch.zeros(10, 8)
    e[:, 0] = 1.0
    assert X.modality_gap(e, -e) == pytest.approx(2.0)


def test_spreads_reads_one_metric_over_seeds_and_names_missing_runs():
    record = {"runs": [{"run": "naive", "seed": s, "zero_shot_held_out": v} for s, v in [(1, 0.5), (0, 0.4)]]}
    s = X.spreads(record, "naive", "zero_shot_held_out")
    assert isinstance(s, report.Spread) and s.values == (0.4, 0.5)
    with pytest.raises(KeyError, match="recorded runs: naive"):
        X.spreads(record, "all five", "zero_shot_held_out")


def test_recorded_remedies_hold_three_seeds_of_every_run_the_script_defines(monkeypatch):
    monkeypatch.syspath_prepend(str(X.settings.ROOT / "scripts"))
    import clip_remedy_seeds

    record = X.recorded("clip_remedies")
    for group in clip_remedy_seeds.GROUPS.values():
        for name, (remedy, steps, batch, tower) in group.items():
            rows = [r for r in record["runs"] if r["run"] == name]
            assert sorted(r["seed"] for r in rows) == [0, 1, 2], name
            assert all((r["remedy"], r["steps"], r["batch_size"], r["tower"]) == (remedy, steps, batch, tower)
                       for r in rows)
            assert all(0.0 <= r["zero_shot_held_out"] <= 1.0 for r in rows)


def test_temperature_limits_of_one_row():
    own_closest = torch.tensor([0.9, 0.2, 0.5, -0.1])
    loss_cold, grad_cold = clip_widgets.row_loss(own_closest, 0, 1e-3)
    loss_hot, grad_hot = clip_widgets.row_loss(own_closest, 0, 1e3)
    assert loss_cold < 1e-6 and grad_cold < 1e-6  # tau -> 0, own caption closest: loss and gradient vanish
    assert abs(loss_hot - math.log(4)) < 1e-3 and grad_hot < 1e-3  # tau -> inf: log N, no gradient
    negative_closer = torch.tensor([0.5, 0.9, 0.2, -0.1])
    h = clip_widgets.hinge(negative_closer, 0)
    assert h == pytest.approx(0.4)
    loss, grad = clip_widgets.row_loss(negative_closer, 0, 1e-3)
    assert loss == pytest.approx(h / 1e-3, rel=1e-3) and grad > 1e3  # hinge / tau: the loss explodes


def test_widgets_leave_figures_and_controls():
    import matplotlib.pyplot as plt

    tiny = R.build_live(0, fast=True)
    box = clip_widgets.temperature_widget(torch.tensor([0.9, 0.2, 0.5]), positive=0,
                                          contrast=(torch.tensor([0.2, 0.9, 0.5]), 0))
    box.children[0].value = 0.5  # redraw at tau = 10^0.5
    images, _ = B.class_images(False, 1, seed=0)
    z = X.image_features(tiny, images)
    search = clip_widgets.prompt_search_widget(lambda t: X.text_features(tiny, t), z, images, k=4)
    search.children[0].value = "图中有一个红色的小圆形。"
    colors = [W.PAIRS[i][0] for i in range(len(z))]
    explorer = clip_widgets.EmbeddingExplorer(z, X.text_features(tiny, ["a small red circle."] * len(z)),
                                              {"color": colors})
    fig = explorer.draw("PCA", "color", True)
    yellow = [c for c in fig.axes[0].collections if c.get_label() == "yellow"][0]
    assert tuple(yellow.get_facecolor()[0][:3]) == pytest.approx(world_color("yellow"))  # drawn yellow, not brown
    ex_box = explorer.widget()
    ex_box.children[0].value = "t-SNE"
    plt.close("all")


def test_embedding_explorer_rejects_unmatched_features():
    with pytest.raises(ValueError, match="matched pairs"):
        clip_widgets.EmbeddingExplorer(torch.zeros(3, 4), torch.zeros(2, 4), {})
