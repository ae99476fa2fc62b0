"""CLIP training batches of the toy world: the held-out split, exact caption truth, and each remedy's data change."""
import numpy as np
import pytest
import torch

from course_utils import data as W
from course_utils.data import clip_batches as B


@pytest.fixture(scope="module")
def batch():
    return B.make_batch(np.random.default_rng(0), 64, "all")


def test_batch_has_images_tokens_and_one_hard_negative_per_image(batch):
    assert batch["images"].shape == (64, 3, B.IMAGE_SIZE, B.IMAGE_SIZE)
    assert batch["tokens"].shape[0] == 64 and batch["tokens"].shape[1] <= B.CONTEXT_LENGTH
    assert batch["neg_tokens"].shape[0] == 64
    tok = B.tokenizer()
    assert not (batch["tokens"] == tok.unk_id).any() and not (batch["neg_tokens"] == tok.unk_id).any()
    assert ((batch["tokens"] == tok.eos_id).sum(1) == 1).all()


def test_training_scenes_never_show_a_held_out_pair():
    rng = np.random.default_rng(1)
    for _ in range(5):
        b = B.make_batch(rng, 64, "all")
        assert not any(W.has_held_out(s) for s in b["scenes"])
        text = " ".join(b["captions"] + b["neg_captions"])
        for color, shape in W.HELD_OUT_COMBOS:
            assert f"{color} {shape}" not in text  # neither in captions nor in hard negatives
            assert f"{W.COLOR_ZH[color]}的大{W.SHAPE_ZH[shape]}" not in text
            assert f"{W.COLOR_ZH[color]}的小{W.SHAPE_ZH[shape]}" not in text


def test_full_hard_negatives_are_false_of_their_image(batch):
    for scene, kind, neg, cap in zip(batch["scenes"], batch["cap_kind"].tolist(), batch["neg_captions"],
                                     batch["captions"]):
        assert neg != cap
        if B.KINDS[kind] == "full":
            assert neg not in set(W.all_captions(scene, "en")) | set(W.all_captions(scene, "zh"))


def test_hard_negative_scene_changes_one_attribute_or_swaps_two_colors_to_seen_pairs():
    rng = np.random.default_rng(5)
    for _ in range(200):
        scene = W.sample_split_scene(rng, "train", n_objects=(1, 4))
        bad = B.hard_negative_scene(scene, "full", rng)
        if bad is None:
            continue
        assert all(o.pair in B.SEEN_PAIRS for o in bad.objects)
        changed = [(a, b) for a, b in zip(scene.objects, bad.objects) if a != b]
        assert len(changed) in (1, 2)
        for a, b in changed:
            assert (a.x, a.y, a.size) == (b.x, b.y, b.size)  # place and size are kept
        if len(changed) == 2:  # a swap: the same colors, exchanged
            (a1, b1), (a2, b2) = changed
            assert (b1.color, b2.color) == (a2.color, a1.color) and (a1.shape, a2.shape) == (b1.shape, b2.shape)


def test_same_marks_each_pair_and_captions_true_of_other_images(batch):
    same = batch["same"]
    assert same.diagonal().all() and torch.equal(same, batch["truth"])
    i, j = torch.nonzero(same & ~torch.eye(64, dtype=torch.bool))[0]  # single-object scenes repeat often
    assert batch["img_keys"][i, batch["cap_kind"][j]] == batch["cap_keys"][j]


def test_naive_batch_has_single_objects_and_diagonal_targets():
    b = B.make_batch(np.random.default_rng(0), 32, "none")
    assert torch.equal(b["same"], torch.eye(32, dtype=torch.bool)) and "neg_tokens" not in b
    assert all(len(s.objects) == 1 for s in b["scenes"])
    assert b["truth"].sum() > 32  # other captions are true of some images: the false negatives of eq. (24.4.7)


def test_unknown_remedy_raises_value_error():
    with pytest.raises(ValueError, match="unknown remedy 'colour_jitter'"):
        B.parse_remedy("multi_object+colour_jitter")
    assert B.parse_remedy("all") == frozenset(B.REMEDIES) and B.parse_remedy("none") == frozenset()


def test_color_augment_paints_objects_gray_and_captions_them_by_shape_only():
    b = B.make_batch(np.random.default_rng(3), 64, "color_augment")
    gray = b["gray"].nonzero().flatten()
    assert len(gray) > 0 and (b["cap_kind"][gray] == B.KINDS.index("shape")).all()
    for i in gray.tolist():
        img = b["images"][i]  # (3, 32, 32): every pixel gray, the background included
        assert torch.allclose(img[0], img[1]) and torch.allclose(img[1], img[2])
        assert not any(c in b["captions"][i] for c in W.COLORS + tuple(W.COLOR_ZH.values()))
    colored = [i for i in range(64) if i not in set(gray.tolist())]
    assert any(not torch.allclose(b["images"][i][0], b["images"][i][1]) for i in colored)


def test_paint_gray_changes_only_object_pixels_one_level_per_object():
    scenes = [W.sample_split_scene(np.random.default_rng(k), "train", n_objects=3) for k in range(4)]
    r = W.render_batch(scenes, B.IMAGE_SIZE)
    out = B.paint_gray(r.rgb, r.mask, np.array([True, False, True, False]), np.random.default_rng(0))
    assert torch.equal(out[1], r.rgb[1]) and torch.equal(out[3], r.rgb[3])
    for b in (0, 2):
        assert torch.equal(out[b][:, r.mask[b] == 0], r.rgb[b][:, r.mask[b] == 0])  # background kept
        for k in range(1, int(r.mask[b].max()) + 1):
            levels = out[b][:, r.mask[b] == k].unique()
            assert len(levels) == 1 and B.GRAY_LEVELS[0] <= levels.item() <= B.GRAY_LEVELS[1]


def test_attribute_captions_name_only_colors_or_only_shapes():
    scene = W.Scene([W.Obj("circle", "red", "small", 0.2, 0.5), W.Obj("square", "blue", "large", 0.8, 0.5)])
    assert B.attribute_caption(scene, "color", "en") == "a small red object and a large blue object."
    assert B.attribute_caption(scene, "shape", "en") == "a small circle and a large square."
    assert B.attribute_caption(scene, "shape", "zh") == "图中有一个小圆形和一个大正方形。"


def test_description_key_ignores_order_and_place_but_not_attributes():
    a = W.Obj("circle", "red", "small", 0.2, 0.2)
    b = W.Obj("square", "blue", "large", 0.8, 0.8)
    moved = [W.Obj(o.shape, o.color, o.size, 1 - o.x, o.y) for o in (b, a)]
    assert B.description_key(W.Scene([a, b])) == B.description_key(W.Scene(moved))
    singles = {B.description_key(W.Scene([W.Obj(s, c, z)]), kind) for kind in B.KINDS
               for s in W.SHAPES for c in W.COLORS for z in W.SIZES}
    n = len(W.SIZES) * (len(W.COLORS) * len(W.SHAPES) + len(W.COLORS) + len(W.SHAPES))
    assert len(singles) == n  # one key per description: 36 full + 12 color-only + 6 shape-only


def test_truth_is_exact_about_positions_and_gray_images():
    red_top_left = W.Scene([W.Obj("circle", "red", "small", 0.15, 0.15)])
    red_elsewhere = W.Scene([W.Obj("circle", "red", "small", 0.85, 0.85)])
    caps = [W.caption(red_top_left, "en", template="position"), W.caption(red_top_left, "zh", template="list")]
    kind = torch.zeros(2, dtype=torch.long)
    truth = B.caption_truth([red_top_left, red_elsewhere], caps, kind, None, None, torch.tensor([False, False]))
    assert truth.tolist() == [[True, True], [False, True]]  # "… at the top left." is false of the other image
    assert torch.equal(B.full_caption_truth([red_top_left, red_elsewhere], caps), truth)
    gray = B.caption_truth([red_top_left, red_elsewhere], caps, kind, None, None, torch.tensor([False, True]))
    assert gray.tolist() == [[True, True], [False, False]]  # a gray circle is not a red circle
    b = B.make_batch(np.random.default_rng(4), 96, "multi_positive+color_augment")
    assert not b["same"][b["gray"]][:, b["cap_kind"] == 0].any()  # no full (colored) caption fits a gray image


def test_batch_images_are_the_rendered_scenes_without_color_augment():
    for remedy in ["none", "multi_positive+multi_object+attribute_captions+hard_negatives"]:
        b = B.make_batch(np.random.default_rng(0), 16, remedy)
        assert torch.equal(W.render_batch(b["scenes"], B.IMAGE_SIZE).rgb, b["images"])


def test_class_images_hold_the_requested_pairs_and_are_copies():
    images, labels = B.class_images(True, 2, seed=0)
    assert images.shape == (12, 3, B.IMAGE_SIZE, B.IMAGE_SIZE)
    assert {W.PAIRS[i] for i in labels.tolist()} == set(W.HELD_OUT_COMBOS)
    images.zero_()  # editing the result in place must not change the next call's images
    assert B.class_images(True, 2, seed=0)[0].abs().sum() > 0
    seen_a, seen_labels = B.class_images(False, 2, seed=0)
    assert not {W.PAIRS[i] for i in seen_labels.tolist()} & set(W.HELD_OUT_COMBOS)
    assert not torch.equal(seen_a, B.class_images(False, 2, seed=0, purpose="probe_train")[0])
    assert not torch.equal(seen_a, B.class_images(False, 2, seed=1)[0])  # the seed changes the draw
    with pytest.raises(ValueError, match="unknown purpose"):
        B.class_images(False, 2, seed=0, purpose="training")


def test_templates_and_pad_cat():
    assert len(B.templates()) == len(B.TEMPLATES_EN) + len(B.TEMPLATES_ZH) and len(B.templates(("zh",))) == 4
    with pytest.raises(ValueError, match="'en' and/or 'zh'"):
        B.templates(("fr",))
    out = B.pad_cat(torch.ones(2, 3, dtype=torch.long), torch.ones(1, 5, dtype=torch.long))
    assert out.shape == (3, 5) and out[:2, 3:].eq(0).all()
