"""Datasets: deterministic, held-out (color, shape) pairs never leak into train/test, items as documented."""
import pytest
import torch
from torch.utils.data import DataLoader

from course_utils.data import (
    ANSWERS,
    HELD_OUT_COMBOS,
    PAIRS,
    AudioVisualDataset,
    CaptionDataset,
    RGBDDataset,
    VQADataset,
    answer_index,
    caption,
    sample_split_scenes,
)
from course_utils.data.scene import COLORS, SHAPES


def test_held_out_pairs_leave_every_color_and_shape_in_training():
    train_pairs = set(PAIRS) - set(HELD_OUT_COMBOS)
    assert 4 <= len(HELD_OUT_COMBOS) <= 6 and set(HELD_OUT_COMBOS) <= set(PAIRS)
    assert {c for c, _ in train_pairs} == set(COLORS) and {s for _, s in train_pairs} == set(SHAPES)


def test_train_and_test_never_contain_held_out_pairs():
    for split in ("train", "test"):
        for s in sample_split_scenes(1500, seed=0, split=split, n_objects=(1, 4)):
            assert not set(s.pairs()) & set(HELD_OUT_COMBOS)


def test_every_heldout_scene_contains_a_held_out_pair():
    for s in sample_split_scenes(1000, seed=0, split="heldout", n_objects=(1, 4)):
        assert set(s.pairs()) & set(HELD_OUT_COMBOS)
        assert len(set(s.pairs())) == len(s.objects)


def test_splits_differ_and_each_is_reproducible():
    a = sample_split_scenes(50, 1, "train")
    assert a == sample_split_scenes(50, 1, "train")
    assert a != sample_split_scenes(50, 1, "test") and a != sample_split_scenes(50, 2, "train")


def test_caption_dataset_items_and_parallel_languages():
    en = CaptionDataset(200, seed=3, split="train")
    zh = CaptionDataset(200, seed=3, split="train", lang="zh")
    assert torch.equal(en.rgb, zh.rgb)
    item = en[5]
    assert item["image"].shape == (3, 32, 32) and item["tokens"].dtype == torch.long
    assert item["caption"] == en.captions[5] and en.tokenizer.decode(item["tokens"]) == item["caption"]
    assert zh[5]["caption"] in {caption(zh.scenes[5], "zh", template=t) for t in ("list", "count", "relation",
                                                                                 "position")}
    assert int(item["n_objects"]) == len(en.scenes[5].objects)
    batch = next(iter(DataLoader(en, batch_size=8)))
    assert batch["image"].shape == (8, 3, 32, 32) and len(batch["caption"]) == 8


def test_datasets_are_deterministic():
    a, b = VQADataset(100, seed=4), VQADataset(100, seed=4)
    assert torch.equal(a.rgb, b.rgb) and [q.question for q in a.qas] == [q.question for q in b.qas]
    assert torch.equal(a.answer_ids, b.answer_ids)


def test_dataset_pairs_key_matches_the_scene():
    ds = RGBDDataset(50, seed=1, split="heldout")
    for i in range(50):
        ids = ds[i]["pairs"]
        assert [PAIRS[k] for k in ids[ids >= 0].tolist()] == ds.scenes[i].pairs()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_vqa_dataset_answers_and_families(lang):
    ds = VQADataset(300, seed=2, lang=lang, questions_per_image=2)
    assert len(ds) == 600
    fams = {ds[i]["family"] for i in range(len(ds))}
    assert fams == {"non-relational", "relational", "count", "exist"}
    for i in range(0, 600, 7):
        it = ds[i]
        assert int(it["answer_id"]) == answer_index(it["answer"]) < len(ANSWERS)
        assert ds.tokenizer.decode(it["tokens"]) == it["question"]


def test_sort_of_clevr_vqa_has_question_vectors():
    ds = VQADataset(100, seed=0, mode="sort_of_clevr", questions_per_image=10, families=["relational"])
    it = ds[3]
    assert it["qvec"].shape == (11,) and it["family"] == "relational"
    assert len({o.color for o in ds.scenes[0].objects}) == 6


def test_audio_visual_dataset_matches_and_mismatches():
    ds = AudioVisualDataset(200, seed=0, p_mismatch=0.5)
    matches = [int(ds[i]["match"]) for i in range(200)]
    assert 60 < sum(matches) < 140
    for i in range(20):
        it = ds[i]
        assert (int(it["audio_index"]) == i) == bool(it["match"])
        assert it["audio"].shape == (4000,) and it["spec"].shape == (129, 63)


def test_rgbd_dataset_items():
    ds = RGBDDataset(100, seed=0, overlap=True)
    it = ds[0]
    assert it["rgb"].shape == (3, 32, 32) and it["depth"].shape == (1, 32, 32) and it["mask"].shape == (32, 32)
    for i in range(100):
        s = ds.scenes[i]
        front = max(s.objects, key=lambda o: o.depth)
        assert int(ds[i]["count"]) == len(s.objects) and SHAPES[int(ds[i]["front_shape"])] == front.shape


def test_the_seed_defaults_to_the_notebooks_seed():
    from course_utils import settings
    before = settings.SEED
    try:
        settings.seed_everything(7)
        assert RGBDDataset(5).seed == 7
        assert torch.equal(RGBDDataset(5).rgb, RGBDDataset(5, seed=7).rgb)
    finally:
        settings.seed_everything(before)
