"""The clip_world recipe: config, build, train; the shipped weights load and keep their zero-shot accuracy."""
import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data as W
from course_utils import pretrained
from course_utils.data import clip_batches as B
from course_utils.recipes import clip_world as cw
from course_utils.tasks import clip_experiments as X

PACKAGE = Path(cw.__file__).resolve().parent.parent


@pytest.mark.parametrize("remedy", ["none", "all"])
def test_a_few_training_steps_lower_the_loss(remedy):
    model = cw.build(fast=True)
    b = B.make_batch(np.random.default_rng(0), 32, remedy)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = cw.batch_loss(model, b, remedy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_batch_loss_with_every_remedy_is_negclip_with_multi_positive_targets():
    model = cw.build(fast=True)
    b = B.make_batch(np.random.default_rng(1), 16, "all")
    z_img, z_all, scale = model(b["images"], B.pad_cat(b["tokens"], b["neg_tokens"]))
    from course_utils.nn.clip_loss import negclip_loss

    expected = negclip_loss(z_img, z_all[:16], scale, z_all[16:], b["same"])
    assert torch.allclose(cw.batch_loss(model, b, "all"), expected)
    assert not torch.allclose(cw.batch_loss(model, b, "none"), expected)


def test_build_live_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = cw.build_live(0, fast=True), cw.build_live(0, fast=True), cw.build_live(1, fast=True)
    assert torch.equal(torch.rand(1), before)  # no hidden reseeding of the caller's RNG
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_live_and_registered_architectures():
    assert cw.build_live(0).config.image_tower == "conv"
    assert cw.build_live(0, image_tower="vit").config.image_tower == "vit"
    assert sum(p.numel() for p in cw.build_live(0).parameters()) < sum(p.numel() for p in cw.build().parameters())


def test_training_curve_ends_at_the_zero_shot_accuracy_of_the_final_model():
    model = cw.build_live(0, fast=True)
    hist = cw.train_clip(model, 3, "multi_positive", seed=4, batch_size=8, progress=False)
    assert len(hist.loss) == 3 and not model.training
    assert hist.last("held_out_acc") == pytest.approx(cw.evaluate_zero_shot(model, True, seed=4))
    assert hist.last("seen_acc") == pytest.approx(X.zero_shot(model, False, seed=4)["pair"])


def test_recipes_and_tasks_never_import_each_other():
    def imports(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found.add((node.module or "") + " " + " ".join(a.name for a in node.names))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    assert not any("tasks" in i for i in imports(PACKAGE / "recipes" / "clip_world.py"))
    assert not any("recipes" in i for i in imports(PACKAGE / "tasks" / "clip_experiments.py"))


def test_clip_world_is_registered():
    assert "clip_world" in pretrained.recipes()


def test_shipped_clip_world_weights_load_and_meet_the_zero_shot_targets():
    assert pretrained.status("clip_world") == "ok"
    model = pretrained.get("clip_world", train=False, verbose=False)
    assert model.config.image_tower == "conv"
    for seed in (0, 1):
        assert cw.evaluate_zero_shot(model, False, seed=seed) >= 0.98  # 12 seen pairs, 50 images each
        assert cw.evaluate_zero_shot(model, True, seed=seed) >= 0.95  # 6 pairs never in training
    pred, labels = X.zero_shot_predictions(model, True, seed=0)
    assert {W.PAIRS[k] for k in labels.tolist()} == set(W.HELD_OUT_COMBOS) and len(pred) == 300
