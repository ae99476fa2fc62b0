"""BLEU-1…4, CIDEr-D and METEOR from course_utils.metrics against pycocoevalcap's Bleu(4), Cider and Meteor (the COCO
caption evaluation code; its Meteor is Meteor 1.5 in Java) and BLEU-4 against sacrebleu, on corpora with an exact
match, a repeated word (clipping), a very short candidate (brevity penalty), no overlap, Chinese characters and the
world's captions; BLEU, CIDEr-D and METEOR values worked by hand; bad input named."""
import inspect
import itertools
import math
import random
import shutil
import zipfile
from pathlib import Path

import pytest
import sacrebleu
import snowballstemmer
from pycocoevalcap.bleu.bleu import Bleu  # a dev dependency: `make setup` installs it
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor

from course_utils import metrics as M
from course_utils.data.language import all_captions, caption
from course_utils.data.scene import COLORS
from course_utils.data.segment import split_words
from course_utils.data.splits import sample_split_scenes

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


def world_corpus(candidate: str, n: int = 200, seed: int = 0):
    """References: every template's caption of n test scenes (3 or 4, tokenized); the candidate: one template's caption
    of the scene ("true caption"), of the next scene ("another scene"), with its first color word changed ("one color
    changed") or cut to its first half ("truncated")."""
    scenes = sample_split_scenes(n, seed, "test")
    tokens = lambda text: " ".join(split_words(text, ()))
    gts, res = {}, {}
    for k, scene in enumerate(scenes):
        gts[k] = [tokens(c) for c in all_captions(scene)]
        shown = scenes[(k + 1) % n] if candidate == "another scene" else scene
        words = tokens(caption(shown, rng=seed * n + k)).split()  # a random template
        if candidate == "one color changed":
            c = next(t for t, w in enumerate(words) if w in COLORS)
            words[c] = COLORS[(COLORS.index(words[c]) + 1) % len(COLORS)]
        elif candidate == "truncated":
            words = words[: len(words) // 2]
        res[k] = [" ".join(words)]
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
    for metric in (M.bleu, M.cider_d, M.meteor):
        with pytest.raises(ValueError, match=message):
            metric(gts, res)


# ----------------------------------------------------------------------------------------------- BLEU and sacrebleu

def sacrebleu_references(gts: dict) -> list[list]:
    """sacrebleu's references: stream r holds every image's r-th reference, None where an image has fewer."""
    most = max(len(refs) for refs in gts.values())
    return [[refs[r] if r < len(refs) else None for refs in gts.values()] for r in range(most)]


@pytest.mark.parametrize("name", ["mixed", "world: one color changed"])
def test_bleu_4_equal_to_sacrebleu(name):
    """BLEU-4 = sacrebleu's corpus BLEU / 100 on corpora where every n-gram order has matches, 1 to 4 references.

    The call: sacrebleu.corpus_bleu(candidates, sacrebleu_references(gts), tokenize="none", smooth_method="none").
    Both clip each n-gram at its largest count in one reference, sum over the corpus, take for each candidate the
    closest reference length (the shorter at a tie) and BP = exp(1 − r/c) when c < r. Conventions that differ:
    sacrebleu reports ×100; its default tokenizer 13a re-tokenizes (the captions come tokenized, so "none"); its
    default smoothing "exp" raises an order with no match, where the COCO code adds 1e-15 / 1e-9 to every order
    (an order with no match then gives a tiny score, and 0 with smooth_method="none")."""
    gts, res = CORPORA["mixed"] if name == "mixed" else world_corpus("one color changed", n=50)
    candidates = [res[k][0] for k in gts]
    theirs = sacrebleu.corpus_bleu(candidates, sacrebleu_references(gts), tokenize="none", smooth_method="none")
    assert all(correct > 0 for correct in theirs.counts)  # every order has matches
    assert M.bleu(gts, res)[3] == pytest.approx(theirs.score / 100, abs=1e-6)


# ----------------------------------------------------------------------------------------------- METEOR

METEOR_CORPORA = {  # name: (gts, res), the largest |ours − Meteor 1.5| allowed
    "mixed": (CORPORA["mixed"], 1e-9),
    "stemming": (({1: ["a red circle ."], 2: ["two small squares ."], 3: ["two objects : a circle and a square ."]},
                  {1: ["a red circles ."], 2: ["two small square ."], 3: ["one object : a circle and a square ."]}),
                 1e-9),
    "random 0": (random_corpus(0), 1e-9),
    "random 1": (random_corpus(1), 1e-9),
    "random 2": (random_corpus(2), 1e-9),
    "world: true caption": (world_corpus("true caption"), 1e-9),
    "world: truncated": (world_corpus("truncated"), 1e-9),
    # Meteor aligns synonyms ("is" / "are") and its beam search can miss the best alignment (see below)
    "world: another scene": (world_corpus("another scene"), 0.01),
    "world: one color changed": (world_corpus("one color changed"), 0.01),
}


@pytest.fixture(scope="module")
def java_meteor():
    """pycocoevalcap's Meteor: Meteor 1.5, run as `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`."""
    if shutil.which("java") is None:
        pytest.fail("the METEOR reference (pycocoevalcap's Meteor 1.5) is a Java program and `java` is not on PATH: "
                    "run `make java-deps`, or `sudo apt-get install -y --no-install-recommends default-jre-headless`")
    return Meteor()


@pytest.mark.parametrize("name", METEOR_CORPORA)
def test_meteor_equal_to_meteor_1_5(java_meteor, name):
    (gts, res), tolerance = METEOR_CORPORA[name]
    theirs, _ = java_meteor.compute_score(gts, res)
    assert M.meteor(gts, res) == pytest.approx(theirs, abs=tolerance)


def test_meteor_function_words_are_those_of_meteor_1_5():
    jar = Path(inspect.getfile(Meteor)).parent / "meteor-1.5.jar"  # pycocoevalcap's copy
    with zipfile.ZipFile(jar) as z:
        words = z.read("function/english.words").decode("utf-8").split()
    assert len(words) == 93 and M.METEOR_FUNCTION_WORDS == set(words)


def test_meteor_by_hand_two_chunks():
    a = M.meteor_alignment("the cat sat on the mat", "on the mat the cat sat")
    # all 6 words align (P = R = Fmean = 1) in 2 chunks, "the cat sat" and "on the mat": Pen = 0.6 (2 / 6)^0.2
    assert (len(a.matches), a.chunks, a.precision, a.recall) == (6, 2, 1.0, 1.0)
    assert a.score == pytest.approx(1 - 0.6 * (2 / 6) ** 0.2, abs=1e-12)


def test_meteor_stem_match_circles_to_circle(java_meteor):
    a = M.meteor_alignment("a red circles .", "a red circle .")
    assert a.matches == [(0, 0, "exact"), (1, 1, "exact"), (2, 2, "stem"), (3, 3, "exact")] and a.chunks == 1
    # content words weigh δ = 0.75, function words ("a", ".") 0.25; the stem match counts 0.6: P = R = 1.7 / 2.0.
    # Every word aligned in one chunk: Pen = 0
    assert a.precision == pytest.approx(0.85, abs=1e-12) and a.penalty == 0
    assert a.score == pytest.approx(java_meteor.compute_score({0: ["a red circle ."]}, {0: ["a red circles ."]})[0])


def test_meteor_leaves_out_synonyms(java_meteor):
    a = M.meteor_alignment("a large circle", "a big circle")
    # "a" and "circle" align in 2 chunks: P = R = (0.25 + 0.75) / 1.75, Pen = 0.6 (2 / 2)^0.2
    assert a.score == pytest.approx(1 / 1.75 * (1 - 0.6), abs=1e-12)
    # Meteor's WordNet makes "large" / "big" synonyms (weight 0.8): 3 words in 1 chunk, P = R = 1.6 / 1.75, Pen = 0
    theirs, _ = java_meteor.compute_score({0: ["a big circle"]}, {0: ["a large circle"]})
    assert theirs == pytest.approx(1.6 / 1.75, abs=1e-9)


def test_meteor_finds_fewer_chunks_than_meteors_beam_search(java_meteor):
    """Meteor ranks partial alignments by their matches so far and keeps 40: the alignments that give the reference's
    first "red" the candidate's only "red" (near the end) rank ahead for 18 words and push out the one that leaves it
    to the second "red". Both have 21 matches; that one has 2 chunks, Meteor reports 4."""
    cand = "a purple circle is above a yellow square , and the yellow square is to the right of a red square ."
    ref = "a red circle is above a yellow square , and the yellow square is to the right of a red square ."
    a = M.meteor_alignment(cand, ref)
    assert (len(a.matches), a.chunks) == (21, 2)
    theirs, _ = java_meteor.compute_score({0: [ref]}, {0: [cand]})
    assert a.score == pytest.approx(a.fmean * (1 - 0.6 * (2 / 21) ** 0.2), abs=1e-12)
    assert theirs == pytest.approx(a.fmean * (1 - 0.6 * (4 / 21) ** 0.2), abs=1e-9)  # the same matches, 4 chunks


def test_meteor_alignment_is_the_best_by_meteors_ranking():
    """Against every one-to-one alignment of short captions: the most exact pairs, then the fewest chunks, then the
    most stem pairs."""
    stem = snowballstemmer.stemmer("english").stemWord
    rng = random.Random(0)
    words = "a a a the circle circles square squares red . ,".split()
    for _ in range(500):
        cand, ref = ([rng.choice(words) for _ in range(rng.randint(0, 7))] for _ in range(2))
        ranks = []  # (−exact pairs, chunks, −stem pairs) of every alignment
        for choice in itertools.product(*[[None] + [i for i, c in enumerate(cand) if stem(c) == stem(r)] for r in ref]):
            taken = [i for i in choice if i is not None]
            if len(taken) == len(set(taken)):
                pairs = {(i, j) for j, i in enumerate(choice) if i is not None}
                exact = sum(cand[i] == ref[j] for i, j in pairs)
                chunks = sum((i - 1, j - 1) not in pairs for i, j in pairs)
                ranks.append((-exact, chunks, exact - len(pairs)))
        a = M.meteor_alignment(" ".join(cand), " ".join(ref))
        exact = sum(module == "exact" for _, _, module in a.matches)
        assert len({i for i, _, _ in a.matches}) == len({j for _, j, _ in a.matches}) == len(a.matches)
        assert (-exact, a.chunks, exact - len(a.matches)) == min(ranks)
