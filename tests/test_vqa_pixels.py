"""Specifications of the pixel model of notebook 24.9 (course_utils.nn.vqa): soft-argmax, the colour-slot de-renderer,
the focus reasoner that steps from object to object, the two together, and the recipe that trains them."""

import pytest
import torch

from course_utils.data import COLORS, SHAPES, Tokenizer, VQADataset, sort_of_clevr_scene
from course_utils.nn.vqa import (
    STATE_SIZE,
    ColorSlotDerenderer,
    DerenderAndReason,
    FocusReasoner,
    RelationNetwork,
    TransformerAnswerer,
    cell_coordinates,
    color_slot_states,
    object_states,
    soft_argmax,
)

TOK = Tokenizer.for_world()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def soc():
    ds = VQADataset(4, seed=0, mode="sort_of_clevr", two_hop=True, questions_per_image=3, max_len=20)
    return ds


def test_soft_argmax_is_the_expected_pixel_centre():
    logits = torch.randn(2, 3, 5, 7) * 3
    A, xy = soft_argmax(logits)
    assert A.shape == (2, 3, 35) and torch.allclose(A.sum(-1), torch.ones(2, 3))
    assert torch.allclose(xy, A @ cell_coordinates(5, 7), atol=1e-6)
    peak = torch.full((1, 1, 5, 7), -50.0)
    peak[0, 0, 1, 6] = 50.0                                     # row 1, column 6
    assert torch.allclose(soft_argmax(peak)[1][0, 0], torch.tensor([6.5 / 7, 1.5 / 5]), atol=1e-5)


def test_color_slot_states_put_each_object_in_its_color_slot():
    scene = sort_of_clevr_scene(1)
    slots = color_slot_states([scene])[0]                       # (6, STATE_SIZE)
    states, _ = object_states([scene])
    for i, o in enumerate(scene.objects):
        assert torch.equal(slots[COLORS.index(o.color)], states[0, i])
    assert torch.equal(slots[:, :len(COLORS)], torch.eye(len(COLORS)))


def test_color_slot_states_name_a_scene_without_one_object_per_color():
    from course_utils.data import sample_scene
    with pytest.raises(ValueError, match="one object of each color"):
        color_slot_states([sample_scene(0, n_objects=3)])


def test_derenderer_outputs_states_of_the_object_state_layout(soc):
    model = ColorSlotDerenderer().eval()
    S = model(soc.rgb)
    assert S.shape == (4, len(COLORS), STATE_SIZE)
    assert torch.equal(S[..., :len(COLORS)], torch.eye(len(COLORS)).expand(4, -1, -1))   # slot c is color c
    assert torch.allclose(S[..., len(COLORS):len(COLORS) + len(SHAPES)].sum(-1), torch.ones(4, 6))
    assert ((S[..., -2:] >= 0) & (S[..., -2:] <= 1)).all()
    assert model.last_maps.shape == (4, 6, 32, 32)
    assert torch.allclose(model.last_maps.sum(dim=(-1, -2)), torch.ones(4, 6), atol=1e-5)


def test_perception_loss_is_zero_only_for_the_true_states(soc):
    model = ColorSlotDerenderer()
    S = model(soc.rgb)
    target = color_slot_states(soc.scenes)
    loss = model.perception_loss(S, target)
    assert loss.item() > 0 and loss.requires_grad
    with pytest.raises(ValueError, match="target states have shape"):
        model.perception_loss(S, target[:, :5])


def test_derenderer_learns_where_the_objects_are():
    ds = VQADataset(256, seed=1, mode="sort_of_clevr")
    target = color_slot_states(ds.scenes)
    model = ColorSlotDerenderer(width=16, layers=3)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = ((model(ds.rgb[:64])[..., -2:] - target[:64, :, -2:]).norm(dim=-1) * 32).mean().item()
    for step in range(60):
        i = torch.randint(0, 256, (32,))
        loss = model.perception_loss(model(ds.rgb[i]), target[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = ((model(ds.rgb[:64])[..., -2:] - target[:64, :, -2:]).norm(dim=-1) * 32).mean().item()
    assert end < 0.5 * start, (start, end)                      # centre error in pixels at least halves


def test_derenderer_names_a_wrong_image_size():
    with pytest.raises(ValueError, match="32×32"):
        ColorSlotDerenderer(image_size=32)(torch.rand(2, 3, 24, 24))


def test_focus_reasoner_starts_as_plain_cross_attention(soc):
    model = FocusReasoner(TOK.vocab_size, max_len=20).eval()
    states = color_slot_states(soc.scenes).repeat_interleave(3, 0)   # (12, 6, STATE_SIZE)
    logits, attention = model.answer(model.encode_image(states), soc.tokens, return_attention=True)
    assert logits.shape == (12, 27) and attention.shape == (12, 4, 4, 20, 6)
    assert torch.allclose(attention.sum(-1), torch.ones(12, 4, 4, 20), atol=1e-5)
    far = states.clone()
    far[..., -2:] = far[..., -2:] * 0.5                         # move every object: no distance term at init ...
    same = model.answer(model.encode_image(far), soc.tokens)
    assert not torch.allclose(same, logits)                     # ... but the positions are in the object embedding
    with torch.no_grad():
        for layer in model.layers:
            layer.steer.bias[: layer.heads].fill_(-5.0)         # a < 0: each step prefers objects near the last focus
    moved = model.answer(model.encode_image(states), soc.tokens, return_attention=True)[1]
    assert not torch.allclose(moved[:, 1:], attention[:, 1:])   # from step 2 on the focus term changes the weights


def test_focus_reasoner_names_bad_input(soc):
    model = FocusReasoner(TOK.vocab_size, max_len=20)
    with pytest.raises(ValueError, match="object states"):
        model.encode_image(torch.rand(2, 6, 5))
    enc = model.encode_image(torch.rand(2, 6, STATE_SIZE))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.answer(enc, torch.full((2, 5), TOK.vocab_size))
    with pytest.raises(ValueError, match="longer than max_len"):
        model.answer(enc, torch.ones(2, 21, dtype=torch.long))
    with pytest.raises(ValueError, match="2 images .* 3 questions"):
        model.answer(enc, soc.tokens[:3])


@pytest.mark.parametrize("kind", ["focus", "transformer", "rn"])
def test_derender_and_reason_answers_from_pixels_with_any_state_reasoner(kind, soc):
    reasoner = {"focus": lambda: FocusReasoner(TOK.vocab_size, max_len=20),
                "transformer": lambda: TransformerAnswerer(TOK.vocab_size, d_obj=STATE_SIZE, image_layers=0,
                                                           max_len=20),
                "rn": lambda: RelationNetwork(TOK.vocab_size, d_obj=STATE_SIZE)}[kind]()
    model = DerenderAndReason(ColorSlotDerenderer(), reasoner).eval()
    images = soc.rgb.repeat_interleave(3, 0)                    # one image per question
    logits = model(images, soc.tokens)
    assert logits.shape == (12, 27)
    shared = model.answer(model.encode_image(soc.rgb).repeat_interleave(3, 0), soc.tokens)
    assert torch.allclose(logits, shared, atol=1e-5)            # K questions can share one de-rendering


def test_derender_and_reason_needs_a_reasoner_over_states():
    with pytest.raises(ValueError, match="object states of size"):
        DerenderAndReason(ColorSlotDerenderer(), TransformerAnswerer(TOK.vocab_size))


def test_transformer_over_states_has_no_patch_grid():
    model = TransformerAnswerer(TOK.vocab_size, d_obj=STATE_SIZE, image_layers=0)
    model.answer(model.encode_image(torch.rand(2, 6, STATE_SIZE)), torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="not a patch grid"):
        model.attention_maps()


def test_recipe_trains_in_fast_mode_and_scores_every_family(monkeypatch):
    from course_utils.recipes import vqa_sort_of_clevr as recipe
    monkeypatch.setattr(recipe, "FAST_TEST_SCENES", 6)
    model = recipe.build()
    out = recipe.train(model, fast=True)
    for key in ("acc_non-relational", "acc_relational", "acc_two-hop", "acc_en", "acc_zh", "acc_count", "acc"):
        assert 0.0 <= out[key] <= 1.0, key
    batch = recipe.training_batch(3)
    assert batch["image"].shape == (recipe.BATCH_SCENES, 3, 32, 32)
    assert batch["tokens"].shape == (recipe.BATCH_SCENES * recipe.QUESTIONS_PER_IMAGE, recipe.MAX_LEN)
    assert batch["states"].shape == (recipe.BATCH_SCENES, 6, STATE_SIZE)
