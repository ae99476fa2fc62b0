"""Recipes ``captioner_lstm_world`` and ``captioner_transformer_world``: the two captioners of notebook 24.10.

Config, build and train, nothing else (the model and its loss are ``nn.captioner``, the data ``data.captioning``).
Each is one bilingual model: a training caption is in English or Chinese at random, and the first input word carries
the language. ``FULL_STEPS[decoder]`` steps of ``BATCH_SIZE`` fresh training scenes with teacher forcing. To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('captioner_lstm_world')"
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .. import metrics, pretrained, settings
from ..data import captioning as C
from ..nn.captioner import Captioner, CaptionerConfig
from ..train import fit

NAMES = {"lstm": "captioner_lstm_world", "transformer": "captioner_transformer_world"}
FULL_STEPS = {"lstm": 7200, "transformer": 3600}  # the LSTM's places kept improving to the end of 3600
FAST_STEPS = 10
BATCH_SIZE = 64
LR = {"lstm": 3e-3, "transformer": 1e-3}
WEIGHT_DECAY = 0.01
SEED = 0
STREAM_SEED = 241_000
TEST_IMAGES, TEST_SEED = 500, 0


def config(decoder: str) -> CaptionerConfig:
    return CaptionerConfig(C.tokenizer().vocab_size, decoder=decoder)


def build(decoder: str) -> Captioner:
    return settings.seeded(lambda: Captioner(config(decoder)), SEED)


def captions(model: Captioner, images: torch.Tensor, lang: str, beam_size: int = 1) -> list[str]:
    """Generated captions as text, batch by batch."""
    out = []
    for chunk in images.split(250):
        ids = torch.full((len(chunk),), C.LANG_ID[lang], device=chunk.device)
        out += C.tokenizer().decode_batch(model.generate(chunk, ids, beam_size=beam_size)["tokens"].cpu())
    return out


def scores(model: Captioner, fast: bool = False) -> dict:
    """Greedy captions of held-out scenes: attribute accuracy and CIDEr-D in each language."""
    test = C.captioning_set(50 if fast else TEST_IMAGES, TEST_SEED)
    images = test.images.to(next(model.parameters()).device)
    out = {}
    for lang in C.LANG_ID:
        caps = captions(model, images, lang)
        out[f"attributes {lang}"] = C.attribute_accuracy(caps, test.scenes, lang)["all"]
        out[f"CIDEr-D {lang}"] = metrics.cider_d(C.references(test.scenes, lang), C.candidates(caps, lang))
    return out


def trainer(decoder: str):
    def train(model: Captioner, fast: bool) -> dict:
        start = time.perf_counter()
        steps = FAST_STEPS if fast else FULL_STEPS[decoder]
        rng = np.random.default_rng(STREAM_SEED)
        fit(model, lambda step: C.captioning_batch(rng, BATCH_SIZE),
            lambda m, b: m.loss(b["images"], b["tokens"], b["lang"]), steps=steps, lr=LR[decoder],
            weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 30),
            eval_fn=pretrained.progress_eval(NAMES[decoder], lambda m: scores(m, fast), quiet=fast),
            eval_every=max(1, steps // 6), desc=NAMES[decoder], plot=False, progress=False)
        return {**scores(model, fast), "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}
    return train


for _decoder, _name in NAMES.items():
    pretrained.register(
        _name, lambda d=_decoder: build(d), trainer(_decoder),
        description=f"bilingual captioner: grid CNN (4×4 cells) + {_decoder} decoder, teacher forcing on the "
                    f"'{C.TEMPLATE}' captions, {FULL_STEPS[_decoder]} steps of {BATCH_SIZE} fresh scenes",
    )

__all__ = ["NAMES", "build", "captions", "config", "scores", "trainer"]
