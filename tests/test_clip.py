"""CLIP from scratch against open_clip: copied weights give the same features; logit scale; zero-shot; errors."""
import math

import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.zero_shot_classifier import build_zero_shot_classifier as open_clip_zero_shot_classifier

from course_utils.nn.clip import CLIP, CLIPConfig
from course_utils.nn.clip_loss import clip_loss
from course_utils.nn.zero_shot import build_zero_shot_classifier, zero_shot_logits, zero_shot_predict

EOS = 2


def tiny_clip(seed=0):
    torch.manual_seed(seed)
    return CLIP(CLIPConfig.fast(vocab_size=50, eos_id=EOS, context_length=12))


def batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, 32, 32, generator=g)
    tokens = torch.randint(3, 50, (n, 12), generator=g)
    tokens[torch.arange(n), torch.randint(2, 12, (n,), generator=g)] = EOS
    return images, tokens


def assert_same_features(ours, theirs, images, tokens, atol=1e-5):
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        for normalize in (False, True):
            d_img = (ours.encode_image(images, normalize) - theirs.encode_image(images, normalize)).abs().max()
            d_txt = (ours.encode_text(tokens, normalize) - theirs.encode_text(tokens, normalize)).abs().max()
            assert d_img <= atol and d_txt <= atol, (d_img, d_txt)
        for a, b in zip(ours(images, tokens), theirs(images, tokens)):
            assert (a - b).abs().max() <= atol


def small_open_clip(**kw):
    torch.manual_seed(0)
    return open_clip.model.CLIP(
        embed_dim=24,
        vision_cfg=dict(image_size=32, patch_size=8, width=32, layers=2, head_width=16),
        text_cfg=dict(context_length=16, vocab_size=100, width=32, heads=4, layers=2),
        **kw,
    )


def open_clip_tokens(n=3, context_length=16, vocab_size=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, vocab_size - 1, (n, context_length), generator=g)
    ends = torch.randint(2, context_length, (n,), generator=g)
    tokens[torch.arange(n), ends] = vocab_size - 1  # <end_of_text>: the largest id, found by argmax
    tokens[torch.arange(context_length)[None] > ends[:, None]] = 0  # padding after it
    return tokens


# ------------------------------------------------------------------ the model


def test_forward_returns_normalized_features_and_scale_like_open_clip():
    images, tokens = batch()
    z_img, z_txt, scale = tiny_clip()(images, tokens)
    assert z_img.shape == z_txt.shape == (4, 32)
    assert torch.allclose(z_img.norm(dim=-1), torch.ones(4)) and torch.allclose(z_txt.norm(dim=-1), torch.ones(4))
    assert scale.shape == ()


def test_logit_scale_starts_at_one_over_0_07():
    model = tiny_clip()
    assert math.isclose(model.logit_scale.item(), math.log(1 / 0.07), rel_tol=1e-6)
    assert math.isclose(model(*batch())[2].item(), 1 / 0.07, rel_tol=1e-5)


def test_logit_scale_is_clamped_at_100():
    model = tiny_clip()
    with torch.no_grad():
        model.logit_scale.fill_(10.0)  # exp(10) ≈ 22026
    assert math.isclose(model(*batch())[2].item(), 100.0, rel_tol=1e-5)
    model.clamp_logit_scale_()
    assert math.isclose(model.logit_scale.item(), math.log(100), rel_tol=1e-6)


def test_gradients_reach_every_parameter():
    model = tiny_clip()
    clip_loss(*model(*batch())).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_image_of_the_wrong_size_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="expected 32×32 images, got 24×24"):
        tiny_clip().encode_image(torch.rand(1, 3, 24, 24))
    with pytest.raises(ValueError, match="image size 30 is not divisible by patch size 8"):
        tiny_clip().encode_image(torch.rand(1, 3, 30, 30))


def test_token_id_beyond_vocab_raises_value_error_naming_it():
    _, tokens = batch()
    tokens[1, 0] = 57
    with pytest.raises(ValueError, match="token id 57 is out of range for vocab_size 50"):
        tiny_clip().encode_text(tokens)


def test_config_with_conflicting_widths_raises_value_error():
    from course_utils.nn.text import TextConfig

    with pytest.raises(ValueError, match="text output_dim 16 differs from embed_dim 32"):
        CLIPConfig(text=TextConfig(output_dim=16), embed_dim=32)


def test_conv_image_tower_gives_embed_dim_features_and_trains():
    torch.manual_seed(0)
    model = CLIP(CLIPConfig.fast(vocab_size=50, eos_id=EOS, context_length=12, image_tower="conv", conv_width=4))
    images, tokens = batch()
    z_img, z_txt, scale = model(images, tokens)
    assert z_img.shape == z_txt.shape == (4, 32)
    assert torch.allclose(z_img.norm(dim=-1), torch.ones(4), atol=1e-6)
    clip_loss(z_img, z_txt, scale).backward()
    assert all(p.grad is not None for p in model.visual.parameters())
    # global average pooling: the tower reads any size divisible into three 2× poolings
    assert model.encode_image(torch.rand(2, 3, 16, 16)).shape == (2, 32)


def test_conv_tower_errors_name_the_value():
    with pytest.raises(ValueError, match="image_tower must be 'vit' or 'conv', got 'resnet'"):
        CLIPConfig(image_tower="resnet")
    with pytest.raises(ValueError, match="conv_width must be >= 1, got 0"):
        CLIPConfig(image_tower="conv", conv_width=0)
    model = CLIP(CLIPConfig(image_tower="conv", conv_width=4))
    with pytest.raises(ValueError, match=r"expected images \(B, 3, H, W\), got shape \(3, 32, 32\)"):
        model.encode_image(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="image size 4 is too small"):
        model.encode_image(torch.rand(1, 3, 4, 4))


# ------------------------------------------------------------------ open_clip weights


def test_from_open_clip_small_custom():
    theirs = small_open_clip()
    ours = CLIP.from_open_clip(theirs)
    assert ours.config.vision.act == "gelu" and ours.config.text.pool == "eot_argmax"
    assert_same_features(ours, theirs, torch.randn(3, 3, 32, 32), open_clip_tokens())


def test_from_open_clip_quick_gelu():
    theirs = small_open_clip(quick_gelu=True)
    ours = CLIP.from_open_clip(theirs)
    assert ours.config.vision.act == ours.config.text.act == "quick_gelu"
    assert_same_features(ours, theirs, torch.randn(3, 3, 32, 32), open_clip_tokens())


def test_from_open_clip_eos_pooling_and_mean_pool():
    torch.manual_seed(0)
    theirs = open_clip.model.CLIP(
        embed_dim=16,
        vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=1, head_width=16, pool_type="avg"),
        text_cfg=dict(context_length=12, vocab_size=50, width=32, heads=2, layers=1, pool_type="eos", eos_id=EOS),
    )
    ours = CLIP.from_open_clip(theirs)
    assert ours.config.vision.pool == "mean" and ours.config.text.pool == "eos_id"
    images, tokens = batch(3)
    assert_same_features(ours, theirs, images, tokens)


def test_from_open_clip_vit_b_32():
    theirs = open_clip.create_model("ViT-B-32", pretrained=None)
    ours = CLIP.from_open_clip(theirs)
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    image = torch.randn(1, 3, 224, 224)
    assert_same_features(ours, theirs, image, tokenizer(["a photo of a red circle."]))


def test_from_open_clip_rejects_unsupported_towers():
    theirs = small_open_clip()
    theirs.text_pool_type = "first"
    with pytest.raises(ValueError, match="text pool_type 'first' is not supported"):
        CLIP.from_open_clip(theirs)


# ------------------------------------------------------------------ zero-shot


class CharTokenizer:
    """A tiny callable tokenizer for the zero-shot test: characters -> ids, eos = 2, padded to 24."""

    def __call__(self, texts):
        out = torch.zeros(len(texts), 24, dtype=torch.long)
        for i, t in enumerate(texts):
            ids = [3 + (ord(ch) % 47) for ch in t[:23]] + [EOS]
            out[i, : len(ids)] = torch.tensor(ids)
        return out


def test_zero_shot_classifier_matches_open_clip():
    theirs = small_open_clip()
    theirs.text_pool_type = "eos"  # pool at our character tokenizer's eos id
    theirs.text_eos_id = EOS
    torch.manual_seed(0)
    theirs.positional_embedding = torch.nn.Parameter(torch.randn(24, 32) * 0.01)  # context 24 for the tokenizer
    theirs.attn_mask = theirs.attn_mask.new_full((24, 24), float("-inf")).triu_(1)
    theirs.eval()
    ours = CLIP.from_open_clip(theirs).eval()
    classes = ["red circle", "blue square", "green triangle"]
    templates = ["a photo of a {}.", "a drawing of a {}.", "there is a {}."]
    tok = CharTokenizer()
    ref = open_clip_zero_shot_classifier(theirs, tok, classes, templates, num_classes_per_batch=2)
    w = build_zero_shot_classifier(ours, tok, classes, templates, num_classes_per_batch=2)
    assert w.shape == (24, 3)
    assert (w - ref).abs().max() < 1e-5
    assert torch.allclose(w.norm(dim=0), torch.ones(3), atol=1e-5)
    images = torch.randn(5, 3, 32, 32)
    logits = zero_shot_logits(ours, images, w)
    ref_logits = 100.0 * F.normalize(theirs.encode_image(images), dim=-1) @ ref
    assert torch.equal(zero_shot_predict(ours, images, w), ref_logits.argmax(-1))
    assert logits.shape == (5, 3)


def test_zero_shot_classifier_is_the_renormalized_mean_of_normalized_prompts():
    model = tiny_clip().eval()
    tok = CharTokenizer()
    model.text = CLIP(CLIPConfig.fast(vocab_size=50, eos_id=EOS, context_length=24)).text.eval()
    templates = ["a {}.", lambda c: f"one {c} here."]  # format strings or callables
    w = build_zero_shot_classifier(model, tok, ["cat"], templates)[:, 0]
    with torch.no_grad():
        z = F.normalize(model.encode_text(tok(["a cat.", "one cat here."])), dim=-1).mean(0)
    assert torch.allclose(w, z / z.norm(), atol=1e-6)


def test_zero_shot_template_without_slot_raises_value_error():
    with pytest.raises(ValueError, match="template 'a photo' has no"):
        build_zero_shot_classifier(tiny_clip(), CharTokenizer(), ["cat"], ["a photo"])
