"""Helpers private to notebook 24.12 (frontiers): printing answers, the chain-of-thought 2×2 table, the question
widget's drawing. The model, data and evaluation live in ``nn.llava``, ``data.instructions``,
``recipes.llava_world``."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..data.rendering import render_batch
from ..recipes import llava_world as L
from ..viz import to_hwc


def print_examples(rows: list[dict], per_type: int = 1, width: int = 110) -> None:
    """A few rows of ``llava_world.evaluate`` per type: prompt → output (✓/✗), the expected text when wrong."""
    for t in dict.fromkeys(r["type"] for r in rows):
        for r in [r for r in rows if r["type"] == t][:per_type]:
            mark = "✓" if r["correct"] else f"✗ (expected: {r['expected']})"
            print(f"[{t}] {r['prompt']} → {r['output']} {mark}"[:width * 2])


def accuracy_rows(acc: dict[str, dict[str, float]]) -> list[dict]:
    """{model: accuracy_by_type} → table rows, one per type (the models as columns)."""
    types = list(next(iter(acc.values())))
    return [{"instruction type": t, **{m: a[t] for m, a in acc.items()}} for t in types]


def cot_table(rows: list[dict]) -> list[dict]:
    """The 2×2 table of a chain-of-thought model: rationale right / wrong × answer right / wrong (counts), with the
    share of right answers in each row."""
    out = []
    for said in (True, False):
        sel = [r for r in rows if r["rationale_correct"] == said]
        right = sum(r["answer_correct"] for r in sel)
        out.append({"rationale": "right" if said else "wrong", "answer right": right,
                    "answer wrong": len(sel) - right, "P(answer right)": right / len(sel) if sel else float("nan")})
    return out


def first_hop_correct(row: dict, item: tuple) -> bool:
    """Whether a chain-of-thought output names the right intermediate object in its first sentence."""
    first = item[1].rationale.split("." if item[1].lang == "en" else "。")[0]
    return row["output"].startswith(first)


def draw_answer(model, encoder, scene, question: str, title: str = "") -> str:
    """Show the scene and return the model's answer to the question (the caller prints it: Chinese text stays out
    of the figure)."""
    image = render_batch([scene], 32).rgb
    out = L.answer(model, encoder(image), [question])[0]
    fig, ax = plt.subplots(figsize=(2.4, 2.4))
    ax.imshow(to_hwc(image[0]))
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    return out


def show_scenes(scenes: list, titles: list[str]) -> None:
    """The scenes side by side, English titles."""
    images = render_batch(scenes, 32).rgb
    fig, axes = plt.subplots(1, len(scenes), figsize=(2.0 * len(scenes), 2.3))
    for ax, img, t in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(to_hwc(img))
        ax.set_axis_off()
        ax.set_title(t, fontsize=10)
    plt.show()


__all__ = ["accuracy_rows", "cot_table", "draw_answer", "first_hop_correct", "print_examples", "show_scenes"]
