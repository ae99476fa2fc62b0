"""Specifications of course_utils.data.captioning: training batches in both languages whose captions pass the
attribute check, the check catching each kind of wrong attribute, and the captions as the metrics read them."""
import numpy as np
import pytest

from course_utils.data import captioning as C
from course_utils.data.language import all_captions, caption
from course_utils.data.scene import Obj, Scene

SCENE = Scene([Obj("circle", "red", "large", 0.15, 0.15, 0), Obj("square", "blue", "small", 0.85, 0.5, 1)])


def test_batches_hold_both_languages_and_every_caption_passes_the_check():
    b = C.captioning_batch(np.random.default_rng(0), 40)
    assert b["images"].shape == (40, 3, 32, 32) and b["tokens"].size(0) == 40 and set(b["lang"].tolist()) == {0, 1}
    for text, scene, lang in zip(b["captions"], b["scenes"], b["lang"].tolist()):
        assert C.attribute_check(text, scene, ("en", "zh")[lang])["all"]


def test_the_check_reads_both_languages():
    en, zh = caption(SCENE, "en", template=C.TEMPLATE), caption(SCENE, "zh", template=C.TEMPLATE)
    assert en == "a large red circle at the top left and a small blue square on the right."
    assert C.caption_objects(zh, "zh") == C.caption_objects(en, "en") == C.scene_objects(SCENE)


@pytest.mark.parametrize("wrong, failed", [
    ("a large green circle at the top left and a small blue square on the right.", "color"),
    ("a large red triangle at the top left and a small blue square on the right.", "shape"),
    ("a small red circle at the top left and a small blue square on the right.", "size"),
    ("a large red circle at the top and a small blue square on the right.", "place"),
    ("a large red circle at the top left.", "size"),  # an object missing fails every attribute
])
def test_the_check_names_the_wrong_attribute(wrong, failed):
    check = C.attribute_check(wrong, SCENE, "en")
    assert not check["all"] and not check[failed]


def test_captions_of_other_templates_name_no_place_and_fail():
    assert not any(C.attribute_check(c, SCENE, "en")["all"] for c in all_captions(SCENE, "en")[:3])


def test_metric_text_drops_punctuation_and_splits_chinese_into_characters():
    assert C.metric_text("A red circle, and a square.", "en") == "a red circle and a square"
    assert C.metric_text("左上角有一个红色的大圆形。", "zh") == "左 上 角 有 一 个 红 色 的 大 圆 形"
    refs = C.references([SCENE], "en")
    assert len(refs[0]) == 4 and C.candidates(["A b."], "en") == {0: ["a b"]}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown language"):
        C.captioning_batch(np.random.default_rng(0), 2, langs=("fr",))
    with pytest.raises(ValueError, match="captions for"):
        C.attribute_accuracy(["a"], [SCENE, SCENE], "en")
    with pytest.raises(ValueError, match="at least 1"):
        C.captioning_set(0, 0)
