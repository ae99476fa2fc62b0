"""Notebook 24.3's helpers: the block diagrams of the five families, and the retrieval comparison (a dual encoder,
a fusion encoder and retrieve-then-rerank), whose code lives in ``course_utils.retrieval`` because homework 2 runs it
too. Private to notebook 24.3.
"""
from __future__ import annotations

from ..retrieval import (  # noqa: F401  (notebook 24.3 reaches them as V.gallery, V.rerank, …)
    POOL_SEED,
    Gallery,
    dual_scores,
    embed_images,
    fusion_scores,
    gallery,
    rerank,
    timed,
)

# ----------------------------------------------------------------------------- block diagrams of the five families

FROZEN, TRAINED, DATA, LOSS = "#cfd8e3", "#f6c28b", "#ffffff", "#b7e1b0"
# name -> (boxes {key: (x, y, w, h, label, color)}, arrows [(from, to)]); coordinates in a 10 × 6 frame
DIAGRAMS = {
    "CLIP (2021)": (
        {"img": (0.2, 4.0, 2.0, 1.0, "image", DATA), "txt": (0.2, 1.0, 2.0, 1.0, "text", DATA),
         "ie": (3.0, 4.0, 2.6, 1.0, "image encoder", TRAINED), "te": (3.0, 1.0, 2.6, 1.0, "text encoder", TRAINED),
         "sim": (6.6, 2.5, 3.2, 1.0, "cosine sim.\nInfoNCE (ITC)", LOSS)},
        [("img", "ie"), ("txt", "te"), ("ie", "sim"), ("te", "sim")]),
    "ViLT (2021)": (
        {"img": (0.2, 4.0, 2.4, 1.0, "patches\n(linear, no CNN)", DATA), "txt": (0.2, 1.0, 2.4, 1.0, "word emb.", DATA),
         "tf": (3.4, 1.5, 2.8, 3.0, "one transformer\n[image; text]", TRAINED),
         "itm": (7.0, 3.6, 2.8, 1.0, "ITM head", LOSS), "mlm": (7.0, 1.4, 2.8, 1.0, "MLM head", LOSS)},
        [("img", "tf"), ("txt", "tf"), ("tf", "itm"), ("tf", "mlm")]),
    "BLIP (2022)": (
        {"img": (0.2, 2.5, 1.6, 1.0, "image", DATA), "ie": (2.2, 2.5, 2.0, 1.0, "ViT", TRAINED),
         "itc": (4.8, 4.5, 2.6, 1.0, "text encoder", TRAINED),
         "itm": (4.8, 2.5, 2.6, 1.0, "text enc. + x-attn", TRAINED),
         "lm": (4.8, 0.5, 2.6, 1.0, "text dec. + x-attn", TRAINED),
         "l1": (8.0, 4.5, 1.8, 1.0, "ITC", LOSS), "l2": (8.0, 2.5, 1.8, 1.0, "ITM", LOSS),
         "l3": (8.0, 0.5, 1.8, 1.0, "LM", LOSS)},
        [("img", "ie"), ("ie", "itc"), ("ie", "itm"), ("ie", "lm"), ("itc", "l1"), ("itm", "l2"), ("lm", "l3")]),
    "Flamingo (2022)": (
        {"img": (0.2, 4.4, 1.7, 1.0, "images", DATA), "ve": (2.3, 4.4, 2.1, 1.0, "vision enc.", FROZEN),
         "pr": (4.8, 4.4, 2.6, 1.0, "Perceiver\nResampler", TRAINED),
         "txt": (0.2, 1.1, 1.9, 1.2, "interleaved\ntext", DATA),
         "xa": (4.8, 0.4, 2.6, 2.6, "gated x-attn\ntanh(α), α = 0\nat the start", TRAINED),
         "lm": (7.9, 0.4, 1.9, 2.6, "LM block\n(× L)\n→ next\nword", FROZEN)},
        [("img", "ve"), ("ve", "pr"), ("pr", "xa"), ("txt", "xa"), ("xa", "lm")]),
    "GPT-4V (2023)": (
        {"img": (0.2, 4.0, 2.0, 1.0, "image(s)", DATA),
         "ve": (2.8, 4.0, 2.6, 1.0, "vision enc.\n(undisclosed)", TRAINED),
         "txt": (0.2, 1.0, 2.0, 1.0, "text, code", DATA),
         "llm": (6.0, 1.0, 3.8, 4.0, "very large\nlanguage model\n(details not\npublished)", TRAINED)},
        [("img", "ve"), ("ve", "llm"), ("txt", "llm")]),
}


def draw_family(ax, name: str) -> None:
    """One family's block diagram on ``ax``: data white, trained orange, frozen blue-gray, objectives green."""
    import matplotlib.patches as mpatches

    if name not in DIAGRAMS:
        raise ValueError(f"unknown family {name!r}; expected one of {list(DIAGRAMS)}")
    boxes, arrows = DIAGRAMS[name]
    for x, y, w, h, label, color in boxes.values():
        ax.add_patch(mpatches.FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=10)
    for a, b in arrows:
        xa, ya, wa, ha = boxes[a][:4]
        xb, yb, wb, hb = boxes[b][:4]
        if xb >= xa + wa - 0.01:  # target to the right: right edge -> left edge
            start, end = (xa + wa, ya + ha / 2), (xb, yb + hb / 2)
        else:  # target below: bottom edge -> top edge
            start, end = (xa + wa / 2, ya), (xb + wb / 2, yb + hb)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1.2, color="black"))
    ax.set(xlim=(0, 10), ylim=(0, 6), title=name)
    ax.axis("off")

__all__ = ["DIAGRAMS", "Gallery", "draw_family", "dual_scores", "embed_images", "fusion_scores", "gallery", "rerank",
           "timed"]
