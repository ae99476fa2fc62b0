"""BLEU-1…4 and CIDEr-D from course_utils.metrics against pycocoevalcap's Bleu(4) and Cider (the COCO caption
evaluation code) to 1e-6, on corpora with an exact match, a repeated word (clipping), a very short candidate (brevity
penalty), no overlap and Chinese characters; one BLEU and one CIDEr-D value worked by hand; bad input named."""
import math
import random

import pytest
from pycocoevalcap.bleu.bleu import Bleu  # a dev dependency: `make setup` installs it
from pycocoevalcap.cider.cider import Cider

from course_utils import metrics as M

CORPORA = {
    "mixed": ({1: ["a small red circle .", "there is one small red circle ."],
               2: ["a large blue square at the top .", "a blue square ."],
               3: ["two green triangles .", "a green triangle and a green triangle ."],
               4: ["a yellow circle ."],
               5: ["a purple square on the left .", "the purple square ."]},
              {1: ["a small red circle ."],  # exact match of a reference
               2: ["blue blue blue blue ."],  # a repeated word: clipped at 1
               3: ["a"],  # very short: brevity penalty
               4: ["the big orange thing"],  # no overlap
               5: ["a purple square on the left ."]}),
    "chinese characters": ({"a": ["一 个 红 色 的 小 圆 形 。", "图 中 有 一 个 红 色 的 小 圆 形 。"],
                            "b": ["左 边 有 一 个 蓝 色 的 大 正 方 形 。"],
                            "c": ["两 个 绿 色 的 三 角 形 。", "一 个 绿 色 的 三 角 形 。"]},
                           {"a": ["一 个 红 色 的 圆 形 。"], "b": ["蓝 色 的 正 方 形"],
                            "c": ["两 个 绿 色 的 三 角 形 。"]}),
}


def random_corpus(seed: int, n_images: int = 12):
    rng = random.Random(seed)
    words = "a the small large red blue green circle square triangle left right top of is and two .".split()
    sentence = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
    gts = {i: [sentence() for _ in range(rng.randint(1, 5))] for i in range(n_images)}
    res = {i: [rng.choice(gts[i]) if rng.random() < 0.2 else sentence()] for i in range(n_images)}
    return gts, res


@pytest.mark.parametrize("name", [*CORPORA, "random 0", "random 1", "random 2"])
def test_equal_to_the_coco_evaluation_code(name):
    gts, res = CORPORA[name] if name in CORPORA else random_corpus(int(name.split()[1]))
    theirs, _ = Bleu(4).compute_score(gts, res, verbose=0)
    assert M.bleu(gts, res) == pytest.approx(theirs, abs=1e-6)
    assert M.cider_d(gts, res) == pytest.approx(Cider().compute_score(gts, res)[0], abs=1e-6)


def test_bleu_by_hand():
    gts, res = {0: ["the cat is on the mat"]}, {0: ["the the the the"]}
    # p1 = clipped 2 / 4; p2 = 0 / 3 ... ; c = 4 < r = 6: BP = exp(1 - 6/4)
    assert M.bleu(gts, res, n=1)[0] == pytest.approx(0.5 * math.exp(1 - 6 / 4), abs=1e-9)


def test_cider_d_by_hand_one_word_corpus():
    # two images; the candidate of image 0 is its reference, "x" occurs in image 0's references only: df = 1, N = 2
    gts, res = {0: ["x"], 1: ["y"]}, {0: ["x"], 1: ["z"]}
    # image 0: unigram cosine 1, no 2-4-grams (their terms are 0): (1 + 0 + 0 + 0) / 4 * 10 = 2.5; image 1: 0
    assert M.cider_d(gts, res) == pytest.approx((2.5 + 0.0) / 2, abs=1e-9)


@pytest.mark.parametrize("gts, res, message", [
    ({1: ["a b"]}, {1: ["a"], 2: ["b"]}, r"image ids \[2\] of res are missing from gts"),
    ({1: ["a b"], 2: ["c"]}, {1: ["a"]}, r"image ids \[2\] of gts have no candidate"),
    ({1: []}, {1: ["a"]}, "non-empty list of reference captions"),
    ({1: ["a b"]}, {1: ["a", "b"]}, "exactly one candidate"),
    ({1: ["a b"]}, {1: "a"}, "exactly one candidate"),
])
def test_bad_input_is_named(gts, res, message):
    for metric in (M.bleu, M.cider_d):
        with pytest.raises(ValueError, match=message):
            metric(gts, res)
