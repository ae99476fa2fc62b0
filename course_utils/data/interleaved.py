"""Interleaved image–text sequences of the world for a Flamingo-style model (notebook 24.3).

Each image is followed by a one-word answer and ``<eos>``; the *task* (which word to say) is the same for every image
of a sequence and is never written down, so only the examples can tell it:

    <bos> <image> red <eos> <image> blue <eos> <image> ?          task "color en"
    <bos> <image> 圆形 <eos> <image> 三角形 <eos> <image> ?         task "shape zh"

``<image>`` is the id ``nn.flamingo.IMAGE_ID``. Every word is one token of the world's closed vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .rendering import render_batch
from .scene import COLOR_ZH, COLORS, SHAPE_ZH, SHAPES, Scene
from .splits import sample_split_scenes
from .tokenizer import Tokenizer

TASKS = ("color en", "shape en", "color zh", "shape zh")
IMAGE_ID = Tokenizer.cls_id  # the same id as nn.flamingo.IMAGE_ID (data does not import nn)


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    return task


def answer_word(scene: Scene, task: str) -> str:
    """The answer of a one-object scene: its color or shape, in English or Chinese."""
    attribute, lang = check_task(task).split()
    obj = scene.objects[0]
    word = obj.color if attribute == "color" else obj.shape
    if lang == "en":
        return word
    return COLOR_ZH[word] if attribute == "color" else SHAPE_ZH[word]


def task_words(task: str) -> list[str]:
    """Every answer of a task: the six colors or the three shapes, in its language."""
    attribute, lang = check_task(task).split()
    words = COLORS if attribute == "color" else SHAPES
    if lang == "en":
        return list(words)
    return [(COLOR_ZH if attribute == "color" else SHAPE_ZH)[w] for w in words]


@dataclass
class ImagePool:
    """One-object scenes with their images and each task's answer token id."""

    scenes: list
    images: torch.Tensor  # (N, 3, 32, 32)
    answers: dict  # task -> (N,) long token ids

    def __len__(self) -> int:
        return len(self.scenes)


def image_pool(n: int, seed: int, split: str = "train") -> ImagePool:
    """n one-object scenes of a split (32×32), drawn from ``seed``."""
    if n < 1:
        raise ValueError(f"an image pool needs n >= 1 scenes, got {n}")
    tok = Tokenizer.for_world()
    scenes = sample_split_scenes(n, seed, split, n_objects=1)
    answers = {t: torch.tensor([tok.stoi[answer_word(s, t)] for s in scenes]) for t in TASKS}
    return ImagePool(scenes, render_batch(scenes, 32).rgb, answers)


def interleave(answers: torch.Tensor, query: bool = False) -> torch.Tensor:
    """Token ids of <bos> (<image> answer <eos>)* for answers (B, n); with ``query`` a last <image> follows."""
    B, n = answers.shape
    marker = torch.full((B, n), IMAGE_ID, dtype=torch.long)
    eos = torch.full((B, n), Tokenizer.eos_id, dtype=torch.long)
    body = torch.stack([marker, answers, eos], dim=2).reshape(B, 3 * n)  # (B, 3n)
    parts = [torch.full((B, 1), Tokenizer.bos_id, dtype=torch.long), body]
    if query:
        parts.append(torch.full((B, 1), IMAGE_ID, dtype=torch.long))
    return torch.cat(parts, dim=1)


def training_batch(rng: np.random.Generator, pool: ImagePool, batch_size: int, n_images: int,
                   tasks: tuple[str, ...] = TASKS) -> dict:
    """Sequences of n_images random pool images, one random task per sequence: "ids" (B, 1 + 3·n_images),
    "index" (B, n_images) pool indices of the images, "task" (B,) index into ``tasks``."""
    if n_images < 1 or batch_size < 1:
        raise ValueError(f"n_images {n_images!r} and batch_size {batch_size!r} must be >= 1")
    index = torch.from_numpy(rng.integers(len(pool), size=(batch_size, n_images)))  # (B, n)
    task = torch.from_numpy(rng.integers(len(tasks), size=batch_size))  # (B,)
    table = torch.stack([pool.answers[check_task(t)] for t in tasks])  # (n_tasks, N)
    return {"ids": interleave(table[task[:, None], index]), "index": index, "task": task}


def few_shot_prompts(support: ImagePool, n_queries: int, task: str, shots: int, rng: np.random.Generator) -> dict:
    """For each of n_queries query images, ``shots`` random support examples of ``task`` (answers shown) then the
    query's <image>: "ids" (Q, 2 + 3·shots), "support_index" (Q, shots) indices into ``support``."""
    if not 0 <= shots <= len(support):
        raise ValueError(f"shots {shots!r} must be between 0 and the {len(support)} support examples")
    if n_queries < 1:
        raise ValueError(f"the query list is empty (n_queries={n_queries!r})")
    sup = [rng.choice(len(support), size=shots, replace=False) for _ in range(n_queries)]
    sup = torch.from_numpy(np.stack(sup)).reshape(n_queries, shots).long()  # (Q, shots)
    return {"ids": interleave(support.answers[check_task(task)][sup], query=True), "support_index": sup}


__all__ = ["IMAGE_ID", "ImagePool", "TASKS", "answer_word", "check_task", "few_shot_prompts", "image_pool",
           "interleave", "task_words", "training_batch"]
