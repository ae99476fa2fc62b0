"""Checkers of homework 1 (zero-shot classification with CLIP): the ensembled classifier and the prompt templates."""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ..data import clip_batches as B
from ..data.segment import is_cjk
from .core import Wrong, call, checker, close

MIN_TEMPLATES = 4
MIN_ACCURACY = 0.95  # zero-shot top-1 of the shipped clip_world, seen and held-out pairs, with your templates
EVAL_SEED, EVAL_PER_CLASS = 24_001, 20


@lru_cache(maxsize=1)
def _small_clip():
    from ..nn.clip import CLIP, CLIPConfig

    torch.manual_seed(0)
    return CLIP(CLIPConfig.fast(vocab_size=B.tokenizer().vocab_size)).eval()


@checker("hw1.1", "the ensembled zero-shot classifier: w_c = normalize(mean_m normalize(z_T(π_m(c)))), W (d, C)")
def check_classifier(fn) -> str:
    from ..nn.zero_shot import build_zero_shot_classifier

    model = _small_clip()
    names = list(B.CLASSNAMES[:5])
    templates = ["a small {}.", "a large {}.", B.TEMPLATES_ZH[0]]
    with torch.no_grad():
        got = call(fn, model.encode_text, B.tokenize, names, templates)
        want = build_zero_shot_classifier(model, B.tokenize, names, templates, num_classes_per_batch=None)
        if not torch.is_tensor(got):
            raise Wrong(f"returned {type(got).__name__}, expected a tensor W of shape (d, C) = {tuple(want.shape)}")
        got = got.detach().float()
        if tuple(got.shape) == tuple(want.T.shape):
            raise Wrong(f"W has shape {tuple(got.shape)} = (C, d)", "stack the class vectors as columns: W (d, C), "
                        "so that scores = z_img @ W")
        prompts = [[t.format(c) if isinstance(t, str) else t(c) for t in templates] for c in names]
        z = torch.stack([model.encode_text(B.tokenize(p)) for p in prompts])  # (C, M, d), not normalized
        if tuple(got.shape) == tuple(want.shape):
            if torch.allclose(got, F.normalize(z.mean(1), dim=-1).T, atol=1e-5):
                raise Wrong("the prompts' embeddings are averaged before each is normalized",
                            "normalize every prompt's embedding first (encode_text(..., normalize=True)), then "
                            "average, then normalize the mean")
            if torch.allclose(got, F.normalize(z[:, 0], dim=-1).T, atol=1e-5):
                raise Wrong("W uses only the first template", "average over all the templates (prompt ensembling)")
            norms = got.norm(dim=0)
            if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4):
                raise Wrong(f"the columns of W have norms {norms.min():.3f}…{norms.max():.3f}, not 1",
                            "the mean of unit vectors is shorter than 1: normalize it again")
        close(got, want, "W", tol=1e-4, hint="w_c = normalize(mean over templates of normalize(encode_text(prompt)))")
    return f"W {tuple(got.shape)} equals course_utils.nn.zero_shot.build_zero_shot_classifier"


def _fill(template, classname: str) -> str:
    text = template(classname) if callable(template) else template.format(classname)
    if not isinstance(text, str):
        raise Wrong(f"the template {template!r} gave {type(text).__name__} for {classname!r}, expected a string")
    return text


def _check_templates(templates) -> None:
    if isinstance(templates, str) or not isinstance(templates, (list, tuple)):
        raise Wrong(f"my_templates() returned {type(templates).__name__}, expected a list of templates")
    if len(templates) < MIN_TEMPLATES:
        raise Wrong(f"{len(templates)} templates; the ensemble needs at least {MIN_TEMPLATES}",
                    "vary the size word, the sentence and the language")
    for t in templates:
        if isinstance(t, str) and t.count("{}") != 1:
            raise Wrong(f"template {t!r} must hold exactly one {{}} where the class name goes")
        if isinstance(t, str) and any(is_cjk(ch) for ch in t):
            raise Wrong(f"the Chinese template {t!r} would read {t.format('red circle')!r}",
                        "class names are English ('red circle'): write a function that builds the Chinese sentence "
                        "from COLOR_ZH and SHAPE_ZH, e.g. lambda c: f\"图中有一个{COLOR_ZH[c.split()[0]]}的…\"")
        if not isinstance(t, str) and not callable(t):
            raise Wrong(f"template {t!r} is neither a format string nor a function")
    texts = [_fill(t, c) for t in templates for c in B.CLASSNAMES]
    if len(set(texts)) < len(templates) * len(B.CLASSNAMES):
        raise Wrong("two templates give the same prompt", "each template should add a different wording")
    tok = B.tokenizer()
    for text in texts:
        unknown = [w for w in tok.tokenize(text) if w not in tok.stoi]
        if unknown:
            raise Wrong(f"the prompt {text!r} has words the world's text encoder never saw: {unknown}",
                        "the toy CLIP knows only the world's vocabulary (B.tokenizer().itos): reuse words of its "
                        "captions such as 'there is one object: a small red circle.'")
    if not any(any(is_cjk(ch) for ch in _fill(t, "red circle")) for t in templates):
        raise Wrong("all the templates are English", "the world's captions are bilingual: add Chinese templates")


@checker("hw1.2", f"≥ {MIN_TEMPLATES} prompt templates in both languages, ≥ {MIN_ACCURACY:.0%} zero-shot on seen and "
                  "held-out pairs with the shipped clip_world")
def check_templates(fn) -> str:
    from .. import pretrained
    from ..recipes import clip_world

    templates = call(fn)
    _check_templates(templates)
    model = pretrained.get(clip_world.NAME, train=False, verbose=False).eval()
    acc = {split: clip_world.evaluate_zero_shot(model, held_out, seed=EVAL_SEED, n_per_class=EVAL_PER_CLASS,
                                                prompt_templates=list(templates))
           for split, held_out in (("seen", False), ("held-out", True))}
    low = {k: v for k, v in acc.items() if v < MIN_ACCURACY}
    if low:
        raise Wrong("zero-shot accuracy " + ", ".join(f"{k} {v:.1%}" for k, v in acc.items())
                    + f": below {MIN_ACCURACY:.0%} on {', '.join(low)}",
                    "prompts that read like the training captions work best: they name the size ('a small …', "
                    "'a large …') and often say 'there is one object: …'; ensemble both sizes")
    return f"{len(templates)} templates: zero-shot seen {acc['seen']:.1%}, held-out {acc['held-out']:.1%}"
