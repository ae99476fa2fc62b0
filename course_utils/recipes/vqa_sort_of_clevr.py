"""Recipe ``vqa_sort_of_clevr``: the best pixel model of notebook 24.9, trained long on Sort-of-CLEVR questions.

Two stages, trained together: ``ColorSlotDerenderer`` turns the 32×32 image into six object states (one per color:
shape, size, centre), supervised by the scenes' true states; a ``TransformerAnswerer`` over the states (question
tokens cross-attend to the six objects, ``DEPTH`` layers) answers. Questions: the six Sort-of-CLEVR kinds plus the
two-hop kinds, in English and Chinese (alternating batches, one tokenizer, one model).

Config, build and train, nothing else. The shipped weights were trained exactly so: the model initialized under
torch seed ``INIT_SEED``; at step t a fresh batch of ``BATCH_SCENES`` scenes with ``QUESTIONS_PER_IMAGE`` questions
each, drawn from ``VQADataset(seed=STREAM_SEED + t)`` in English (t even) or Chinese (t odd); ``FULL_STEPS`` steps of
AdamW with warmup and cosine decay; evaluated on ``test_sets`` (the full test split in both languages). To retrain::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('vqa_sort_of_clevr')"
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .. import pretrained, settings
from ..data import FAMILIES, VQADataset
from ..data.tokenizer import Tokenizer
from ..nn.vqa import STATE_SIZE, ColorSlotDerenderer, DerenderAndReason, FocusReasoner, color_slot_states
from ..train import fit

NAME = "vqa_sort_of_clevr"
FULL_STEPS = 5000
FAST_STEPS = 10
BATCH_SCENES = 32
QUESTIONS_PER_IMAGE = 8
LR = 1e-3
WEIGHT_DECAY = 0.01
WARMUP = 300
MAX_LEN = 20  # tokens per question (the longest, two-hop, has 17 with <bos> and <eos>)
DEPTH = 4  # question layers of the reasoner
TEST_SCENES = 1000  # per language
FAST_TEST_SCENES = 50
INIT_SEED = 0
STREAM_SEED = 240_900  # seeds of the training batches: STREAM_SEED + step
TEST_SEED = 24_09


def build() -> DerenderAndReason:
    """The untrained model, initialized under ``INIT_SEED`` without touching the global random state."""
    vocab = Tokenizer.for_world().vocab_size
    return settings.seeded(lambda: DerenderAndReason(
        ColorSlotDerenderer(image_size=32, width=32, layers=4),
        FocusReasoner(vocab, d_obj=STATE_SIZE, dim=64, heads=4, depth=DEPTH, max_len=MAX_LEN)), INIT_SEED)


def question_set(n_scenes: int, seed: int, split: str, lang: str, questions_per_image: int) -> VQADataset:
    """Sort-of-CLEVR scenes with two-hop questions; ``states`` (n_scenes, 6, STATE_SIZE) attached (the targets)."""
    ds = VQADataset(n_scenes, seed=seed, split=split, mode="sort_of_clevr", lang=lang, two_hop=True,
                    questions_per_image=questions_per_image, max_len=MAX_LEN, tokenizer=Tokenizer.for_world())
    ds.states = color_slot_states(ds.scenes)
    return ds


def training_batch(step: int, scenes: int = BATCH_SCENES) -> dict:
    """Fresh scenes for one step: images (S, 3, 32, 32), states (S, 6, STATE_SIZE), and the questions of each scene
    in order: tokens (S·K, T), answer ids (S·K,)."""
    ds = question_set(scenes, STREAM_SEED + step, "train", ("en", "zh")[step % 2], QUESTIONS_PER_IMAGE)
    return {"image": ds.rgb, "states": ds.states, "tokens": ds.tokens, "answer_id": ds.answer_ids}


def test_sets(fast: bool = False) -> dict[str, VQADataset]:
    """The test split in each language: ``TEST_SCENES`` scenes, 12 questions each."""
    n = FAST_TEST_SCENES if fast else TEST_SCENES
    return {lang: question_set(n, TEST_SEED, "test", lang, 12) for lang in ("en", "zh")}


def loss(model: DerenderAndReason, batch: dict) -> tuple[torch.Tensor, dict]:
    """Answer cross-entropy + the de-renderer's perception loss; K questions share one de-rendering."""
    states = model.encode_image(batch["image"])  # (S, 6, STATE_SIZE)
    k = len(batch["tokens"]) // len(states)
    logits = model.answer(states.repeat_interleave(k, 0), batch["tokens"])  # (S·K, n_answers)
    answer_loss = F.cross_entropy(logits, batch["answer_id"])
    perception = model.derenderer.perception_loss(states, batch["states"])
    acc = (logits.argmax(1) == batch["answer_id"]).float().mean().item()
    return answer_loss + perception, {"acc": acc, "perception": perception.item()}


@torch.no_grad()
def predict_answers(model: DerenderAndReason, ds: VQADataset, batch_scenes: int = 100) -> torch.Tensor:
    """Predicted answer ids for every question of ``ds`` (de-rendering each image once)."""
    model.eval()
    out = []
    for s in range(0, len(ds.scenes), batch_scenes):
        states = model.encode_image(ds.rgb[s:s + batch_scenes].to(settings.DEVICE))
        tokens = ds.tokens[s * ds.k:(s + batch_scenes) * ds.k].to(settings.DEVICE)
        out.append(model.answer(states.repeat_interleave(ds.k, 0), tokens).argmax(1).cpu())
    return torch.cat(out)


def scores(model: DerenderAndReason, sets: dict[str, VQADataset]) -> dict[str, float]:
    """Accuracy per family (both languages together), per language, on counting and on two-hop questions."""
    right, fam, kind, lang = [], [], [], []
    for code, ds in sets.items():
        right.append(predict_answers(model, ds) == ds.answer_ids)
        fam.append(ds.family_ids)
        kind += [q.kind for q in ds.qas]
        lang += [code] * len(ds)
    right, fam = torch.cat(right).float(), torch.cat(fam)
    out = {f"acc_{f}": right[fam == i].mean().item() for i, f in enumerate(FAMILIES) if (fam == i).any()}
    out |= {f"acc_{code}": right[torch.tensor([x == code for x in lang])].mean().item() for code in sets}
    out["acc_count"] = right[torch.tensor([k == "count" for k in kind])].mean().item()
    out["acc"] = right.mean().item()
    return out


def train(model: DerenderAndReason, fast: bool) -> dict:
    """``FULL_STEPS`` steps of fresh scenes; returns the test accuracies."""
    start = time.perf_counter()
    steps = FAST_STEPS if fast else FULL_STEPS
    sets = test_sets(fast)

    def eval_fn(m) -> dict:
        s = scores(m, sets)
        if not fast:
            print(f"[{NAME}] " + ", ".join(f"{k} {v:.4f}" for k, v in s.items())
                  + f" after {(time.perf_counter() - start) / 60:.1f} min", flush=True)
        return s

    fit(model, training_batch, loss, steps=steps, lr=LR, weight_decay=WEIGHT_DECAY,
        warmup=min(WARMUP, steps // 10), eval_fn=eval_fn, eval_every=max(1, steps // 12), desc=NAME, plot=False,
        progress=False)
    model.eval()
    return {**scores(model, sets), "steps": steps, "train_minutes": (time.perf_counter() - start) / 60}


pretrained.register(
    NAME, build, train,
    description="de-renderer (4 conv layers, one soft-argmax slot per color) + transformer over the 6 object states "
                f"({DEPTH} question layers, width 64); Sort-of-CLEVR + two-hop questions in English and Chinese, "
                f"{FULL_STEPS} steps × {BATCH_SCENES} fresh scenes × {QUESTIONS_PER_IMAGE} questions",
)

__all__ = ["NAME", "build", "loss", "predict_answers", "question_set", "scores", "test_sets", "train",
           "training_batch"]
