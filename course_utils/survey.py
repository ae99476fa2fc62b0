"""A small registry of multimodal models with cited facts, the starting point of homework 4 (a survey of multimodal
large models).

Every entry fills the same template (architecture, data, objectives, results, limits) and names its source; each
fact is taken from the cited paper or report (its abstract or the section named). Where a report does not disclose
something (GPT-4V's architecture and data), the entry says so instead of guessing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

FIELDS = ("name", "year", "organization", "architecture", "data", "objectives", "results", "limits", "source")
TEXT_FIELDS = ("architecture", "data", "objectives", "results", "limits")
SOURCE = re.compile(r"(arXiv:\s?\d{4}\.\d{4,5})|(https?://\S+\.\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    year: int
    organization: str
    architecture: str
    data: str
    objectives: str
    results: str
    limits: str
    source: str  # an arXiv id ("arXiv:2103.00020") or a URL of the paper / report

    def as_row(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


REGISTRY: tuple[ModelEntry, ...] = (
    ModelEntry(
        "CLIP", 2021, "OpenAI",
        "dual encoder: a ResNet or ViT image encoder and a Transformer text encoder, each followed by a linear "
        "projection into a shared embedding space",
        "400 million (image, text) pairs collected from the internet (WIT)",
        "symmetric contrastive (InfoNCE) loss over the image–text similarity matrix of a batch, learned temperature",
        "zero-shot transfer to over 30 datasets; zero-shot ImageNet accuracy matching the original ResNet-50 without "
        "using any of its 1.28 million training examples",
        "weak on systematic tasks such as counting objects and on fine-grained classification (§6); zero-shot "
        "accuracy depends on the wording of the prompts (§3.1.4)",
        "arXiv:2103.00020",
    ),
    ModelEntry(
        "ALIGN", 2021, "Google",
        "dual encoder: EfficientNet image encoder and BERT text encoder",
        "over one billion noisy image alt-text pairs, with only simple frequency-based filtering",
        "normalized softmax contrastive loss between image and text embeddings",
        "the scale of the corpus makes up for its noise: state-of-the-art image–text retrieval on Flickr30K and "
        "MSCOCO, and strong zero-shot and linear-probe image classification",
        "alt-text from the web carries social biases and harmful content, which the authors say need further "
        "analysis before the model is used (section on social impacts)",
        "arXiv:2102.05918",
    ),
    ModelEntry(
        "Flamingo", 2022, "DeepMind",
        "frozen pretrained vision encoder and frozen large language model bridged by a Perceiver Resampler and "
        "tanh-gated cross-attention layers inserted between the language model's layers; the largest model has "
        "80 billion parameters",
        "large-scale web corpora of arbitrarily interleaved text and images, image–text pairs and video–text pairs",
        "next-token prediction of text conditioned on the interleaved images and videos that precede it",
        "few-shot in-context learning: one model, prompted with a few task examples, sets a new state of the art "
        "among few-shot methods on 16 image and video benchmarks",
        "inherits the language model's weaknesses (hallucination, sensitivity to the prompt); classification "
        "accuracy below contrastive models (discussion of limitations)",
        "arXiv:2204.14198",
    ),
    ModelEntry(
        "BLIP-2", 2023, "Salesforce",
        "frozen image encoder and frozen large language model bridged by a lightweight Querying Transformer "
        "(Q-Former) with learned queries",
        "129 million images with captions, including web captions filtered and re-captioned by the CapFilt method",
        "stage 1 (with the frozen image encoder): image–text contrastive, image–text matching and image-grounded "
        "text generation; stage 2 (with the frozen LLM): language modelling through the Q-Former's output",
        "outperforms Flamingo-80B by 8.7 % on zero-shot VQAv2 with 54× fewer trainable parameters",
        "in-context learning does not improve with few-shot examples (single image–text pairs in pre-training); "
        "inherits the frozen LLM's risks such as outdated knowledge and offensive output (section on limitations)",
        "arXiv:2301.12597",
    ),
    ModelEntry(
        "LLaVA", 2023, "University of Wisconsin–Madison, Microsoft Research, Columbia University",
        "CLIP ViT-L/14 image encoder, a linear projection of its grid features into the word embedding space of the "
        "Vicuna language model",
        "stage 1: 595K filtered image–text pairs (CC3M); stage 2: 158K language-image instruction-following samples "
        "generated with the language-only GPT-4",
        "next-token prediction on the answers; stage 1 trains the projection only, stage 2 the projection and the "
        "language model",
        "85.1 % relative score compared with GPT-4 on a synthetic multimodal instruction-following set; 92.53 % on "
        "Science QA when combined with GPT-4",
        "hallucination, and images perceived as a 'bag of patches' that misses complex relations (discussion of "
        "the LLaVA-Bench examples)",
        "arXiv:2304.08485",
    ),
    ModelEntry(
        "GPT-4V", 2023, "OpenAI",
        "not disclosed: GPT-4 with image inputs",
        "not disclosed",
        "not disclosed (pre-training, then reinforcement learning from human feedback as for GPT-4)",
        "the system card reports safety evaluations (e.g. person identification, medical advice, CAPTCHA breaking) "
        "rather than benchmark scores",
        "hallucination and unreliable answers in high-stakes domains such as medicine; mitigations described in the "
        "card",
        "https://openai.com/research/gpt-4v-system-card",
    ),
    ModelEntry(
        "Gemini", 2023, "Google",
        "decoder-only Transformer trained to be multimodal from the start, reading interleaved text, images, audio "
        "and video and generating text and images",
        "multimodal and multilingual data: web documents, books, code, images, audio and video",
        "next-token prediction, then post-training (instruction tuning and reinforcement learning from human "
        "feedback)",
        "Gemini Ultra: state of the art on 30 of 32 benchmarks reported; first model to reach human-expert "
        "performance on MMLU",
        "hallucination and reasoning errors remain; evaluation on benchmarks that may overlap the training data "
        "(discussion)",
        "arXiv:2312.11805",
    ),
)


def entry_problems(entry) -> list[str]:
    """What is missing or malformed in one survey entry (a ModelEntry or a dict with the same keys); [] if fine."""
    row = entry.as_row() if isinstance(entry, ModelEntry) else entry
    if not isinstance(row, dict):
        return [f"an entry must be a ModelEntry or a dict with the keys {', '.join(FIELDS)}, got "
                f"{type(entry).__name__}"]
    name = row.get("name") or "?"
    problems = [f"{name}: field '{f}' is missing" for f in FIELDS if f not in row]
    problems += [f"{name}: unknown field '{k}' (the template has {', '.join(FIELDS)})" for k in row if k not in FIELDS]
    for f in ("name", "organization", *TEXT_FIELDS):
        if f in row and (not isinstance(row[f], str) or len(row[f].strip()) < (1 if f == "name" else 3)):
            problems.append(f"{name}: field '{f}' is empty")
    year = row.get("year")
    if "year" in row and not (isinstance(year, int) and 2012 <= year <= 2030):
        problems.append(f"{name}: year {year!r} should be the publication year, an int such as 2023")
    if "source" in row and not (isinstance(row["source"], str) and SOURCE.search(row["source"])):
        problems.append(f"{name}: source {row['source']!r} must cite the paper or report: an arXiv id "
                        f"('arXiv:2304.08485') or a URL")
    return problems


def survey_table(entries) -> list[dict]:
    """Rows for ``report.table`` (a ValueError naming the problems if any entry is incomplete)."""
    entries = list(entries)
    if not entries:
        raise ValueError("the survey has no entries")
    problems = [p for e in entries for p in entry_problems(e)]
    if problems:
        raise ValueError("incomplete survey entries: " + "; ".join(problems))
    return [e.as_row() if isinstance(e, ModelEntry) else dict(e) for e in entries]


__all__ = ["FIELDS", "ModelEntry", "REGISTRY", "entry_problems", "survey_table"]
