"""The shipped captioners of notebook 24.10 load with their sha256 and, on held-out scenes the recipe never evaluated
on (a different seed), name every object's attributes right in both languages and score well on the metrics."""
import pytest

from course_utils import metrics, pretrained
from course_utils.data import captioning as C
from course_utils.recipes import captioner_world

SEED = 11


@pytest.mark.parametrize("name", list(captioner_world.NAMES.values()))
def test_shipped_weights_are_registered_and_load(name):
    assert name in pretrained.recipes()
    assert pretrained.status(name) == "ok"


@pytest.mark.parametrize("decoder", list(captioner_world.NAMES))
def test_captions_of_held_out_scenes(decoder):
    model = pretrained.get(captioner_world.NAMES[decoder], train=False, verbose=False)
    test = C.captioning_set(200, SEED)
    for lang in ("en", "zh"):
        caps = captioner_world.captions(model, test.images, lang)
        assert C.attribute_accuracy(caps, test.scenes, lang)["all"] >= 0.88
        assert metrics.cider_d(C.references(test.scenes, lang), C.candidates(caps, lang)) >= 2.0
