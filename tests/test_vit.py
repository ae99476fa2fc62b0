"""Specifications of course_utils.nn.vit (and the CNN baseline): patches, positions, torchvision parity, rollout."""

import pytest
import torch
import torchvision
from torch import nn

from course_utils.bench.step_timer import time_train_step
from course_utils.nn import (
    PatchEmbedding,
    SmallCNN,
    VisionTransformer,
    ViTConfig,
    attention_rollout,
    patchify,
    sincos_2d_pos_embed,
    unpatchify,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_patchify_cuts_row_major_patches_flattened_channel_first():
    x = torch.randn(2, 3, 8, 12)
    patches = patchify(x, 4)  # (B, N, C·p·p)
    assert patches.shape == (2, 6, 48)
    torch.testing.assert_close(patches[:, 0], x[:, :, :4, :4].reshape(2, -1))
    torch.testing.assert_close(patches[:, 4], x[:, :, 4:8, 4:8].reshape(2, -1))  # row 1, column 1 of 2×3


def test_unpatchify_inverts_patchify():
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(unpatchify(patchify(x, 4), 4, channels=3), x)


def test_patch_embedding_equals_conv2d_with_stride_patch_size():
    embed = PatchEmbedding(image_size=16, patch_size=4, in_channels=3, dim=10)
    x = torch.randn(2, 3, 16, 16)
    conv = embed.to_conv()
    ref = conv(x).flatten(2).transpose(1, 2)  # (B, dim, 4, 4) -> (B, 16, dim)
    torch.testing.assert_close(embed(x), ref, atol=1e-5, rtol=0)
    other = nn.Conv2d(3, 10, 4, stride=4)
    torch.testing.assert_close(embed.load_conv_(other)(x), other(x).flatten(2).transpose(1, 2), atol=1e-5, rtol=0)


def test_from_torchvision_tiny_vit_gives_the_same_logits():
    ref = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                               hidden_dim=32, mlp_dim=64, num_classes=10).eval()
    ours = VisionTransformer.from_torchvision(ref).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert (ours(x) - ref(x)).abs().max() <= 1e-5
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())


@pytest.mark.slow
def test_from_torchvision_vit_b_16_gives_the_same_logits():
    ref = torchvision.models.vit_b_16().eval()  # random weights: nothing is downloaded
    for p in ref.parameters():  # torchvision zero-inits the head; make the check meaningful
        if p.dim() == 2 and p.abs().sum() == 0:
            nn.init.normal_(p, std=0.02)
    ours = VisionTransformer.from_torchvision(ref).eval()
    assert (ours.config.dim, ours.config.depth, ours.config.heads, ours.config.patch_size) == (768, 12, 12, 16)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert (ours(x) - ref(x)).abs().max() <= 1e-5


@pytest.mark.parametrize("pos_embed", ["learned", "sincos"])
def test_gradients_reach_every_parameter(pos_embed):
    model = VisionTransformer(ViTConfig.fast(pos_embed=pos_embed, ln_pre=True, output_dim=16))
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    nn.functional.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    if pos_embed == "sincos":
        assert "pos_embed" not in dict(model.named_parameters())  # fixed, not learned


def test_sincos_pos_embed_properties():
    h, w, dim = 4, 6, 32
    pe = sincos_2d_pos_embed(h, w, dim)
    assert pe.shape == (h * w, dim) and pe.abs().max() <= 1
    torch.testing.assert_close(pe.norm(dim=1), torch.full((h * w,), (dim / 2) ** 0.5))  # sin² + cos² = 1 per pair
    assert torch.cdist(pe, pe).add(torch.eye(h * w)).min() > 0  # every position is distinct
    grid = pe.view(h, w, dim)
    # the dot product depends only on the offset between two positions, not where they are
    torch.testing.assert_close(grid[0, 0] @ grid[1, 2], grid[2, 3] @ grid[3, 5], atol=1e-5, rtol=0)
    # nearer positions are more similar
    assert grid[0, 0] @ grid[0, 1] > grid[0, 0] @ grid[0, 3]


def test_return_attn_gives_every_layers_weights_and_the_same_output():
    model = VisionTransformer(ViTConfig.fast(depth=3)).eval()
    x = torch.randn(2, 3, 32, 32)
    logits, attns = model(x, return_attn=True)
    assert attns.shape == (3, 2, 2, 17, 17)  # (layers, B, heads, T, T), T = 16 patches + class token
    torch.testing.assert_close(attns.sum(-1), torch.ones(3, 2, 2, 17))
    torch.testing.assert_close(logits, model(x), atol=1e-5, rtol=0)
    torch.testing.assert_close(model.attention_maps(x), attns)


def test_no_head_returns_projected_features():
    cfg = ViTConfig.fast(num_classes=0, output_dim=24, pool="mean")
    model = VisionTransformer(cfg)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 24)
    assert model.forward_features(torch.randn(2, 3, 32, 32)).shape == (2, 17, 32)


def test_attention_rollout_shape_and_row_sums():
    model = VisionTransformer(ViTConfig.fast(depth=3)).eval()
    attns = model.attention_maps(torch.randn(2, 3, 32, 32))
    for discard_ratio in (0.0, 0.5):
        for fusion in ("mean", "max", "min"):
            r = attention_rollout(attns, discard_ratio=discard_ratio, head_fusion=fusion)
            assert r.shape == (2, 17, 17)
            torch.testing.assert_close(r.sum(-1), torch.ones(2, 17))


def test_attention_rollout_of_one_layer_is_half_attention_half_identity():
    a = torch.softmax(torch.randn(1, 2, 3, 5, 5), dim=-1)  # (L=1, B, h, T, T)
    expected = 0.5 * a[0].mean(dim=1) + 0.5 * torch.eye(5)
    torch.testing.assert_close(attention_rollout(a), expected)
    torch.testing.assert_close(attention_rollout([a[0], a[0]]), expected @ expected)  # later layer on the left


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image_size=30, patch_size=8), "image size 30 is not divisible by patch size 8"),
        (dict(dim=30, heads=4), "width 30 is not divisible by the number of heads 4"),
        (dict(pos_embed="rope"), "pos_embed"),
        (dict(pool="max"), "pool"),
    ],
)
def test_bad_config_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ViTConfig.fast(**kwargs)


def test_bad_images_raise_value_error_naming_the_numbers():
    model = VisionTransformer(ViTConfig.fast())
    with pytest.raises(ValueError, match="expected 3 input channels, got 1"):
        model(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="image size 30 is not divisible by patch size 8"):
        model(torch.randn(2, 3, 30, 30))
    with pytest.raises(ValueError, match="expected 32×32 images, got 64×64"):
        model(torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match="image size 30 is not divisible by patch size 8"):
        PatchEmbedding(30, 8, 3, 16)


def test_small_cnn_baseline_shapes_and_size():
    cnn = SmallCNN(in_channels=3, num_classes=10, width=16)
    assert cnn(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert 50_000 < sum(p.numel() for p in cnn.parameters()) < 100_000
    with pytest.raises(ValueError, match="expected images"):
        cnn(torch.randn(2, 1, 32, 32))


def test_time_train_step_returns_seconds_and_trains():
    model = VisionTransformer(ViTConfig.fast())
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    before = model.head.weight.clone()
    t = time_train_step(model, x, y, steps=2, warmup=1)
    assert 0 < t < 10
    assert not torch.equal(before, model.head.weight)


def test_attention_figures_number_layers_and_heads_from_one():
    import matplotlib.pyplot as plt

    from course_utils.viz import MAX_WIDTH
    from course_utils.viz import attention_widgets as AW

    model = VisionTransformer(ViTConfig.fast(depth=3)).eval()  # 3 layers, 2 heads
    images = torch.rand(2, 3, 32, 32)
    attns = model.attention_maps(images)
    fig = AW.plot_layer_head_grid(images[0], attns[:, 0])
    titles = {ax.get_title() for ax in fig.axes}
    assert {"layer 1", "layer 3", "head 1", "head 2"} <= titles and not {"layer 0", "head 0"} & titles
    plt.close(fig)
    box = AW.attention_explorer(model, images)
    image, layer, head = box.children[:3]
    assert (image.min, image.max, layer.min, layer.max, layer.value) == (1, 2, 1, 3, 3)
    assert list(head.options) == ["mean", "max", 1, 2]
    head.value = 2  # the last layer's second head: redraws without an error
    many = torch.rand(8, 3, 32, 32)
    attns = model.attention_maps(many)
    fig = AW.plot_rollout_row(many, attention_rollout(attns), attns)
    assert fig.get_figwidth() <= MAX_WIDTH  # eight images still fit the width of a notebook cell
    plt.close("all")


def test_cls_attention_and_mean_attention_distance():
    from course_utils.viz import attention_widgets as AW

    a = torch.softmax(torch.randn(2, 3, 2, 17, 17), dim=-1)  # (L, B, h, T, T)
    torch.testing.assert_close(AW.cls_attention(a, 1, 0), a[1, :, 0, 0, 1:].reshape(3, 4, 4))
    with pytest.raises(ValueError, match="layer index 2 does not exist"):
        AW.cls_attention(a, 2)
    uniform = torch.ones(1, 1, 1, 17, 17)
    local = torch.eye(17).expand(1, 1, 1, 17, 17)  # every patch attends only to itself
    assert AW.mean_attention_distance(local, patch_size=8).item() == 0.0
    far = AW.mean_attention_distance(uniform, patch_size=8).item()  # mean distance between two cells of a 4×4 grid
    pos = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij"), -1).view(16, 2) * 8
    assert far == pytest.approx(torch.cdist(pos, pos).mean().item(), rel=1e-6)
