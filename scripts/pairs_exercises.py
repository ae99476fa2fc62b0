"""Expected results of notebook 24.2's training exercises (4-7) over three seeds; the code is their reference solution.

Usage: python scripts/pairs_exercises.py [4 5 6 7]   (full-mode sizes, one CPU thread, about three minutes; the
numbers pick exercises to re-run, the others keep their recorded results)
Writes data/bench/pairs_exercises.json: for every exercise and quantity, the values for seeds 0, 1, 2 with their mean
and sample sd. Each run uses the notebook's sizes (``pairs.CONFIGS``) and draws data, batches and initial weights
from its seed, exactly as ``pairs.run_*`` do.

4. image-text retrieval with a bag-of-words text encoder instead of ``ConvTextEncoder``, on all test images and on
   those whose caption shares its words with a caption of another meaning;
5. audio-visual correspondence trained with hard negatives (half of the random negatives replaced by the clip's own
   sound with one attribute changed);
6. RGB-only "who is in front?" trained on occluded scenes only, 8x the steps;
7. the sound-attribute model of section 4.4 tested on sounds with noise std 0.5 and 1.0 (trained on 0-0.3).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from course_utils import report, settings
from course_utils.data import Tokenizer
from course_utils.tasks import pairs as P
from course_utils.train import fit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "bench" / "pairs_exercises.json"
SEEDS = (0, 1, 2)


class BagOfWordsEncoder(nn.Module):
    """Exercise 4: (B, T) token ids -> (B, dim): mean embedding of the real tokens, then linear (word order lost)."""

    def __init__(self, vocab_size: int, width: int = 96, dim: int = 64, pad_id: int = 0):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, width, padding_idx=pad_id)
        self.proj = nn.Linear(width, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        keep = (tokens != self.pad_id).float()[:, :, None]                  # (B, T, 1)
        h = (self.embed(tokens) * keep).sum(1) / keep.sum(1)                # (B, w) mean over the real tokens
        return self.proj(h)                                                 # (B, dim)


def word_bag(caption: str) -> tuple:
    """What a bag-of-words encoder can see of a caption: its words, sorted."""
    return tuple(sorted(caption.rstrip(".").split()))


def exercise_4(seed: int, tok: Tokenizer) -> dict:
    """R@1 of both text encoders, on all test images and split by whether the image's caption shares its bag of words
    with a caption of another meaning in the gallery (exercise 2)."""
    cfg = P.CONFIGS["image-text"]
    train = P.caption_retrieval_data(cfg.n_train, seed, "train", tokenizer=tok)
    test = P.caption_retrieval_data(cfg.n_test, seed, "test", tokenizer=tok)
    meanings: dict[tuple, set] = {}
    for caption, key in zip(test["caption"], test["keys"]):
        meanings.setdefault(word_bag(caption), set()).add(key)
    shared = torch.tensor([len(meanings[word_bag(c)]) > 1 for c in test["caption"]])     # (Q,)
    relevant = P.same_key(test["keys"])
    out = {"share of captions whose bag of words has another meaning": shared.float().mean().item()}
    for name, encoder in (("ConvTextEncoder", P.ConvTextEncoder), ("bag of words", BagOfWordsEncoder)):
        model = settings.seeded(lambda: P.DualEncoder(P.ImageEncoder(), encoder(tok.vocab_size)), seed)
        batches = P.pair_batches(train["image"], train["tokens"], P.same_key(train["keys"]), cfg.batch_size,
                                 P.torch_generator(seed))
        fit(model, batches, P.contrastive_loss, steps=cfg.steps, lr=cfg.lr, plot=False, progress=False)
        top1 = P.similarity(model, test["image"], test["tokens"]).argsort(dim=1, descending=True)[:, 0]   # as R@1
        hit = relevant[torch.arange(len(top1)), top1].float()
        out.update({f"R@1 {name}": hit.mean().item(), f"R@1 {name}, bag shared": hit[shared].mean().item(),
                    f"R@1 {name}, bag unique": hit[~shared].mean().item()})
    return out


def hard_negative_batches(clips: dict, altered: torch.Tensor, batch_size: int, generator: torch.Generator,
                          p_hard: float = 0.5):
    """Like ``pairs.correspondence_batches``, but a share p_hard of the negatives hears the clip's own scene with one
    attribute changed (``altered``: (3, n, F, T), one row per attribute)."""
    def batch(step):
        v, a, y = P.correspondence_pairs(clips["keys"], batch_size, generator)
        spec = clips["spec"][a].clone()                                     # (B, F, T)
        neg = torch.nonzero(y == 0).flatten()
        hard = neg[torch.rand(len(neg), generator=generator) < p_hard]
        attribute = torch.randint(len(altered), (len(hard),), generator=generator)
        spec[hard] = altered[attribute, v[hard]]
        return clips["video"][v], spec, y
    return batch


def exercise_5(seed: int) -> dict:
    cfg = P.CONFIGS["video-audio"]
    train, test = P.av_clips(cfg.n_train, seed, "train"), P.av_clips(cfg.n_test, seed, "test")
    altered = torch.stack([P.altered_sounds(train["scenes"], a, seed + 100) for a in P.ATTRIBUTES])   # (3, n, F, T)
    model = settings.seeded(P.CorrespondenceNet, seed)
    fit(model, hard_negative_batches(train, altered, cfg.batch_size, P.torch_generator(seed)), P.correspondence_loss,
        steps=cfg.steps, lr=cfg.lr, plot=False, progress=False)
    hard = P.correspondence_report(model, test, seed)
    base = P.run_correspondence(seed, cfg)
    keys = ("acc", "color changed", "shape changed", "size changed")
    return {**{f"{k} (random negatives)": base[k] for k in keys}, **{f"{k} (hard negatives)": hard[k] for k in keys}}


def exercise_6(seed: int) -> dict:
    cfg = P.CONFIGS["image-depth"]
    test = P.depth_order_data(cfg.n_test, seed, "test")
    out = {}
    for name, p_occluded, steps in (("as in 4.3", 0.5, cfg.steps), ("occluded only, 8x steps", 1.0, 8 * cfg.steps)):
        train = P.depth_order_data(cfg.n_train, seed, "train", p_occluded=p_occluded)
        right = P.depth_order_correct(P.train_depth_order("rgb", train, seed, steps, cfg.batch_size, cfg.lr), test)
        out[f"RGB on occluded test scenes ({name})"] = right[test["occluded"]].float().mean().item()
        out[f"RGB on separate test scenes ({name})"] = right[~test["occluded"]].float().mean().item()
    return out


def exercise_7(seed: int) -> dict:
    cfg = P.CONFIGS["text-speech"]
    model = P.train_sound_attributes(P.sound_attribute_data(cfg.n_train, seed, "train"), seed, cfg)
    out = {}
    for level in (0.5, 1.0):
        test = P.sound_attribute_data(cfg.n_test, seed, "test", noise=(level, level))
        correct = P.sound_correct(model, test)
        out.update({f"{name} @ noise {level}": correct[:, j].float().mean().item()
                    for j, name in enumerate(P.ATTRIBUTES)})
    return out


def main(only: list[str]) -> None:
    tok = Tokenizer.for_world()
    exercises = {"4 bag of words": lambda s: exercise_4(s, tok), "5 hard negatives": exercise_5,
                 "6 RGB on occluded scenes": exercise_6, "7 noise beyond training": exercise_7}
    chosen = [name for name in exercises if not only or name.split()[0] in only]
    runs = {name: [exercises[name](s) for s in SEEDS] for name in chosen}
    old = json.loads(OUT.read_text())["results"] if OUT.exists() and only else {}
    results = {name: old[name] for name in exercises if name in old and name not in runs}
    for exercise, per_seed in runs.items():
        results[exercise] = {}
        for key in per_seed[0]:
            spread = report.Spread(r[key] for r in per_seed)
            results[exercise][key] = {"values": [round(v, 4) for v in spread.values], "mean": round(spread.mean, 4),
                                      "sd": round(spread.sd, 4)}
            print(f"{exercise:28s} {key:48s} {spread.format(percent=True)}")
    results = {name: results[name] for name in exercises if name in results}
    record = {"script": "scripts/pairs_exercises.py", "seeds": list(SEEDS), "threads": settings.THREADS,
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "results": results}
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
