"""Typical wrong answers to homework 4 (the survey entries); each must be rejected with specific feedback."""
from dataclasses import replace

from course_utils.survey import REGISTRY, ModelEntry

_KOSMOS = ModelEntry("Kosmos-1", 2023, "Microsoft", "causal language model reading image embeddings",
                     "interleaved web documents, image-caption pairs, text", "next-token prediction",
                     "few-shot and zero-shot multimodal tasks", "below human accuracy on Raven IQ tests",
                     "arXiv:2302.14045")


def _one_entry():
    return [_KOSMOS]


def _no_source():
    return [_KOSMOS, replace(_KOSMOS, name="PaLI", source="a Google paper")]


def _empty_limits():
    return [_KOSMOS, {**replace(_KOSMOS, name="PaLI").as_row(), "limits": ""}]


def _copies_the_registry():
    return [_KOSMOS, REGISTRY[0]]


def _year_as_text():
    return [_KOSMOS, {**replace(_KOSMOS, name="PaLI").as_row(), "year": "2022"}]


WRONG = {"hw4.1": [_one_entry, _no_source, _empty_limits, _copies_the_registry, _year_as_text]}
