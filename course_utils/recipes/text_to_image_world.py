"""Recipes of notebook 24.11: an autoencoder of the world's images, latent text-to-image diffusion models, and the CLIP
judge that scores what they generate.

- ``autoencoder_world``: 32 × 32 × 3 images <-> 8 × 8 × 4 latents (``nn.autoencoder.Autoencoder``).
- ``latent_diffusion_world``: a UNet of 2.4 M parameters on those latents, conditioned through cross-attention on the
  frozen text tower of ``clip_world``; cosine schedule, 10 % condition dropout for classifier-free guidance.
- ``latent_diffusion_random_text``: the same recipe with the same text transformer left at its random initial weights
  (frozen): what a weak text encoder does to prompt faithfulness (Imagen's lesson, at toy scale).

Config, build and train, nothing else; the model is ``nn.text_to_image.LatentDiffusion``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import pretrained, settings
from ..data import clip_batches as CB
from ..data import text_to_image as D
from ..nn.autoencoder import Autoencoder
from ..nn.clip import CLIP
from ..nn.diffusion import NoiseSchedule, drop_condition, to_pixels
from ..nn.text import TextTransformer
from ..nn.text_to_image import FrozenTextEncoder, LatentDiffusion
from ..nn.unet import UNetConfig
from ..nn.zero_shot import build_zero_shot_classifier, zero_shot_logits
from . import clip_world

AUTOENCODER = "autoencoder_world"
NAMES = {"clip": "latent_diffusion_world", "random": "latent_diffusion_random_text"}  # text encoder -> recipe
SEED = 0
BATCH_SIZE = 64
AE_STEPS, AE_FAST_STEPS, AE_LR = 1500, 20, 2e-3
FULL_STEPS, FAST_STEPS, LR = 4000, 10, 1e-3
CONDITION_DROPOUT = 0.1  # share of captions replaced by "" (the unconditional model of guidance)
SCHEDULE = ("cosine", 1000)
UNET = UNetConfig(image_size=8, in_channels=4, channels=(64, 128), attention_levels=(0, 1), context_dim=64)
UNET_FAST = UNetConfig(image_size=8, in_channels=4, channels=(16, 32), attention_levels=(1,), context_dim=64,
                       time_dim=32)
GUIDANCE_SCALES = (0.0, 1.0, 2.0, 3.0, 5.0, 7.5)


def schedule() -> NoiseSchedule:
    return NoiseSchedule(SCHEDULE[1], SCHEDULE[0])


# ----------------------------------------------------------------------------- the autoencoder


def build_autoencoder() -> Autoencoder:
    return settings.seeded(lambda: Autoencoder(latent_dim=4, width=16), SEED)


def fit_on_world_images(model, steps: int, lr: float, desc: str, progress: bool = True) -> None:
    """``model.loss(images)`` minimized on batches of BATCH_SIZE fresh training scenes (the autoencoders' loop)."""
    from ..train import fit

    rng = np.random.default_rng(SEED)
    fit(model, lambda step: D.training_batch(rng, BATCH_SIZE)["images"], lambda m, x: m.loss(x), steps=steps, lr=lr,
        warmup=50, plot=False, progress=progress, desc=desc)
    model.eval()


def train_autoencoder(model: Autoencoder, fast: bool) -> dict:
    """‖x − D(E(x))‖² on fresh training scenes, then scale <- std of the latents."""
    start = time.perf_counter()
    fit_on_world_images(model, AE_FAST_STEPS if fast else AE_STEPS, AE_LR, "autoencoder", progress=not fast)
    images = D.training_batch(np.random.default_rng(SEED + 1), 1024)["images"]
    scale = model.set_scale_(images)
    prompts = D.prompt_set("seen", 8, seed=SEED)
    with torch.no_grad():
        rec = model.decode(model.encode(images))
        recon = to_pixels(model.decode(model.encode(D.to_model_range(prompt_images(prompts)))))
    acc = faithfulness(clip_judge(), recon, prompts)
    return {"mse": float((rec - images).pow(2).mean()), "scale": scale, "color_acc_reconstructed": acc["color"],
            "shape_acc_reconstructed": acc["shape"], "train_minutes": (time.perf_counter() - start) / 60}


# ----------------------------------------------------------------------------- latent diffusion


def build(text: str = "clip", fast: bool = False) -> LatentDiffusion:
    """The untrained model (the autoencoder and text encoder get their trained weights in ``train``)."""
    if text not in NAMES:
        raise ValueError(f"unknown text encoder {text!r}; allowed: {', '.join(NAMES)}")
    cfg = clip_world.config().text  # always the shipped CLIP's text tower

    def make() -> LatentDiffusion:
        return LatentDiffusion(Autoencoder(4, 16), FrozenTextEncoder(TextTransformer(cfg)),
                               UNET_FAST if fast else UNET, schedule())

    return settings.seeded(make, SEED)


def load_parts_(model: LatentDiffusion, text: str) -> LatentDiffusion:
    """The trained autoencoder, and the trained CLIP text tower (``text="clip"``) or the random one (``"random"``)."""
    model.autoencoder.load_state_dict(pretrained.get(AUTOENCODER, verbose=False).state_dict())
    if text == "clip":
        model.text_encoder.text.load_state_dict(pretrained.get(clip_world.NAME, verbose=False).text.state_dict())
    return model


def train_diffusion(model: LatentDiffusion, steps: int, *, seed: int = SEED, lr: float = LR,
                    batch_size: int = BATCH_SIZE, progress: bool = True, plot: bool = False,
                    desc: str = "latent diffusion"):
    """Train the UNet in place: fresh scenes each step, CONDITION_DROPOUT of captions replaced by "", the ε-loss;
    returns the ``train.History``."""
    from ..train import fit

    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)

    def batch(step: int) -> dict:
        b = D.training_batch(rng, batch_size)
        return {"images": b["images"], "captions": drop_condition(b["captions"], CONDITION_DROPOUT, rng)}

    return fit(model, batch, lambda m, b: m.loss(b["images"], b["captions"], gen), steps=steps, lr=lr,
               warmup=min(200, steps // 10), plot=plot, progress=progress, desc=desc)


def _trainer(text: str):
    def train(model: LatentDiffusion, fast: bool) -> dict:
        start = time.perf_counter()
        load_parts_(model, text)
        steps = FAST_STEPS if fast else FULL_STEPS
        train_diffusion(model, steps, batch_size=8 if fast else BATCH_SIZE, progress=not fast)
        model.eval()
        scores = evaluate(model, guidance=3.0, n_per_pair=2 if fast else 8, steps=10 if fast else 25)
        return {**{f"{k} (guidance 3)": v for k, v in scores.items()}, "steps": steps,
                "train_minutes": (time.perf_counter() - start) / 60}
    return train


# ----------------------------------------------------------------------------- the CLIP judge


def clip_judge() -> CLIP:
    """The shipped ``clip_world`` model, which scores generated images (zero-shot 100 % on real images of seen and
    held-out pairs)."""
    return pretrained.get(clip_world.NAME, verbose=False)


def prompt_images(prompts: D.PromptSet) -> torch.Tensor:
    """The real rendered images of the scenes the prompts describe, pixels (N, 3, 32, 32) in [0, 1]."""
    from ..data.rendering import render_batch

    return render_batch(list(prompts.scenes), D.IMAGE_SIZE).rgb


@torch.no_grad()
def faithfulness(judge: CLIP, images: torch.Tensor, prompts: D.PromptSet) -> dict:
    """Zero-shot color and shape accuracy of images (N, 3, 32, 32) in [0, 1] against one-object prompts (the
    judge picks one of the 18 color-shape classes), and the CLIP score 100 · max(cos(f_img, f_txt), 0)."""
    w = build_zero_shot_classifier(judge, CB.tokenizer().batch, CB.CLASSNAMES, CB.templates(), None)
    pred = zero_shot_logits(judge, images, w).argmax(-1)  # (N,), index = color * 3 + shape
    true = torch.tensor([CB.CLASSNAMES.index(f"{c} {s}") for c, s in prompts.pairs])  # (N,)
    return {"color": float((pred // 3 == true // 3).float().mean()),
            "shape": float((pred % 3 == true % 3).float().mean()),
            "clip_score": clip_score(judge, images, prompts.prompts)}


@torch.no_grad()
def clip_score(judge: CLIP, images: torch.Tensor, prompts) -> float:
    """Mean over images of 100 · max(cos(f_img(x_i), f_txt(prompt_i)), 0)."""
    z_img = judge.encode_image(images, normalize=True)
    z_txt = judge.encode_text(D.tokenize(prompts), normalize=True)
    return float((100 * (z_img * z_txt).sum(-1).clamp(min=0)).mean())


def evaluate(model: LatentDiffusion, guidance: float, n_per_pair: int = 8, steps: int = 25, seed: int = SEED,
             judge: CLIP | None = None) -> dict:
    """Color / shape accuracy and CLIP score of DDIM samples for seen and held-out one-object prompts
    ("color seen", "shape held_out", …), judged by ``judge`` (default: the shipped CLIP)."""
    judge, out = (judge if judge is not None else clip_judge()), {}
    for split in D.PROMPT_SPLITS:
        prompts = D.prompt_set(split, n_per_pair, seed=seed)
        images = model.generate(list(prompts.prompts), guidance=guidance, steps=steps,
                                generator=torch.Generator().manual_seed(seed))
        for k, v in faithfulness(judge, images, prompts).items():
            out[f"{k} {split}"] = v
    return out


pretrained.register(
    AUTOENCODER, build_autoencoder, train_autoencoder,
    description="convolutional autoencoder 32×32×3 <-> 8×8×4 latents of the toy world's 1–2 object scenes",
)
for _text, _name in NAMES.items():
    pretrained.register(
        _name, lambda fast=False, _t=_text: build(_t, fast), _trainer(_text),
        description=f"latent diffusion UNet 64-128 with cross-attention to the {_text} text transformer's tokens, "
                    f"in {AUTOENCODER}'s latent space; cosine schedule, 10 % condition dropout",
    )

__all__ = ["AUTOENCODER", "GUIDANCE_SCALES", "NAMES", "build", "build_autoencoder", "clip_judge", "clip_score",
           "evaluate", "faithfulness", "fit_on_world_images", "load_parts_", "prompt_images", "schedule",
           "train_autoencoder", "train_diffusion"]
