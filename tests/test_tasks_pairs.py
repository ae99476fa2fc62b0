"""The five modality-pair experiments of notebook 24.2 (course_utils.tasks.pairs)."""
import math

import pytest
import torch

from course_utils.data import COLORS, Obj, Scene, Tokenizer, sonify, spectrogram
from course_utils.data.audio import N_FREQ
from course_utils.nn.clip import LOGIT_SCALE_MAX
from course_utils.nn.clip_loss import multi_positive_clip_loss
from course_utils.tasks import pairs as P

TINY = P.RunConfig(n_train=64, n_test=32, steps=3, batch_size=16)


def test_scene_key_ignores_position_and_object_order():
    a = Scene([Obj("circle", "red", "large", 0.2, 0.2, 0), Obj("square", "blue", "small", 0.8, 0.8, 1)])
    b = Scene([Obj("square", "blue", "small", 0.1, 0.5, 0), Obj("circle", "red", "large", 0.7, 0.3, 1)])
    c = Scene([Obj("circle", "red", "small", 0.2, 0.2, 0), Obj("square", "blue", "small", 0.8, 0.8, 1)])
    assert P.scene_key(a) == P.scene_key(b) != P.scene_key(c)


def test_same_key_marks_equal_keys_across_two_lists():
    same = P.same_key(["x", "y", "x"], ["y", "x"])
    assert same.tolist() == [[False, True], [True, False], [False, True]]


def test_chance_recall_with_one_relevant_item_is_k_over_gallery_size():
    relevant = torch.eye(10, dtype=torch.bool)
    assert P.chance_recall(relevant, 1) == pytest.approx(0.1)
    assert P.chance_recall(relevant, 5) == pytest.approx(0.5)


def test_chance_accuracy_is_the_majority_share():
    assert P.chance_accuracy(torch.tensor([1.0, 1, 0, 1])) == pytest.approx(0.75)
    assert P.chance_accuracy(torch.tensor([0.0, 0, 0, 1])) == pytest.approx(0.75)
    assert P.chance_accuracy(torch.tensor([0.0, 1])) == pytest.approx(0.5)


def test_spectrogram_rows_are_the_audio_modules_n_freq():
    assert spectrogram(sonify(Scene([Obj("circle", "red")]))).shape[0] == N_FREQ == P.SpectrogramEncoder().n_freq
    assert P.CorrespondenceNet().audio.n_freq == P.SoundAttributeNet().encoder.n_freq == N_FREQ


def test_encoders_give_one_vector_per_item_and_reject_bad_shapes():
    assert P.ImageEncoder(4, 8, 16)(torch.rand(2, 4, 32, 32)).shape == (2, 16)
    assert P.ConvTextEncoder(50, 16, 16)(torch.randint(1, 50, (3, 7))).shape == (3, 16)
    assert P.SpectrogramEncoder(N_FREQ, 8, 16)(torch.randn(2, N_FREQ, 20)).shape == (2, 16)
    assert P.VideoEncoder(8, 16)(torch.rand(2, 3, 3, 32, 32)).shape == (2, 16)
    with pytest.raises(ValueError, match="token ids"):
        P.ConvTextEncoder(50)(torch.rand(3, 7))
    with pytest.raises(ValueError, match="clips"):
        P.VideoEncoder()(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="spectrograms"):
        P.SpectrogramEncoder()(torch.randn(2, 64, 20))


def test_conv_text_encoder_ignores_padding():
    enc = P.ConvTextEncoder(50, 16, 16).eval()
    ids = torch.tensor([[1, 7, 9, 2]])
    padded = torch.tensor([[1, 7, 9, 2, 0, 0]])
    assert torch.allclose(enc(ids), enc(padded), atol=1e-6)


def test_dual_encoder_with_one_encoder_shares_its_weights():
    enc = P.ConvTextEncoder(50, 16, 16)
    model = P.DualEncoder(enc)
    assert model.encoder_a is model.encoder_b
    ids = torch.randint(1, 50, (4, 6))
    za, zb, scale = model(ids, ids)
    assert torch.allclose(za, zb) and torch.allclose(za.norm(dim=1), torch.ones(4))
    assert scale.item() == pytest.approx(1 / 0.07, rel=1e-4)


def test_dual_encoder_logit_scale_is_capped_like_clip():
    model = P.DualEncoder(P.ConvTextEncoder(50, 8, 8), tau=1e-4)           # 1/tau = 10,000 is asked for
    ids = torch.randint(1, 50, (2, 5))
    assert model(ids, ids)[2].item() == pytest.approx(math.exp(LOGIT_SCALE_MAX))


def test_similarity_is_the_cosine_of_the_two_sides():
    model = P.DualEncoder(P.ImageEncoder(3, 8, 8), P.ConvTextEncoder(50, 8, 8)).eval()
    img, ids = torch.rand(5, 3, 32, 32), torch.randint(1, 50, (4, 6))
    sim = P.similarity(model, img, ids)
    with torch.no_grad():
        za, zb, _ = model(img[:4], ids)
    assert sim.shape == (5, 4) and torch.allclose(sim[:4], za @ zb.T, atol=1e-6)


def test_torch_generator_streams_are_reproducible_and_independent():
    draw = lambda g: torch.randint(1000, (8,), generator=g).tolist()
    assert draw(P.torch_generator(3, 0)) == draw(P.torch_generator(3, 0))
    assert draw(P.torch_generator(3, 0)) != draw(P.torch_generator(3, 1))
    assert draw(P.torch_generator(3, 0)) != draw(P.torch_generator(4, 0))


def test_config_follows_the_mode_and_rejects_unknown_pairs():
    from course_utils import settings

    assert P.config("image-depth") == settings.pick(P.FAST_CONFIGS["image-depth"], P.CONFIGS["image-depth"])
    assert set(P.CONFIGS) == set(P.FAST_CONFIGS)
    with pytest.raises(ValueError, match="unknown modality pair"):
        P.config("image-smell")


def test_data_builders_need_a_seed_and_follow_it():
    with pytest.raises(TypeError):
        P.depth_order_data(10)
    a, b = P.sound_attribute_data(8, seed=1), P.sound_attribute_data(8, seed=2)
    assert torch.equal(a["spec"], P.sound_attribute_data(8, seed=1)["spec"]) and not torch.equal(a["spec"], b["spec"])


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


def test_pair_batches_give_rows_and_their_multi_positive_targets():
    a, b = torch.arange(10)[:, None], -torch.arange(10)[:, None]
    same = P.same_key(["x", "y"] * 5)
    rows_a, rows_b, target = P.pair_batches(a, b, same, 6, torch.Generator().manual_seed(0))(0)
    assert torch.equal(rows_a, -rows_b) and target.shape == (6, 6) and target.diagonal().all()
    i = rows_a[:, 0]
    assert torch.equal(target, (i[:, None] % 2) == (i[None, :] % 2))


def test_contrastive_loss_is_the_multi_positive_info_nce():
    model = P.DualEncoder(P.ConvTextEncoder(50, 8, 8))
    ids = torch.randint(1, 50, (4, 5))
    same = torch.eye(4, dtype=torch.bool)
    za, zb, scale = model(ids, ids)
    assert torch.allclose(P.contrastive_loss(model, (ids, ids, same)), multi_positive_clip_loss(za, zb, scale, same))


def test_correspondence_labels_say_whether_the_sound_fits_the_clip():
    keys = ["a", "b", "a", "c"] * 5
    vid, aud, y = P.correspondence_pairs(keys, 400, torch.Generator().manual_seed(0))
    assert torch.equal(y.bool(), torch.tensor([keys[i] == keys[j] for i, j in zip(vid.tolist(), aud.tolist())]))
    assert 0.4 < y.mean().item() < 0.8          # half matched by construction, plus negatives with equal keys


def test_av_clips_shapes():
    d = P.av_clips(5, seed=0, frames=3)
    assert d["video"].shape == (5, 3, 3, 32, 32)
    assert d["spec"].shape[:2] == (5, N_FREQ)
    net = P.CorrespondenceNet(dim=16, video_width=8, audio_width=8)
    assert net(d["video"], d["spec"]).shape == (5,)


def test_correspondence_report_has_accuracy_chance_and_the_hard_negative_probe():
    test = P.av_clips(12, seed=0)
    r = P.correspondence_report(P.CorrespondenceNet(dim=8, video_width=4, audio_width=8), test, seed=0)
    assert set(r) == {"acc", "chance", "acc matched", "acc mismatched", "color changed", "shape changed",
                      "size changed"}
    assert 0.5 <= r["chance"] <= 1 and all(0 <= v <= 1 for v in r.values())


def test_depth_order_data_is_balanced_and_labels_follow_draw_order():
    d = P.depth_order_data(40, seed=3, p_occluded=0.5)
    assert d["occluded"].sum().item() == 20
    for s, (a, b), y in zip(d["scenes"], d["query"].tolist(), d["label"].tolist()):
        depth = {COLORS.index(o.color): o.depth for o in s.objects}
        assert y == float(depth[a] > depth[b])
    # the depth map shows the front object: its nearness is the larger value inside the image
    assert torch.allclose(d["depth"].amax(dim=(1, 2, 3)), torch.full((40,), 0.2))
    with pytest.raises(ValueError, match="p_occluded"):
        P.depth_order_data(4, seed=0, p_occluded=1.5)


def test_depth_order_net_reads_the_two_named_scores():
    net = P.DepthOrderNet("rgbd", width=8, dim=16)
    rgb, depth = torch.rand(3, 3, 32, 32), torch.rand(3, 1, 32, 32)
    q = torch.tensor([[0, 1], [1, 0], [2, 2]])
    logit = net(rgb, depth, q)
    assert logit.shape == (3,) and logit[2].item() == 0.0
    with pytest.raises(ValueError, match="unknown inputs"):
        P.DepthOrderNet("rgb-d")


def test_depth_order_correct_is_one_bool_per_question():
    d = P.depth_order_data(10, seed=0)
    correct = P.depth_order_correct(P.DepthOrderNet("depth", width=4, dim=8), d)
    assert correct.shape == (10,) and correct.dtype == torch.bool


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
    assert d["spec"].shape[:2] == (6, N_FREQ) and d["labels"].shape == (6, 3)
    model = P.SoundAttributeNet(width=8, dim=8)
    out = model(d["spec"])
    assert {k: v.shape[1] for k, v in out.items()} == {"color": 6, "shape": 3, "size": 2}
    assert P.describe_prediction(out, 0).startswith("a ")
    correct = P.sound_correct(model, d)
    with torch.no_grad():
        out = model.eval()(d["spec"])
    assert torch.equal(correct[:, 1], out["shape"].argmax(1) == d["labels"][:, 1])


def test_noise_bins_split_the_training_range_evenly():
    level, labels = P.noise_bins(torch.tensor([0.0, 0.09, 0.11, 0.25, 0.3]))
    assert level.tolist() == [0, 0, 1, 2, 2] and labels == ["0.0-0.1", "0.1-0.2", "0.2-0.3"]


def test_altered_sounds_change_exactly_one_attribute_of_one_object():
    d = P.av_clips(6, seed=1, frames=2)
    for attribute in P.ATTRIBUTES:
        spec = P.altered_sounds(d["scenes"], attribute, seed=0)
        assert spec.shape == d["spec"].shape
        assert ((spec - d["spec"]).abs().flatten(1).amax(1) > 1e-3).all()     # every sound differs from the truth
    with pytest.raises(ValueError, match="unknown attribute"):
        P.altered_sounds(d["scenes"], "position", seed=0)


@pytest.mark.parametrize("run", [P.run_image_text, P.run_correspondence, P.run_depth_order, P.run_sound_attributes,
                                 P.run_multilingual])
def test_runs_repeat_for_a_seed_and_change_with_it(run):
    a, b, c = run(0, TINY), run(0, TINY), run(1, TINY)
    assert a == b and a != c


def test_run_depth_order_reports_every_input_on_every_subset():
    r = P.run_depth_order(0, TINY)
    assert set(r) == {"rgb", "depth", "rgbd"} and all(set(v) == {"all", "occluded", "separate"} for v in r.values())


def test_altered_sounds_work_when_one_color_holds_every_shape():
    scene = Scene([Obj("circle", "red"), Obj("square", "red"), Obj("triangle", "red")])
    spec = P.altered_sounds([scene], "shape", seed=0)
    assert (spec - spectrogram(sonify(scene))[None]).abs().amax() > 1e-3


def test_correspondence_batches_give_fresh_pairs_and_the_loss_reports_accuracy():
    clips = P.av_clips(10, seed=0, frames=2)
    batches = P.correspondence_batches(clips, 6, torch.Generator().manual_seed(0))
    video, spec, y = batches(0)
    assert video.shape == (6, 2, 3, 32, 32) and spec.shape[:2] == (6, N_FREQ) and set(y.tolist()) <= {0.0, 1.0}
    assert not torch.equal(batches(1)[1], spec)
    loss, logs = P.correspondence_loss(P.CorrespondenceNet(dim=8, video_width=4, audio_width=8), (video, spec, y))
    assert loss.dim() == 0 and 0 <= logs["acc"] <= 1


def test_sound_loss_is_the_sum_of_the_three_cross_entropies():
    d = P.sound_attribute_data(5, seed=0)
    model = P.SoundAttributeNet(width=8, dim=8)
    out = model(d["spec"])
    expected = sum(torch.nn.functional.cross_entropy(out[n], d["labels"][:, j]) for j, n in enumerate(P.ATTRIBUTES))
    assert torch.allclose(P.sound_loss(model, (d["spec"], d["labels"])), expected)


def test_depth_order_loss_is_binary_cross_entropy_of_the_front_logit():
    d = P.depth_order_data(6, seed=0)
    net = P.DepthOrderNet("rgbd", width=4, dim=8)
    batch = (d["rgb"], d["depth"], d["query"], d["label"])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(net(*batch[:3]), d["label"])
    assert torch.allclose(P.depth_order_loss(net, batch), expected)


def test_trainers_repeat_for_a_seed():
    d = P.depth_order_data(32, seed=0)
    a, b = (P.train_depth_order("rgb", d, seed=1, steps=2, batch_size=8) for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    s = P.sound_attribute_data(32, seed=0)
    a, b = (P.train_sound_attributes(s, seed=1, cfg=TINY) for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_run_image_text_takes_another_text_encoder():
    class Mean(torch.nn.Module):
        def __init__(self, vocab_size):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, 64)     # the image side gives 64-d features

        def forward(self, tokens):
            return self.embed(tokens).mean(1)

    r = P.run_image_text(0, TINY, text_encoder=Mean)
    assert set(r) == {"R@1", "R@5", "chance R@1", "chance R@5"} and r != P.run_image_text(0, TINY)
