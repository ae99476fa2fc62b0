"""Bad input raises ValueError naming the value and what is allowed."""
import pytest
import torch

from course_utils.data import (
    CaptionDataset,
    Obj,
    Scene,
    Tokenizer,
    VQADataset,
    animate,
    answer_index,
    caption,
    photo,
    questions,
    render,
    render_batch,
    sample_scene,
    sonify,
    spectrogram,
)

SCENE = Scene([Obj("circle", "red", "small", 0.3, 0.3, 0), Obj("square", "red", "small", 0.7, 0.7, 1)])


@pytest.mark.parametrize("call, value", [
    (lambda: sample_scene(0, colors=["pink"]), "pink"),
    (lambda: sample_scene(0, shapes=["hexagon"]), "hexagon"),
    (lambda: sample_scene(0, exclude=[("red", "star")]), "star"),
    (lambda: Obj("hexagon", "red"), "hexagon"),
    (lambda: Obj("circle", "red", "medium"), "medium"),
    (lambda: sample_scene(0, 12), "12"),
    (lambda: sample_scene(0, 0), "0"),
    (lambda: sample_scene(0, 9, sizes=("large",)), "9"),
    (lambda: sample_scene(0, 7, distinct_colors=True), "7"),
    (lambda: sample_scene(0, 3, colors=["red"], shapes=["circle", "square"]), "3"),
    (lambda: sample_scene(0, image_size=8), "8"),
    (lambda: sample_scene("seed"), "seed"),
    (lambda: render(SCENE, size=12), "12"),
    (lambda: render_batch([SCENE], size=10), "10"),
    (lambda: animate(SCENE, size=8), "8"),
    (lambda: caption(SCENE, "fr"), "fr"),
    (lambda: caption(SCENE, template="poem"), "poem"),
    (lambda: questions(SCENE, "de"), "de"),
    (lambda: questions(SCENE, mode="clevr"), "clevr"),
    (lambda: questions(SCENE, mode="sort_of_clevr"), "red"),
    (lambda: answer_index("maybe"), "maybe"),
    (lambda: CaptionDataset(10, split="validation"), "validation"),
    (lambda: CaptionDataset(10, lang="ja"), "ja"),
    (lambda: VQADataset(10, families=["counting"]), "counting"),
    (lambda: VQADataset(10, mode="sort_of_clevr", split="heldout"), "heldout"),
    (lambda: photo("lena"), "lena"),
    (lambda: sonify(SCENE, sr=100), "100"),
    (lambda: spectrogram(torch.zeros(100)), "100"),
    (lambda: Tokenizer.for_world().decode([9999]), "9999"),
])
def test_bad_input_raises_value_error_naming_the_value(call, value):
    with pytest.raises(ValueError, match=value):
        call()


def test_a_failed_call_leaves_no_state_behind():
    tok = Tokenizer.for_world()
    before = list(tok.itos)
    tok.encode("a pink hexagon")
    with pytest.raises(ValueError):
        tok.decode([10**6])
    assert tok.itos == before
    with pytest.raises(ValueError):
        sample_scene(0, 12)
    assert sample_scene(0) == sample_scene(0)
