"""Instruction data of the world for a LLaVA-style model (notebook 24.12), English and Chinese.

- ``instructions``: every instruction a scene supports, as (prompt, answer, type): "describe" asks
  "what is in the image?" and is answered by a caption; the other types reuse the world's question generator
  (``data.qa``) and group its question kinds ("how many", "where is", "what color / shape", "closest / furthest",
  "is there").
- ``two_hop_examples``: two-hop questions about Sort-of-CLEVR scenes ("what color is the other object of the same
  shape as the red object?") with a *rationale*, one sentence per hop ("the red object is a circle. the other circle
  is blue."), for chain-of-thought training.
- ``target_text``: what the model is trained to write after the prompt: the answer alone ("direct") or the
  rationale followed by the answer ("cot"); ``split_rationale`` reads a generated text back.

Every word comes from the world's closed vocabulary (tests check that the tokenizer gives no ``<unk>``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .language import caption, check_lang
from .qa import questions
from .scene import COLOR_ZH, SHAPE_ZH, Obj, RngLike, Scene, as_rng
from .tokenizer import Tokenizer

DESCRIBE_PROMPT = {"en": "what is in the image?", "zh": "图中有什么？"}
# Caption templates a "describe" answer uses: every object's size, color and shape, left to right ("list", "count").
# The "relation" template chains objects in drawing order, which the image does not show; where objects are is asked
# by the "where is" questions.
DESCRIBE_TEMPLATES = ("list", "count")
KIND_TYPE = {
    "count_all": "how many", "count_shape": "how many", "count_color": "how many", "count_size": "how many",
    "same_shape": "how many",
    "horizontal": "where is", "vertical": "where is", "relative_position": "where is",
    "size": "what color / shape", "shape_of_color": "what color / shape", "color_of_shape": "what color / shape",
    "closest": "closest / furthest", "furthest": "closest / furthest",
    "exist_pair": "is there", "exist_color": "is there",
}
TYPES = ("describe", *dict.fromkeys(KIND_TYPE.values()))
STYLES = ("direct", "cot")
END = {"en": ".", "zh": "。"}  # ends each rationale sentence; the answer follows the last one


@dataclass
class Instruction:
    """A prompt about an image and the answer text to write; ``rationale`` only for two-hop examples."""

    prompt: str
    answer: str
    type: str
    lang: str
    rationale: str = ""


def instructions(scene: Scene, lang: str = "en", rng: RngLike = None) -> list[Instruction]:
    """Every instruction of the world's question generator for this scene, plus one "describe" (a caption of a
    random template of DESCRIBE_TEMPLATES; the first when rng is None)."""
    check_lang(lang)
    rng = None if rng is None else as_rng(rng)
    template = DESCRIBE_TEMPLATES[0] if rng is None else DESCRIBE_TEMPLATES[int(rng.integers(len(DESCRIBE_TEMPLATES)))]
    out = [Instruction(DESCRIBE_PROMPT[lang], caption(scene, lang, template=template), "describe", lang)]
    out += [Instruction(q.question, q.answer, KIND_TYPE[q.kind], lang) for q in questions(scene, lang, rng)]
    return out


def sample_instruction(scene: Scene, rng: RngLike, lang: str | None = None) -> Instruction:
    """One instruction about the scene: a type drawn uniformly among those the scene supports, then one of its
    instructions; the language drawn too unless given."""
    rng = as_rng(rng)
    lang = lang or ("en", "zh")[int(rng.integers(2))]
    items = instructions(scene, lang, rng)
    types = sorted({i.type for i in items}, key=TYPES.index)
    t = types[int(rng.integers(len(types)))]
    pool = [i for i in items if i.type == t]
    return pool[int(rng.integers(len(pool)))]


# ----------------------------------------------------------------------------- two-hop questions with rationales


def same_shape_partner(scene: Scene, color: str) -> Obj | None:
    """The one other object with the shape of the object of ``color``; None where there is no such object or more
    than one (the question would have no single answer)."""
    o = next((p for p in scene.objects if p.color == color), None)
    if o is None:
        raise ValueError(f"the scene has no {color} object: colors {[p.color for p in scene.objects]}")
    twins = [p for p in scene.objects if p is not o and p.shape == o.shape]
    return twins[0] if len(twins) == 1 else None


def rationale(scene: Scene, color: str, lang: str = "en") -> str:
    """Two sentences, one per hop: the shape of the object of ``color``, then the color of the other object with
    that shape ("the red object is a circle. the other circle is blue.")."""
    check_lang(lang)
    partner = same_shape_partner(scene, color)
    if partner is None:
        raise ValueError(f"the {color} object has no single other object of its shape in this scene")
    shape = partner.shape
    if lang == "en":
        return f"the {color} object is a {shape}. the other {shape} is {partner.color}."
    return f"{COLOR_ZH[color]}物体是{SHAPE_ZH[shape]}。还有一个{SHAPE_ZH[shape]}是{COLOR_ZH[partner.color]}的。"


def two_hop_examples(scene: Scene, lang: str = "en") -> list[Instruction]:
    """The scene's two-hop questions, with their rationales: "what color is the other object of the same shape as
    the red object?" for every object whose shape exactly one other object shares. Hop 1 looks up a color and
    reads its shape, hop 2 looks up that shape and reads the other object's color."""
    check_lang(lang)
    out = []
    for o in scene.objects:
        partner = same_shape_partner(scene, o.color)
        if partner is None:
            continue
        if lang == "en":
            prompt, answer = f"what color is the other object of the same shape as the {o.color} object?", partner.color
        else:
            prompt, answer = f"和{COLOR_ZH[o.color]}物体形状相同的还有什么颜色的物体？", COLOR_ZH[partner.color]
        out.append(Instruction(prompt, answer, "two-hop", lang, rationale(scene, o.color, lang)))
    return out


def one_hop_examples(scene: Scene, lang: str = "en") -> list[Instruction]:
    """The scene's one-step Sort-of-CLEVR questions (shape, position, closest, furthest, count)."""
    return [Instruction(q.question, q.answer, q.family, lang)
            for q in questions(scene, lang, mode="sort_of_clevr") if q.family != "two-hop"]


def target_text(example: Instruction, style: str = "direct") -> str:
    """What the model writes after the prompt: the answer ("direct"), or the rationale then the answer ("cot")."""
    if style not in STYLES:
        raise ValueError(f"style {style!r} must be one of {STYLES}")
    if style == "direct" or not example.rationale:
        return example.answer
    return f"{example.rationale} {example.answer}" if example.lang == "en" else example.rationale + example.answer


def split_rationale(text: str, lang: str = "en") -> tuple[str, str]:
    """(rationale, answer) of a generated chain-of-thought text: the answer is what follows the last period."""
    check_lang(lang)
    cut = text.rfind(END[lang])
    return (text[:cut + 1].strip(), text[cut + 1:].strip()) if cut >= 0 else ("", text.strip())



# ----------------------------------------------------------------------------- token ids


def prompt_ids(prompts: list[str], tok: Tokenizer) -> list[list[int]]:
    """``<bos> prompt`` token ids of each prompt; an empty prompt or a word outside the vocabulary is an error."""
    if isinstance(prompts, str):
        raise ValueError("prompts must be a list of strings, got a single string")
    out = []
    for p in prompts:
        if not isinstance(p, str) or not p.strip():
            raise ValueError(f"prompt {p!r} is empty: ask a question about the image (e.g. 'what is in the image?')")
        ids = tok.encode(p, add_special=False)
        if tok.unk_id in ids:
            unknown = [w for w in tok.tokenize(p) if w not in tok.stoi]
            raise ValueError(f"prompt {p!r} has words outside the world's vocabulary: {unknown}")
        out.append([tok.bos_id, *ids])
    return out


def tokenize_examples(prompts: list[str], targets: list[str], tok: Tokenizer) -> dict:
    """Training sequences ``<bos> prompt target <eos>``, right-padded: "ids" (B, T) and "answer_mask" (B, T), True
    on the target's tokens and its <eos> (the tokens the loss is taken on)."""
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts for {len(targets)} targets")
    answers = [tok.encode(t, add_special=False) + [tok.eos_id] for t in targets]
    return pad_examples(prompt_ids(prompts, tok), answers, tok.pad_id)


def pad_examples(prompts: list[list[int]], answers: list[list[int]], pad_id: int) -> dict:
    """Token ids of prompts (``<bos> prompt``) and answers (``answer <eos>``) as right-padded sequences: "ids"
    (B, T) and "answer_mask" (B, T), True on the answer's tokens."""
    if len(prompts) != len(answers) or not prompts:
        raise ValueError(f"{len(prompts)} prompts for {len(answers)} answers: give one answer per prompt, at least one")
    seqs = [p + a for p, a in zip(prompts, answers)]
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool)
    for b, (s, p) in enumerate(zip(seqs, prompts)):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, len(p):len(s)] = True
    return {"ids": ids, "answer_mask": mask}


__all__ = ["DESCRIBE_PROMPT", "DESCRIBE_TEMPLATES", "Instruction", "KIND_TYPE", "STYLES", "TYPES", "instructions",
           "one_hop_examples", "pad_examples", "prompt_ids", "rationale", "same_shape_partner", "sample_instruction",
           "split_rationale", "target_text", "tokenize_examples", "two_hop_examples"]
