"""Recipes ``llava_world``, ``llava_cot_world`` and ``llava_direct_world``: the mini LLaVA of notebook 24.12.

Config, build, train and the evaluation the manifest records; the model is ``nn.llava.MiniLLaVA`` (projector + the
``world_lm`` causal LM) over a frozen image encoder, the grid CNN of 24.10's shipped transformer captioner
(``frozen_image_encoder``: 16 cell tokens of width 128, CoordConv inputs, a learned cell embedding), the data
``data.instructions``. (The ``clip_world`` grid tokens, trained only through a pooled contrastive loss, gave 64 %
after the same training: their cells do not say well enough where an object is or how many there are.)

- ``llava_world``: stage 1 trains the projector alone on captions ("what is in the image?" → a caption) for
  ``STAGE1_STEPS`` steps of fresh scenes; stage 2 the projector and the LM for ``STAGE2_STEPS`` steps of
  ``STAGE2_BATCH`` instructions drawn from a fixed instruction set (``InstructionPool``: ``POOL_SCENES`` scenes of the
  training split, 1–4 objects, every instruction of each in English and Chinese, each image encoded once), loss on
  answer tokens only; trained with two CPU threads (``COURSE_THREADS=2``): 81 minutes, part of them beside
  the test suite (0.27 s a step on a quiet machine). Held-out accuracy on the 600 test instructions during stage 2:
  71 / 84 / 89 / 91 / 93 / 93 / 94 / 94 % after 2000 / 4000 / … / 16000 steps.
  Earlier recipes drew one fresh scene per example, 32 a step, and paid for rendering and encoding every image:
  2000 steps gave 54 %, a warm restart of 3000 more steps at half the rate 77 % (28 minutes on one thread), and
  1000 more steps from 3e-4 stayed at 80 %. The same LM over the scenes' *true* object states instead of an encoder
  (color, shape, size, centre of each object) reached only 71 % after 200 + 3000 steps, "where is" at chance: the
  limit was how many examples the 4-layer LM saw, not only the encoder.
- ``llava_cot_world`` / ``llava_direct_world`` (and ``_seed1``, ``_seed2``): the same architecture over another
  frozen encoder, 24.9's shipped de-renderer (``frozen_state_encoder``: six object states, one per color: color,
  shape, size, centre), with the ``world_lm`` LM and a fresh projector, trained for ``TWO_HOP_STEPS`` steps on
  Sort-of-CLEVR scenes, half one-step questions and half two-hop questions ("what color is the other object of the
  same shape as the red object?"); the two runs of a seed see the same scenes and questions and differ only in the
  two-hop target: rationale then answer ("cot"), or the answer alone ("direct"). Three seeds (projector weights and
  training stream) per style. (Two-hop questions whose hops compare distances, "the object closest to the object
  furthest from …", stayed near chance for both styles after the same training, 23 % / 21 %, with 6 % of the
  rationales right: a rationale helps only where the model can take each hop.)

To retrain (``world_lm`` and the encoders' models must be shipped; ``COURSE_THREADS=2`` for ``llava_world``'s
exact weights)::

    COURSE_FAST=0 .venv/bin/python -c "from course_utils import pretrained; pretrained.get('llava_world')"
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from .. import pretrained, settings
from ..data import instructions as I
from ..data.clip_batches import full_caption_truth
from ..data.rendering import render_batch
from ..data.scene import sort_of_clevr_scene
from ..data.splits import sample_split_scene, split_rng
from ..data.tokenizer import Tokenizer
from ..nn.language_model import CausalLM
from ..nn.llava import MiniLLaVA, answer_only_loss
from ..nn.vqa import STATE_SIZE
from ..train import fit
from .world_lm import config as lm_config

NAME = "llava_world"
NAMES = {"cot": "llava_cot_world", "direct": "llava_direct_world"}
ENCODER = "captioner_transformer_world"  # whose grid CNN is the frozen image encoder
STATE_ENCODER = "vqa_sort_of_clevr"  # whose de-renderer is the frozen encoder of the two-hop models
IMAGE_DIM = 128  # its cell tokens: 4 × 4 cells of 128 features (+ the cell embedding)
STAGE1_STEPS, STAGE2_STEPS, TWO_HOP_STEPS = 200, 16_000, 1000
TWO_HOP_SEEDS = (0, 1, 2)
FAST_STEPS, FAST_POOL = 3, 8
BATCH_SIZE = 32  # stage 1 and the two-hop runs
STAGE2_BATCH = 64
POOL_SCENES = 20_000  # stage 2's fixed instruction set: this many training scenes, every instruction of each
LR = {"stage1": 2e-3, "stage2": 1e-3, "two_hop": 1e-3}
WEIGHT_DECAY = 0.01
SEED = 0  # initial weights of the projector
STREAM_SEED = 241_201  # training scenes of stage 1 and of the two-hop runs
POOL_SEED, STAGE2_SEED = STREAM_SEED + 3, STREAM_SEED + 4  # stage 2's scenes, and its draws from them
TEST_SEED = 24_12  # evaluation scenes (test split / fresh Sort-of-CLEVR scenes)
MAX_NEW = 48  # longest answer: a four-object caption or a two-hop rationale
TEST_PER_TYPE, TEST_TWO_HOP = 100, 300


def tokenizer() -> Tokenizer:
    return Tokenizer.for_world()


class FrozenEncoder(nn.Module):
    """A trained image encoder, frozen: no gradients, batch norm in eval mode whatever the mode around it."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder.eval().requires_grad_(False)

    def train(self, mode: bool = True):  # stays frozen
        return self

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)  # (B, 3, 32, 32) -> (B, 16, 128)


def frozen_image_encoder() -> FrozenEncoder:
    """The grid CNN of the shipped transformer captioner (24.10), frozen: images (B, 3, 32, 32) -> 16 cell tokens
    (B, 16, 128), each cell's features plus a learned embedding of the cell."""
    return FrozenEncoder(pretrained.get(ENCODER, verbose=False).encoder)


def frozen_state_encoder() -> FrozenEncoder:
    """The de-renderer of 24.9's shipped Sort-of-CLEVR model, frozen: images (B, 3, 32, 32) of six objects of
    distinct colors -> six object states (B, 6, 12), one per color: color one-hot, shape, large?, centre x, y."""
    return FrozenEncoder(pretrained.get(STATE_ENCODER, verbose=False).derenderer)


def two_hop_name(style: str, seed: int = 0) -> str:
    """Registered name of the two-hop model of ``style`` and ``seed``: llava_cot_world, llava_cot_world_seed1, …"""
    if style not in NAMES or seed not in TWO_HOP_SEEDS:
        raise ValueError(f"style {style!r} and seed {seed!r} must be one of {tuple(NAMES)} and {TWO_HOP_SEEDS}")
    return NAMES[style] + (f"_seed{seed}" if seed else "")


def build_two_hop(seed: int = 0) -> MiniLLaVA:
    """Projector (12 → 128 → 128) over object states + a causal LM of ``world_lm``'s shape; weights from
    ``SEED + seed``."""
    return settings.seeded(lambda: MiniLLaVA(CausalLM(lm_config()), STATE_SIZE), SEED + seed)


def build() -> MiniLLaVA:
    """Projector (128 → 128 → 128) + a causal LM of ``world_lm``'s shape; initial weights from ``SEED``."""
    return settings.seeded(lambda: MiniLLaVA(CausalLM(lm_config()), IMAGE_DIM), SEED)


# ----------------------------------------------------------------------------- batches


def make_batch(examples: list[I.Instruction], scenes: list, encoder, style: str = "direct") -> dict:
    """Frozen image tokens "v" (B, 16, 128) and the sequences of ``tokenize_examples`` ("ids", "answer_mask")."""
    v = encoder(render_batch(scenes, 32).rgb)
    targets = [I.target_text(e, style) for e in examples]
    return {"v": v, **I.tokenize_examples([e.prompt for e in examples], targets, tokenizer())}


def caption_batch(rng: np.random.Generator, n: int, encoder) -> dict:
    """Stage 1: "what is in the image?" → a caption (template and language drawn per scene)."""
    scenes = [sample_split_scene(rng, "train") for _ in range(n)]
    examples = [I.instructions(s, ("en", "zh")[int(rng.integers(2))], rng)[0] for s in scenes]
    return make_batch(examples, scenes, encoder)


def instruction_batch(rng: np.random.Generator, n: int, encoder) -> dict:
    """One instruction per fresh scene, its type drawn uniformly (``sample_instruction``)."""
    scenes = [sample_split_scene(rng, "train") for _ in range(n)]
    return make_batch([I.sample_instruction(s, rng) for s in scenes], scenes, encoder)


class InstructionPool:
    """Stage 2's data, made once, as LLaVA's instruction set is a fixed dataset: ``n`` scenes of the training split
    (1–4 objects), their frozen image tokens, and every instruction of each scene in English and in Chinese, tokenized
    (37 per scene and language on average: about 1.5 million for 20,000 scenes). ``batch`` draws as
    ``sample_instruction`` does: a scene, a language, a type uniformly among the scene's types, one of its
    instructions. Encoding each image once makes a step cost the projector and the LM alone."""

    def __init__(self, encoder, n: int, seed: int = POOL_SEED):
        if n < 1:
            raise ValueError(f"a pool of n={n!r} scenes: n must be at least 1")
        rng, tok = np.random.default_rng(seed), tokenizer()
        scenes = [sample_split_scene(rng, "train") for _ in range(n)]
        self.v = torch.cat([encoder(render_batch(scenes[i:i + 500], 32).rgb) for i in range(0, n, 500)])  # (n, 16, C)
        # examples[scene][lang] = one list per type of (<bos> prompt ids, answer ids + <eos>)
        self.examples = [[self._by_type(I.instructions(s, lang, rng), tok) for lang in ("en", "zh")] for s in scenes]

    @staticmethod
    def _by_type(items: list[I.Instruction], tok: Tokenizer) -> list[list[tuple[list[int], list[int]]]]:
        groups: dict[str, list] = {}
        for ins in items:
            groups.setdefault(ins.type, []).append(
                (I.prompt_ids([ins.prompt], tok)[0], tok.encode(I.target_text(ins), add_special=False) + [tok.eos_id]))
        return list(groups.values())

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, rng: np.random.Generator, n: int) -> dict:
        """n draws (scenes with replacement): "v" (n, 16, C), "ids" and "answer_mask" (n, T)."""
        idx = rng.integers(len(self), size=n)
        prompts, answers = [], []
        for i in idx:
            types = self.examples[i][int(rng.integers(2))]
            pairs = types[int(rng.integers(len(types)))]
            p, a = pairs[int(rng.integers(len(pairs)))]
            prompts.append(p)
            answers.append(a)
        return {"v": self.v[torch.as_tensor(idx)], **I.pad_examples(prompts, answers, Tokenizer.pad_id)}


def sort_of_clevr_example(scene, rng: np.random.Generator, two_hop_share: float = 0.5) -> I.Instruction:
    """One Sort-of-CLEVR question about the scene: two-hop with probability ``two_hop_share``, else one-step."""
    lang = ("en", "zh")[int(rng.integers(2))]
    pool = I.two_hop_examples(scene, lang) if rng.random() < two_hop_share else []
    pool = pool or I.one_hop_examples(scene, lang)
    return pool[int(rng.integers(len(pool)))]


def two_hop_batch(rng: np.random.Generator, n: int, encoder, style: str) -> dict:
    """Fine-tuning batch of the CoT / direct runs: the same scenes and questions for both styles."""
    scenes = [sort_of_clevr_scene(rng) for _ in range(n)]
    return make_batch([sort_of_clevr_example(s, rng) for s in scenes], scenes, encoder, style)


def loss(model: MiniLLaVA, batch: dict) -> torch.Tensor:
    return answer_only_loss(model(batch["v"], batch["ids"]), batch["ids"], batch["answer_mask"])


# ----------------------------------------------------------------------------- answering and evaluation


def answer(model: MiniLLaVA, v: torch.Tensor, prompts: list[str], max_new: int = MAX_NEW) -> list[str]:
    """Greedy answers of the model to one prompt per image (``v``: frozen image tokens (B, 16, 128))."""
    tok = tokenizer()
    model.eval()
    return tok.decode_batch(model.generate(v, I.prompt_ids(prompts, tok), max_new))


def instruction_set(n_per_type: int, seed: int = TEST_SEED) -> list[tuple]:
    """(scene, instruction) pairs on fresh scenes of the test split: ``n_per_type`` of each type, one per scene,
    languages alternating."""
    rng, out = split_rng(seed, "test", 5), []
    for t in I.TYPES:
        k = 0
        while k < n_per_type:
            scene = sample_split_scene(rng, "test")
            lang = ("en", "zh")[k % 2]
            pool = [i for i in I.instructions(scene, lang, rng) if i.type == t]
            if pool:
                out.append((scene, pool[int(rng.integers(len(pool)))]))
                k += 1
    return out


def is_correct(output: str, item: tuple) -> bool:
    """A "describe" answer is right when the caption is true of the scene (any template, either language), any
    other answer when it is exactly the expected text."""
    scene, ins = item
    if ins.type == "describe":
        return bool(full_caption_truth([scene], [output])[0, 0])
    return output.strip() == ins.answer


def evaluate(model: MiniLLaVA, encoder, items: list[tuple]) -> list[dict]:
    """One row per item: type, lang, prompt, expected, output, correct."""
    v = encoder(render_batch([s for s, _ in items], 32).rgb)
    outputs = answer(model, v, [i.prompt for _, i in items])
    return [{"type": i.type, "lang": i.lang, "prompt": i.prompt, "expected": I.target_text(i, "cot"),
             "output": o, "correct": is_correct(o, (s, i))} for (s, i), o in zip(items, outputs)]


def accuracy_by_type(rows: list[dict]) -> dict[str, float]:
    """Accuracy of each instruction type present, then "all" (every row counted once)."""
    out = {t: float(np.mean([r["correct"] for r in rows if r["type"] == t]))
           for t in dict.fromkeys(r["type"] for r in rows)}
    return {**out, "all": float(np.mean([r["correct"] for r in rows]))}


def two_hop_set(n: int, seed: int = TEST_SEED) -> list[tuple]:
    """n (scene, two-hop instruction) pairs on fresh Sort-of-CLEVR scenes (one per scene, languages alternating)."""
    rng, out = np.random.default_rng([seed, 2]), []
    while len(out) < n:
        scene = sort_of_clevr_scene(rng)
        pool = I.two_hop_examples(scene, ("en", "zh")[len(out) % 2])
        if pool:
            out.append((scene, pool[int(rng.integers(len(pool)))]))
    return out


def evaluate_two_hop(model: MiniLLaVA, encoder, items: list[tuple]) -> list[dict]:
    """One row per question: output, answer_correct and (for a rationale) rationale_correct (both sentences)."""
    v = encoder(render_batch([s for s, _ in items], 32).rgb)
    outputs = answer(model, v, [i.prompt for _, i in items])
    rows = []
    for (_, ins), out in zip(items, outputs):
        said, ans = I.split_rationale(out, ins.lang)
        rows.append({"lang": ins.lang, "prompt": ins.prompt, "expected": I.target_text(ins, "cot"), "output": out,
                     "answer_correct": ans == ins.answer, "rationale_correct": said == ins.rationale})
    return rows


# ----------------------------------------------------------------------------- training


def train_stage1(model: MiniLLaVA, encoder, steps: int, *, seed: int = STREAM_SEED, progress: bool = False,
                 plot: bool = False):
    """Stage 1: the projector alone (the LM frozen) on captions ("what is in the image?" → a caption) of fresh
    scenes; returns the History."""
    rng = np.random.default_rng(seed)
    model.lm.requires_grad_(False)
    history = fit(model, lambda step: caption_batch(rng, BATCH_SIZE, encoder), loss, steps=steps, lr=LR["stage1"],
                  weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 20), desc="stage 1 (projector)", plot=plot,
                  progress=progress)
    model.lm.requires_grad_(True)
    return history


def train_stage2(model: MiniLLaVA, pool: InstructionPool, steps: int, *, seed: int = STAGE2_SEED,
                 progress: bool = False, plot: bool = False):
    """Stage 2: the projector and the LM on the pool's instructions, ``STAGE2_BATCH`` a step, ``LR["stage2"]`` with
    a warmup over the first 1/40 of the steps and a cosine decay; returns the History."""
    rng = np.random.default_rng(seed)
    model.lm.requires_grad_(True)
    return fit(model, lambda step: pool.batch(rng, STAGE2_BATCH), loss, steps=steps, lr=LR["stage2"],
               weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 40), desc="stage 2 (projector + LM)", plot=plot,
               progress=progress)


def scores(model: MiniLLaVA, encoder, fast: bool) -> dict:
    acc = accuracy_by_type(evaluate(model, encoder, instruction_set(5 if fast else TEST_PER_TYPE)))
    return {f"acc {k}": v for k, v in acc.items()}


def train(model: MiniLLaVA, fast: bool) -> dict:
    start = time.perf_counter()
    encoder = frozen_image_encoder()
    model.lm.load_state_dict(pretrained.get("world_lm", verbose=False).state_dict())
    pool = InstructionPool(encoder, FAST_POOL if fast else POOL_SCENES)
    train_stage1(model, encoder, FAST_STEPS if fast else STAGE1_STEPS, progress=not fast)
    train_stage2(model, pool, FAST_STEPS if fast else STAGE2_STEPS, progress=not fast)
    model.eval()
    return {**scores(model, encoder, fast), "train_minutes": (time.perf_counter() - start) / 60,
            "threads": torch.get_num_threads()}


def two_hop_scores(model: MiniLLaVA, encoder, fast: bool) -> dict:
    rows = evaluate_two_hop(model, encoder, two_hop_set(20 if fast else TEST_TWO_HOP))
    return {"two_hop_acc": float(np.mean([r["answer_correct"] for r in rows])),
            "rationale_acc": float(np.mean([r["rationale_correct"] for r in rows]))}


def train_two_hop(model: MiniLLaVA, encoder, style: str, steps: int, *, seed: int = 0, progress: bool = False,
                  plot: bool = False):
    """Fine-tune on Sort-of-CLEVR questions with two-hop targets of ``style``; the batches depend only on seed (the
    stream ``[STREAM_SEED + 1, seed]``), so both styles of a seed see the same scenes and questions."""
    if style not in I.STYLES:
        raise ValueError(f"style {style!r} must be one of {I.STYLES}")
    rng = np.random.default_rng([STREAM_SEED + 1, seed])
    return fit(model, lambda step: two_hop_batch(rng, BATCH_SIZE, encoder, style), loss, steps=steps,
               lr=LR["two_hop"], weight_decay=WEIGHT_DECAY, warmup=max(1, steps // 20), desc=f"two-hop ({style})",
               plot=plot, progress=progress)


def _two_hop_trainer(style: str, seed: int):
    def train_style(model: MiniLLaVA, fast: bool) -> dict:
        start = time.perf_counter()
        encoder = frozen_state_encoder()
        model.lm.load_state_dict(pretrained.get("world_lm", verbose=False).state_dict())
        train_two_hop(model, encoder, style, FAST_STEPS if fast else TWO_HOP_STEPS, seed=seed, progress=not fast)
        model.eval()
        return {**two_hop_scores(model, encoder, fast), "train_minutes": (time.perf_counter() - start) / 60}
    return train_style


pretrained.register(
    NAME, build, train,
    description=f"mini LLaVA: MLP projector (128→128→128) from the frozen grid CNN of {ENCODER} into world_lm; "
                f"stage 1 projector on captions {STAGE1_STEPS} steps (batch {BATCH_SIZE}), stage 2 projector + LM "
                f"on the instructions of {POOL_SCENES} scenes {STAGE2_STEPS} steps (batch {STAGE2_BATCH}), "
                f"answer-only loss",
)
for _style in NAMES:
    for _seed in TWO_HOP_SEEDS:
        pretrained.register(two_hop_name(_style, _seed), lambda _s=_seed: build_two_hop(_s),
                            _two_hop_trainer(_style, _seed),
                            description=f"projector over the frozen {STATE_ENCODER} de-renderer's object states + "
                                        f"world_lm, {TWO_HOP_STEPS} steps on Sort-of-CLEVR questions (seed {_seed}), "
                                        f"two-hop targets '{_style}'")

__all__ = ["ENCODER", "FrozenEncoder", "IMAGE_DIM", "InstructionPool", "NAME", "NAMES", "STATE_ENCODER",
           "accuracy_by_type", "answer", "build", "build_two_hop", "caption_batch", "evaluate", "evaluate_two_hop",
           "frozen_image_encoder", "frozen_state_encoder", "instruction_batch", "instruction_set", "is_correct", "loss",
           "make_batch", "sort_of_clevr_example", "train", "train_stage1", "train_stage2", "train_two_hop",
           "two_hop_batch", "two_hop_name", "two_hop_scores", "two_hop_set", "TWO_HOP_SEEDS"]
