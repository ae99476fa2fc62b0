"""Our from-scratch parts against the reference libraries, timed in this process, on the same device and config.

Each row is computed when its modules import, and otherwise reports "not available: <why>" (never crashes).
Ours and the reference are timed alternately, so a busy machine slows both alike; times are medians.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def _sync(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def alternate(ours: Callable[[], None], ref: Callable[[], None], device: torch.device,
              repeats: int = 15, warmup: int = 3) -> dict:
    """Median milliseconds of ``ours()`` and ``ref()``, called alternately; ratio = ours / reference."""
    sync, times = _sync(device), {"ours": [], "ref": []}
    for i in range(warmup + repeats):
        for name, fn in (("ours", ours), ("ref", ref)):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    ours_ms, ref_ms = (1e3 * statistics.median(times[k]) for k in ("ours", "ref"))
    return {"ours_ms": ours_ms, "ref_ms": ref_ms, "ratio": ours_ms / ref_ms}


def attention_row(device: torch.device) -> dict:
    """Forward + backward of softmax(QKᵀ/√d)V: ours written out vs PyTorch's fused kernel."""
    import torch.nn.functional as F

    from course_utils.nn.attention import scaled_dot_product_attention

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(32, 4, 65, 16, generator=g).to(device).requires_grad_() for _ in range(3))
    grad = torch.randn(32, 4, 65, 16, generator=g).to(device)
    diff = (scaled_dot_product_attention(q, k, v) - F.scaled_dot_product_attention(q, k, v)).abs().max().item()

    def step(fn):
        return lambda: fn(q, k, v).backward(grad)

    return {**alternate(step(scaled_dot_product_attention), step(F.scaled_dot_product_attention), device),
            "max_abs_diff": diff}


def vit_row(device: torch.device) -> dict:
    """One training step (forward, cross-entropy, backward, AdamW) of our ViT vs torchvision's, same weights."""
    import torchvision

    from course_utils.bench.step_timer import time_train_step
    from course_utils.nn.vit import VisionTransformer

    torch.manual_seed(0)
    ref = torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=6, num_heads=4,
                                               hidden_dim=128, mlp_dim=512, num_classes=10).to(device)
    ours = VisionTransformer.from_torchvision(ref)
    x = torch.randn(64, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (64,), device=device)
    with torch.no_grad():
        ours.eval(), ref.eval()
        diff = (ours(x) - ref(x)).abs().max().item()
    times = {"ours": [], "ref": []}
    for _ in range(3):  # alternate short runs so machine load hits both alike
        times["ours"].append(time_train_step(ours, x, y, steps=4, warmup=1))
        times["ref"].append(time_train_step(ref, x, y, steps=4, warmup=1))
    ours_ms, ref_ms = (1e3 * statistics.median(times[k]) for k in ("ours", "ref"))
    return {"ours_ms": ours_ms, "ref_ms": ref_ms, "ratio": ours_ms / ref_ms, "max_abs_diff": diff}


def clip_row(device: torch.device) -> dict:
    """Forward + backward of the symmetric contrastive loss: our CLIP (weights copied) vs open_clip's."""
    import open_clip

    from course_utils.nn.clip import CLIP
    from course_utils.nn.clip_loss import clip_loss

    torch.manual_seed(0)
    ref = open_clip.model.CLIP(
        embed_dim=64,
        vision_cfg=dict(image_size=32, patch_size=4, width=64, layers=3, head_width=16),
        text_cfg=dict(context_length=32, vocab_size=128, width=64, heads=4, layers=3),
    ).to(device)
    ours = CLIP.from_open_clip(ref)
    ref_loss = open_clip.loss.ClipLoss()
    n, t, vocab = 128, 32, 128
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, 32, 32, generator=g).to(device)
    tokens = torch.randint(1, vocab - 1, (n, t), generator=g)
    ends = torch.randint(2, t, (n,), generator=g)
    tokens[torch.arange(n), ends] = vocab - 1  # end of text: the largest id (open_clip pools by argmax)
    tokens[torch.arange(t)[None] > ends[:, None]] = 0
    tokens = tokens.to(device)
    with torch.no_grad():
        diff = (ours(images, tokens)[0] - ref(images, tokens)[0]).abs().max().item()

    def ours_step():
        clip_loss(*ours(images, tokens)).backward()

    def ref_step():
        ref_loss(*ref(images, tokens)).backward()

    return {**alternate(ours_step, ref_step, device, repeats=7, warmup=2), "max_abs_diff": diff}


def render_row(device: torch.device) -> dict:
    """Scenes of 1–4 objects rendered per second (numpy, CPU), batched and one at a time."""
    if device.type != "cpu":
        raise _NotOnDevice("numpy renderer: CPU only")
    from course_utils.data import render_rate

    batched, single = render_rate(n=2000, batched=True), render_rate(n=1000, batched=False)
    return {"scenes_per_s": batched, "single_scenes_per_s": single, "target_per_s": 5000,
            "ratio": batched / 5000}


def _latent_unets(device: torch.device):
    """Our latent UNet (notebook 24.11's config) and diffusers' UNet2DConditionModel with the same levels and widths."""
    from diffusers import UNet2DConditionModel

    from course_utils.nn.unet import UNet
    from course_utils.recipes.text_to_image_world import UNET
    from course_utils.tasks.text_to_image import DiffusersDenoiser

    torch.manual_seed(0)
    ours = UNet(UNET).to(device)
    ref = DiffusersDenoiser(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(64, 128), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=64, attention_head_dim=16,
        norm_num_groups=8)).to(device)
    return ours, ref


def unet_row(device: torch.device) -> dict:
    """One ε-loss training step (forward, backward, AdamW) of our latent UNet vs diffusers' UNet2DConditionModel
    (different parameters: 2.4 M vs 4.2 M, same levels, widths and attention placement)."""
    from course_utils.nn.diffusion import NoiseSchedule, epsilon_loss

    ours, ref = _latent_unets(device)
    g = torch.Generator().manual_seed(0)
    z0, context = torch.randn(64, 4, 8, 8, generator=g).to(device), torch.randn(64, 12, 64, generator=g).to(device)
    schedule, opts = NoiseSchedule(1000, "cosine"), {}

    def step(model):
        opt = opts.setdefault(id(model), torch.optim.AdamW(model.parameters(), 1e-4))

        def run():
            loss = epsilon_loss(model, schedule, z0, context, generator=torch.Generator().manual_seed(1),
                                check_range=False)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return run

    return alternate(step(ours), step(ref), device, repeats=7, warmup=2)


def ddim_row(device: torch.device) -> dict:
    """20 guided DDIM steps of 16 latents: our sampler vs the same loop driven by diffusers' DDIMScheduler, same UNet
    and noise (the difference is the scheduler's overhead; max_abs_diff compares the samples)."""
    from diffusers import DDIMScheduler

    from course_utils.nn.diffusion import NoiseSchedule, guided_eps, sample

    unet, _ = _latent_unets(device)
    unet.eval()
    g = torch.Generator().manual_seed(0)
    c, null = torch.randn(16, 12, 64, generator=g).to(device), torch.randn(16, 12, 64, generator=g).to(device)
    schedule = NoiseSchedule(1000, "cosine")
    sched = DDIMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=False, set_alpha_to_one=True)

    def ours():
        return sample(unet, schedule, c, null, (16, 4, 8, 8), guidance=3.0, steps=20, clip=False,
                      generator=torch.Generator().manual_seed(2))

    @torch.no_grad()
    def ref():
        sched.set_timesteps(20)
        x = torch.randn((16, 4, 8, 8), generator=torch.Generator().manual_seed(2)).to(device)
        for t in sched.timesteps:
            x = sched.step(guided_eps(unet, x, int(t), c, null, 3.0), t, x).prev_sample
        return x

    diff = (ours() - ref()).abs().max().item()
    return {**alternate(ours, ref, device, repeats=5, warmup=1), "max_abs_diff": diff}


class _NotOnDevice(Exception):
    pass


# (part, config, reference, function)
SPEED_ROWS = [
    ("attention fwd+bwd", "B=32, heads=4, T=65, d=16", "F.scaled_dot_product_attention", attention_row),
    ("ViT train step", "32×32, patch 4, 6×128, 4 heads, batch 64", "torchvision VisionTransformer", vit_row),
    ("CLIP loss fwd+bwd", "ViT 3×64 + text 3×64, T=32, batch 128", "open_clip CLIP + ClipLoss", clip_row),
    ("latent UNet train step", "8×8×4 latents, levels 64/128 with cross-attention, batch 64",
     "diffusers UNet2DConditionModel (same levels)", unet_row),
    ("DDIM sampling loop", "20 guided steps, 16 latents 8×8×4, same UNet", "diffusers DDIMScheduler", ddim_row),
    ("world render rate", "32×32, 1–4 objects, 2000 scenes", "target ≥ 5,000 scenes/s (DESIGN §4)", render_row),
]


def _measure(fn, device: torch.device) -> dict:
    try:
        return fn(device)
    except _NotOnDevice as e:
        return {"status": f"n/a ({e})"}
    except ImportError as e:
        return {"status": f"not available: {e}"}
    except Exception as e:  # a part that exists but fails is reported, not fatal
        return {"status": f"failed: {type(e).__name__}: {e}"}


def speed_rows(log: Callable[[str], None] = print) -> list[dict]:
    """Every row on the CPU and, when there is one, on the GPU (CUDA)."""
    gpu = torch.device("cuda") if torch.cuda.is_available() else None
    rows = []
    for part, config, reference, fn in SPEED_ROWS:
        log(f"speed: {part} ...")
        row = {"part": part, "config": config, "reference": reference, "cpu": _measure(fn, torch.device("cpu"))}
        row["gpu"] = _measure(fn, gpu) if gpu else {"status": "not measured (no GPU)"}
        if gpu:
            row["gpu"]["device"] = torch.cuda.get_device_name(0)
        row["gpu"]["torch"] = torch.__version__
        rows.append(row)
    return rows
