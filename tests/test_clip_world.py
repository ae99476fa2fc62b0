"""The clip_world recipe: training batches respect the held-out split, hard negatives are false, weights load."""
import numpy as np
import pytest
import torch

from course_utils import data as W
from course_utils import pretrained
from course_utils.recipes import clip_world as cw


@pytest.fixture(scope="module")
def batch():
    return cw.make_batch(np.random.default_rng(0), 64, "all")


def test_batch_has_images_tokens_and_one_hard_negative_per_image(batch):
    assert batch["images"].shape == (64, 3, 32, 32)
    assert batch["tokens"].shape[0] == 64 and batch["tokens"].shape[1] <= cw.CONTEXT_LENGTH
    assert batch["neg_tokens"].shape[0] == 64
    tok = cw.tokenizer()
    assert not (batch["tokens"] == tok.unk_id).any() and not (batch["neg_tokens"] == tok.unk_id).any()
    assert ((batch["tokens"] == tok.eos_id).sum(1) == 1).all()


def test_training_scenes_never_show_a_held_out_pair():
    rng = np.random.default_rng(1)
    for _ in range(5):
        b = cw.make_batch(rng, 64, "all")
        text = " ".join(b["captions"] + b["neg_captions"])
        for color, shape in W.HELD_OUT_COMBOS:
            assert f"{color} {shape}" not in text  # neither in captions nor in hard negatives
            assert f"{W.COLOR_ZH[color]}的大{W.SHAPE_ZH[shape]}" not in text
            assert f"{W.COLOR_ZH[color]}的小{W.SHAPE_ZH[shape]}" not in text


def test_hard_negatives_differ_from_their_caption(batch):
    assert all(c != n for c, n in zip(batch["captions"], batch["neg_captions"]))


def test_same_marks_each_pair_and_captions_true_of_other_images(batch):
    same = batch["same"]
    assert same.diagonal().all()
    i, j = torch.nonzero(same & ~torch.eye(64, dtype=torch.bool))[0]  # single-object scenes repeat often
    assert batch["img_keys"][i, batch["cap_kind"][j]] == batch["cap_keys"][j]


def test_naive_batch_has_single_objects_and_diagonal_targets():
    b = cw.make_batch(np.random.default_rng(0), 32, "none")
    assert torch.equal(b["same"], torch.eye(32, dtype=torch.bool)) and "neg_tokens" not in b
    assert all(" and " not in c and "和" not in c for c in b["captions"])


def test_unknown_remedy_raises_value_error():
    with pytest.raises(ValueError, match="unknown remedy 'colour_jitter'"):
        cw.parse_remedy("multi_object+colour_jitter")
    assert cw.parse_remedy("all") == frozenset(cw.REMEDIES) and cw.parse_remedy("none") == frozenset()


@pytest.mark.parametrize("remedy", ["none", "all"])
def test_a_few_training_steps_lower_the_loss(remedy):
    torch.manual_seed(0)
    model = cw.build(fast=True)
    b = cw.make_batch(np.random.default_rng(0), 32, remedy)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = cw.batch_loss(model, b, remedy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_zero_shot_evaluation_covers_the_18_classes():
    model = cw.build(fast=True).eval()
    w = cw.zero_shot_classifier(model)
    assert w.shape == (32, 18)
    acc, preds, labels = cw.evaluate_zero_shot(model, held_out=True, n_per_class=4, return_predictions=True)
    assert 0.0 <= acc <= 1.0 and len(preds) == 24
    assert {W.PAIRS[k] for k in labels.tolist()} == set(W.HELD_OUT_COMBOS)


def test_clip_world_is_registered():
    assert "clip_world" in pretrained.recipes()


def test_shipped_clip_world_weights_load_and_meet_the_zero_shot_targets():
    assert pretrained.status("clip_world") == "ok"
    model = pretrained.get("clip_world", train=False, verbose=False)
    assert model.config.image_tower == "conv"
    assert cw.evaluate_zero_shot(model, held_out=False) >= 0.98  # 12 seen pairs, 50 images each
    assert cw.evaluate_zero_shot(model, held_out=True) >= 0.90  # 6 pairs never in training


def test_color_augment_paints_objects_gray_and_captions_them_by_shape_only():
    b = cw.make_batch(np.random.default_rng(3), 64, "color_augment")
    gray = (b["cap_kind"] == cw.KINDS.index("shape")).nonzero().flatten()
    assert len(gray) > 0
    for i in gray.tolist():
        img = b["images"][i]  # (3, 32, 32): every pixel gray, the background included
        assert torch.allclose(img[0], img[1]) and torch.allclose(img[1], img[2])
        assert not any(c in b["captions"][i] for c in W.COLORS + tuple(W.COLOR_ZH.values()))
    colored = [i for i in range(64) if i not in set(gray.tolist())]
    assert any(not torch.allclose(b["images"][i][0], b["images"][i][1]) for i in colored)


def test_multi_positive_targets_are_exact_about_positions_and_gray_images():
    red_top_left = W.Scene([W.Obj("circle", "red", "small", 0.15, 0.15)])
    red_elsewhere = W.Scene([W.Obj("circle", "red", "small", 0.85, 0.85)])
    caps = [W.caption(red_top_left, "en", template="position"), W.caption(red_top_left, "en", template="list")]
    kind = torch.zeros(2, dtype=torch.long)
    truth = cw.caption_truth([red_top_left, red_elsewhere], caps, kind, None, None, torch.tensor([False, False]))
    assert truth.tolist() == [[True, True], [False, True]]  # "… at the top left." is false of the other image
    gray = cw.caption_truth([red_top_left, red_elsewhere], caps, kind, None, None, torch.tensor([False, True]))
    assert gray.tolist() == [[True, True], [False, False]]  # a gray circle is not a red circle
    b = cw.make_batch(np.random.default_rng(4), 96, "multi_positive+color_augment")
    assert torch.equal(b["same"], b["truth"]) and b["same"].diagonal().all()
    assert not b["same"][b["gray"]][:, b["cap_kind"] == 0].any()  # no full (colored) caption fits a gray image
