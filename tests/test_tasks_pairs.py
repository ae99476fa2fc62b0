"""The five modality-pair experiments of notebook 24.2 (course_utils.tasks.pairs)."""
import pytest
import torch

from course_utils.data import COLORS, Obj, Scene, Tokenizer, sonify
from course_utils.tasks import pairs as P


def test_attribute_key_ignores_position_and_object_order():
    a = Scene([Obj("circle", "red", "large", 0.2, 0.2, 0), Obj("square", "blue", "small", 0.8, 0.8, 1)])
    b = Scene([Obj("square", "blue", "small", 0.1, 0.5, 0), Obj("circle", "red", "large", 0.7, 0.3, 1)])
    c = Scene([Obj("circle", "red", "small", 0.2, 0.2, 0), Obj("square", "blue", "small", 0.8, 0.8, 1)])
    assert P.attribute_key(a) == P.attribute_key(b) != P.attribute_key(c)


def test_same_key_marks_equal_keys_across_two_lists():
    same = P.same_key(["x", "y", "x"], ["y", "x"])
    assert same.tolist() == [[False, True], [True, False], [False, True]]


def test_chance_recall_with_one_relevant_item_is_k_over_gallery_size():
    relevant = torch.eye(10, dtype=torch.bool)
    assert P.chance_recall(relevant, 1) == pytest.approx(0.1)
    assert P.chance_recall(relevant, 5) == pytest.approx(0.5)


def test_encoders_give_one_vector_per_item_and_reject_bad_shapes():
    assert P.ImageEncoder(4, 8, 16)(torch.rand(2, 4, 32, 32)).shape == (2, 16)
    assert P.TextEncoder(50, 16, 16)(torch.randint(1, 50, (3, 7))).shape == (3, 16)
    assert P.SpectrogramEncoder(129, 8, 16)(torch.randn(2, 129, 20)).shape == (2, 16)
    assert P.VideoEncoder(8, 16)(torch.rand(2, 3, 3, 32, 32)).shape == (2, 16)
    with pytest.raises(ValueError, match="token ids"):
        P.TextEncoder(50)(torch.rand(3, 7))
    with pytest.raises(ValueError, match="clips"):
        P.VideoEncoder()(torch.rand(2, 3, 32, 32))


def test_text_encoder_ignores_padding():
    enc = P.TextEncoder(50, 16, 16).eval()
    ids = torch.tensor([[1, 7, 9, 2]])
    padded = torch.tensor([[1, 7, 9, 2, 0, 0]])
    assert torch.allclose(enc(ids), enc(padded), atol=1e-6)


def test_dual_encoder_with_one_encoder_shares_its_weights():
    enc = P.TextEncoder(50, 16, 16)
    model = P.DualEncoder(enc)
    assert model.encoder_a is model.encoder_b
    ids = torch.randint(1, 50, (4, 6))
    za, zb, scale = model(ids, ids)
    assert torch.allclose(za, zb) and torch.allclose(za.norm(dim=1), torch.ones(4))
    assert scale.item() == pytest.approx(1 / 0.07, rel=1e-4)


def test_caption_retrieval_data_keys_describe_the_scenes():
    d = P.caption_retrieval_data(20, seed=1, tokenizer=Tokenizer.for_world())
    assert d["image"].shape == (20, 3, 32, 32) and d["tokens"].shape[0] == 20
    for cap, key in zip(d["caption"], d["keys"]):
        for size, color, shape in key:
            assert f"{size} {color} {shape}" in cap


def test_parallel_captions_share_scenes_and_templates():
    d = P.parallel_caption_data(12, seed=2)
    assert d["en"].shape[0] == d["zh"].shape[0] == 12
    for en, zh in zip(d["en_text"], d["zh_text"]):
        assert [o.color for o in P.parse_description(en)] == [o.color for o in P.parse_description(zh)] or \
            " is " in en     # relation captions name objects without size, in another order of phrases


def test_correspondence_labels_say_whether_the_sound_fits_the_clip():
    keys = ["a", "b", "a", "c"] * 5
    vid, aud, y = P.correspondence_pairs(keys, 400, torch.Generator().manual_seed(0))
    assert torch.equal(y.bool(), torch.tensor([keys[i] == keys[j] for i, j in zip(vid.tolist(), aud.tolist())]))
    assert 0.4 < y.mean().item() < 0.8          # half matched by construction, plus negatives with equal keys


def test_av_clips_shapes():
    d = P.av_clips(5, seed=0, frames=3)
    assert d["video"].shape == (5, 3, 3, 32, 32)
    assert d["spec"].shape[:2] == (5, 129)
    net = P.CorrespondenceNet(dim=16, video_width=8, audio_width=8)
    assert net(d["video"], d["spec"]).shape == (5,)


def test_depth_order_data_is_balanced_and_labels_follow_draw_order():
    d = P.depth_order_data(40, seed=3, p_occluded=0.5)
    assert d["occluded"].sum().item() == 20
    for s, (a, b), y in zip(d["scenes"], d["query"].tolist(), d["label"].tolist()):
        depth = {COLORS.index(o.color): o.depth for o in s.objects}
        assert y == float(depth[a] > depth[b])
    # the depth map shows the front object: its nearness is the larger value inside the image
    assert torch.allclose(d["depth"].amax(dim=(1, 2, 3)), torch.full((40,), 0.2))


def test_depth_order_net_reads_the_two_named_scores():
    net = P.DepthOrderNet("rgbd", width=8, dim=16)
    rgb, depth = torch.rand(3, 3, 32, 32), torch.rand(3, 1, 32, 32)
    q = torch.tensor([[0, 1], [1, 0], [2, 2]])
    logit = net(rgb, depth, q)
    assert logit.shape == (3,) and logit[2].item() == 0.0
    with pytest.raises(ValueError, match="unknown inputs"):
        P.DepthOrderNet("rgb-d")


def test_parse_description_reads_english_and_chinese_alike():
    en = P.parse_description("a large red circle and a small blue square.")
    zh = P.parse_description("图中有一个红色的大圆形和一个蓝色的小正方形。")
    assert [(o.size, o.color, o.shape) for o in en] == [(o.size, o.color, o.shape) for o in zh] == [
        ("large", "red", "circle"), ("small", "blue", "square")]
    assert torch.equal(P.speak("a large red circle"), sonify(Scene([Obj("circle", "red", "large")])))
    with pytest.raises(ValueError, match="names no object"):
        P.parse_description("a cat")


def test_sound_attribute_data_and_model_shapes():
    d = P.sound_attribute_data(6, seed=0)
    assert d["spec"].shape[:2] == (6, 129) and d["labels"].shape == (6, 3)
    out = P.SoundAttributeNet(width=8, dim=8)(d["spec"])
    assert {k: v.shape[1] for k, v in out.items()} == {"color": 6, "shape": 3, "size": 2}
    assert P.describe_prediction(out, 0).startswith("a ")


def test_altered_sounds_change_exactly_one_attribute_of_one_object():
    d = P.av_clips(6, seed=1, frames=2)
    for attribute in P.ATTRIBUTES:
        spec = P.altered_sounds(d["scenes"], attribute, seed=0)
        assert spec.shape == d["spec"].shape
        assert ((spec - d["spec"]).abs().flatten(1).amax(1) > 1e-3).all()     # every sound differs from the truth
    with pytest.raises(ValueError, match="unknown attribute"):
        P.altered_sounds(d["scenes"], "position")
