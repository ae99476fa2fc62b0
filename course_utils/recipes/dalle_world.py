"""Recipes of notebook 24.11's DALL-E at toy scale: a discrete autoencoder that turns an image into 8 × 8 codebook
tokens (``discrete_autoencoder_world``), and a causal transformer prior that writes those tokens after the prompt's
(``token_prior_world``, which holds both stages).

Config, build and train, nothing else; the models are ``nn.autoencoder.DiscreteAutoencoder`` and
``nn.token_prior.TokenPrior``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import pretrained, settings
from ..data import text_to_image as D
from ..data.captioning import tokenizer
from ..nn.autoencoder import DiscreteAutoencoder
from ..nn.token_prior import DiscreteTextToImage, TokenPrior, TokenPriorConfig
from .text_to_image_world import BATCH_SIZE, fit_on_world_images

DVAE = "discrete_autoencoder_world"
PRIOR = "token_prior_world"
SEED = 0
CODEBOOK_SIZE = 64
DVAE_STEPS, PRIOR_STEPS, FAST_STEPS = 1500, 2500, 10
DVAE_LR, PRIOR_LR = 2e-3, 1e-3


def build_dvae() -> DiscreteAutoencoder:
    return settings.seeded(lambda: DiscreteAutoencoder(CODEBOOK_SIZE, code_dim=32, width=16), SEED)


def train_dvae(model: DiscreteAutoencoder, fast: bool) -> dict:
    """Reconstruction + codebook + commitment loss on fresh training scenes."""
    start = time.perf_counter()
    fit_on_world_images(model, FAST_STEPS if fast else DVAE_STEPS, DVAE_LR, "discrete autoencoder", progress=not fast)
    images = D.training_batch(np.random.default_rng(SEED + 1), 512)["images"]
    with torch.no_grad():
        tokens = model.encode(images)
        rec = model.decode(tokens)
    return {"mse": float((rec - images).pow(2).mean()), "codes_used": tokens.unique().numel() / CODEBOOK_SIZE,
            "train_minutes": (time.perf_counter() - start) / 60}


def prior_config(fast: bool = False) -> TokenPriorConfig:
    cfg = TokenPriorConfig(text_vocab=tokenizer().vocab_size, codebook_size=CODEBOOK_SIZE)
    return TokenPriorConfig.fast(text_vocab=cfg.text_vocab, codebook_size=CODEBOOK_SIZE) if fast else cfg


def build(fast: bool = False) -> DiscreteTextToImage:
    return settings.seeded(lambda: DiscreteTextToImage(build_dvae(), TokenPrior(prior_config(fast))), SEED)


def train_prior(model: DiscreteTextToImage, steps: int, *, seed: int = SEED, batch_size: int = BATCH_SIZE,
                progress: bool = True, plot: bool = False):
    """Teacher-forced next-token loss of the prior on (caption, dVAE tokens of the image) pairs; the dVAE is frozen."""
    from ..train import fit

    rng = np.random.default_rng(seed)
    model.dvae.requires_grad_(False).eval()

    def batch(step: int) -> dict:
        b = D.training_batch(rng, batch_size)
        with torch.no_grad():
            tokens = model.dvae.encode(b["images"])  # (B, 64)
        return {"text": D.tokenize(b["captions"]), "tokens": tokens}

    return fit(model.prior, batch, lambda m, b: m.loss(b["text"], b["tokens"]), steps=steps, lr=PRIOR_LR,
               warmup=min(200, steps // 10), plot=plot, progress=progress, desc="token prior")


def train(model: DiscreteTextToImage, fast: bool) -> dict:
    start = time.perf_counter()
    model.dvae.load_state_dict(pretrained.get(DVAE, verbose=False).state_dict())
    steps = FAST_STEPS if fast else PRIOR_STEPS
    history = train_prior(model, steps, batch_size=8 if fast else BATCH_SIZE, progress=not fast)
    model.eval()
    return {"final_loss": float(np.mean(history.loss[-50:])), "steps": steps,
            "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(DVAE, build_dvae, train_dvae,
                    description="discrete autoencoder (VQ, 64 codes of width 32): 32×32 images <-> 8×8 tokens")
pretrained.register(PRIOR, build, train,
                    description="DALL-E at toy scale: causal transformer 4×64 over prompt tokens + 64 image tokens, "
                                "with the frozen discrete autoencoder")

__all__ = ["CODEBOOK_SIZE", "DVAE", "PRIOR", "build", "build_dvae", "prior_config", "train", "train_dvae",
           "train_prior"]
