"""Tokenizer: closed vocabulary, exact round trip on everything the world writes, padding and specials."""
import numpy as np
import pytest
import torch

from course_utils.data import (
    CAPTION_TEMPLATES,
    SPECIALS,
    Tokenizer,
    caption,
    questions,
    sample_scene,
    sort_of_clevr_scene,
)


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.for_world()


def world_texts(lang, n=1000, seed=0):
    """n captions and n questions (with answers) of random scenes."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        s = sort_of_clevr_scene(rng) if k % 10 == 0 else sample_scene(rng, (1, 6))
        out.append(caption(s, lang, rng))
        mode = "sort_of_clevr" if k % 10 == 0 else "world"
        qs = questions(s, lang, rng, mode=mode)
        q = qs[int(rng.integers(len(qs)))]
        out += [q.question, q.answer]
    return out


def test_special_token_ids(tok):
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id, tok.mask_id, tok.cls_id) == (0, 1, 2, 3, 4, 5)
    assert tok.itos[:6] == list(SPECIALS) and len(tok) == tok.vocab_size < 300


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_round_trip_is_exact_on_1000_captions_and_questions(tok, lang):
    for text in world_texts(lang):
        ids = tok.encode(text)
        assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and tok.unk_id not in ids, text
        assert tok.decode(ids) == text


def test_every_template_and_object_count_is_in_the_vocabulary(tok):
    rng = np.random.default_rng(1)
    for n in range(1, 10):
        s = sample_scene(rng, n, sizes=("small",))
        for lang in ("en", "zh"):
            for t in CAPTION_TEMPLATES:
                assert tok.unk_id not in tok.encode(caption(s, lang, template=t))


def test_chinese_is_split_into_words(tok):
    assert tok.tokenize("一个红色的圆形在蓝色正方形的左边。") == \
        ["一个", "红色", "的", "圆形", "在", "蓝色", "正方形", "的", "左边", "。"]
    assert tok.tokenize("an orange triangle, above.") == ["an", "orange", "triangle", ",", "above", "."]


def test_unknown_words_become_unk(tok):
    ids = tok.encode("a pink hexagon", add_special=False)
    assert ids[1] == ids[2] == tok.unk_id and tok.decode(ids) == "a <unk> <unk>"
    assert tok.unk_id in tok.encode("一个粉色的圆形")


def test_batch_pads_with_pad_id_and_masks_padding(tok):
    texts = ["a red circle.", "图中有几个物体？"]
    ids = tok.batch(texts)
    assert ids.dtype == torch.long and ids.shape == (2, max(len(tok.encode(t)) for t in texts))
    mask = tok.attention_mask(ids)
    assert mask.sum(1).tolist() == [len(tok.encode(t)) for t in texts]
    assert (ids[~mask] == tok.pad_id).all()
    assert tok.decode_batch(ids) == texts


def test_batch_truncates_to_max_len_keeping_eos(tok):
    ids = tok.batch(["a large red circle and a small blue square."], max_len=5)
    assert ids.shape == (1, 5) and ids[0, -1] == tok.eos_id


def test_vocabulary_is_deterministic():
    assert Tokenizer.for_world().itos == Tokenizer.for_world().itos
