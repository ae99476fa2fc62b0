"""The instruction data of notebook 24.12: every word is in the world's vocabulary, answers agree with the world's
question generator, two-hop questions are asked exactly where one other object shares the shape, rationales name each
hop, and the answer mask covers
exactly the target tokens."""
import numpy as np
import pytest

from course_utils.data import instructions as I
from course_utils.data.qa import questions
from course_utils.data.scene import COLOR_ZH, Obj, Scene, sort_of_clevr_scene
from course_utils.data.splits import sample_split_scene
from course_utils.data.tokenizer import Tokenizer

TOK = Tokenizer.for_world()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_instruction_and_rationale_encodes_without_unknown_words(lang):
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(40):
        texts += [f"{i.prompt} {i.answer}" for i in I.instructions(sample_split_scene(rng, "train"), lang, rng)]
        texts += [f"{e.prompt} {I.target_text(e, 'cot')}" for e in I.two_hop_examples(sort_of_clevr_scene(rng), lang)]
    for t in texts:
        assert TOK.unk_id not in TOK.encode(t), t


def test_types_cover_every_question_kind_of_the_world():
    rng = np.random.default_rng(1)
    kinds = {q.kind for _ in range(50) for q in questions(sample_split_scene(rng, "train"), "en", rng)}
    assert kinds <= set(I.KIND_TYPE)
    assert set(I.TYPES) == {"describe", *I.KIND_TYPE.values()}


def test_two_hop_answers_step_through_the_shape_and_the_rationale_ends_on_the_answer():
    rng = np.random.default_rng(2)
    asked = 0
    for _ in range(50):
        scene = sort_of_clevr_scene(rng)
        for lang in ("en", "zh"):
            got = I.two_hop_examples(scene, lang)
            for o in scene.objects:
                twins = [p for p in scene.objects if p is not o and p.shape == o.shape]
                mine = [e for e in got if (o.color if lang == "en" else COLOR_ZH[o.color]) in e.prompt]
                assert len(mine) == (len(twins) == 1)  # asked exactly when one other object shares the shape
                if mine:
                    asked += 1
                    want = twins[0].color if lang == "en" else COLOR_ZH[twins[0].color]
                    assert mine[0].answer == want
            for e in got:
                said, ans = I.split_rationale(TOK.decode(TOK.encode(I.target_text(e, "cot"))), lang)
                assert (said, ans) == (e.rationale, e.answer)
    assert asked > 50


def test_rationale_names_the_shape_then_the_other_object():
    scene = Scene([Obj("circle", "red", x=0.2, y=0.2), Obj("circle", "blue", x=0.8, y=0.2),
                   Obj("square", "green", x=0.5, y=0.8)])
    assert I.rationale(scene, "red", "en") == "the red object is a circle. the other circle is blue."
    assert I.rationale(scene, "red", "zh") == "红色物体是圆形。还有一个圆形是蓝色的。"
    assert I.same_shape_partner(scene, "green") is None
    with pytest.raises(ValueError, match="green object has no single other object"):
        I.rationale(scene, "green", "en")
    with pytest.raises(ValueError, match="no purple object"):
        I.same_shape_partner(scene, "purple")


def test_direct_target_is_the_answer_alone():
    rng = np.random.default_rng(4)
    e = next(e for _ in range(20) for e in I.two_hop_examples(sort_of_clevr_scene(rng), "en"))
    assert I.target_text(e, "direct") == e.answer
    with pytest.raises(ValueError, match="style 'both'"):
        I.target_text(e, "both")


def test_answer_mask_covers_the_target_and_its_eos_only():
    batch = I.tokenize_examples(["how many objects are there?", "图中有什么？"], ["3", "图中有一个红色的大圆形。"], TOK)
    ids, mask = batch["ids"], batch["answer_mask"]
    assert ids.shape == mask.shape and ids[0, 0] == TOK.bos_id
    assert TOK.decode(ids[0][mask[0]]) == "3" and ids[0][mask[0]][-1] == TOK.eos_id
    assert TOK.decode(ids[1][mask[1]]) == "图中有一个红色的大圆形。"
    assert not mask[ids == TOK.pad_id].any()


def test_pad_examples_needs_one_answer_per_prompt():
    batch = I.pad_examples([[TOK.bos_id, 5, 6], [TOK.bos_id]], [[7, TOK.eos_id], [8, 9, TOK.eos_id]], TOK.pad_id)
    assert batch["ids"].tolist() == [[TOK.bos_id, 5, 6, 7, TOK.eos_id], [TOK.bos_id, 8, 9, TOK.eos_id, TOK.pad_id]]
    assert batch["answer_mask"].tolist() == [[False, False, False, True, True], [False, True, True, True, False]]
    with pytest.raises(ValueError, match="2 prompts for 1 answers"):
        I.pad_examples([[1], [1]], [[2]], TOK.pad_id)
    with pytest.raises(ValueError, match="0 prompts for 0 answers"):
        I.pad_examples([], [], TOK.pad_id)


@pytest.mark.parametrize("prompt", ["", "   "])
def test_empty_prompt_is_rejected_naming_the_value(prompt):
    with pytest.raises(ValueError, match=f"prompt {prompt!r} is empty"):
        I.prompt_ids([prompt], TOK)


def test_unknown_word_and_single_string_are_rejected():
    with pytest.raises(ValueError, match="outside the world's vocabulary"):
        I.prompt_ids(["what is a dog?"], TOK)
    with pytest.raises(ValueError, match="single string"):
        I.prompt_ids("what is in the image?", TOK)
