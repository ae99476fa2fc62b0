"""Typical wrong answers to homework 1; each must be rejected with specific feedback."""
import torch
import torch.nn.functional as F


def _prompts(templates, c):
    return [t.format(c) if isinstance(t, str) else t(c) for t in templates]


def _transposed(encode_text, tokenize, classnames, templates):
    return torch.stack([F.normalize(F.normalize(encode_text(tokenize(_prompts(templates, c))), dim=-1).mean(0), dim=-1)
                        for c in classnames])                                           # (C, d)


def _normalized_after_mean(encode_text, tokenize, classnames, templates):
    return torch.stack([F.normalize(encode_text(tokenize(_prompts(templates, c))).mean(0), dim=-1)
                        for c in classnames], 1)


def _not_renormalized(encode_text, tokenize, classnames, templates):
    return torch.stack([F.normalize(encode_text(tokenize(_prompts(templates, c))), dim=-1).mean(0)
                        for c in classnames], 1)


def _first_template_only(encode_text, tokenize, classnames, templates):
    return torch.stack([F.normalize(encode_text(tokenize(_prompts(templates[:1], c))), dim=-1)[0]
                        for c in classnames], 1)


def _photo_templates():
    return ["a photo of a {}.", "a picture of a {}.", "a photo of a small {}.", "a photo of a large {}."]


def _chinese_format_strings():
    return ["a small {}.", "a large {}.", "图中有一个小{}。", "图中有一个大{}。"]


def _same_template_twice():
    from course_utils.data.scene import COLOR_ZH, SHAPE_ZH

    return ["a small {}.", "a small {}.", "a large {}.", lambda c: COLOR_ZH[c.split()[0]] + SHAPE_ZH[c.split()[1]]]


def _english_only():
    return ["a small {}.", "a large {}.", "there is one object: a small {}.", "there is one object: a large {}."]


WRONG = {
    "hw1.1": [_transposed, _normalized_after_mean, _not_renormalized, _first_template_only],
    "hw1.2": [_photo_templates, _chinese_format_strings, _same_template_twice, _english_only],
}
