"""Record notebook 24.4's live experiments over several seeds: remedies, batch sizes, image towers, long runs.

    python scripts/clip_remedy_seeds.py [--seeds 0 1 2] [--groups remedies batch tower long registered] [--fast]

Every run is one of the notebook's live runs: a fresh live CLIP (``clip_world.build_live(seed)``) trained by
``clip_world.train_clip(..., seed=seed)`` and measured by ``clip_experiments.evaluate`` on evaluation sets drawn from
the same seed. With the notebook's SEED among the seeds, that seed's rows are exactly the notebook's live numbers
(same code, one CPU thread). Runs already in the output file (same name and seed) are kept, so an interrupted run
continues where it stopped. About 1.5 hours for three seeds on one quiet CPU thread (the 1,500-step runs take most of
it); the "registered" group trains the registered architecture as the shipped weights were trained, from each seed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_utils import settings  # noqa: E402

STEPS, BATCH = 300, 128  # the notebook's live budget
BATCH_STEPS = 100  # the batch-size runs at equal steps
LONG_STEPS = 1500  # the long runs: as many steps as the registered clip_world recipe
PAIRS_SEEN = 256 * BATCH_STEPS  # the batch-size runs at equal data: batch × steps = 25,600 pairs
N_RETRIEVAL = 1000


# name -> (remedy, steps, batch size, image tower of the live model: "conv" / "vit", or "registered": the wider
# registered clip_world architecture, trained like the shipped weights)
GROUPS = {
    "remedies": {
        "naive": ("none", STEPS, BATCH, "conv"),
        "multi-positive": ("multi_positive", STEPS, BATCH, "conv"),
        "+ gray color augmentation": ("multi_positive+color_augment", STEPS, BATCH, "conv"),
        "+ NegCLIP hard negatives": ("multi_positive+hard_negatives", STEPS, BATCH, "conv"),
        "+ multi-object scenes": ("multi_positive+multi_object", STEPS, BATCH, "conv"),
        "+ attribute captions": ("multi_positive+attribute_captions", STEPS, BATCH, "conv"),
        "all five remedies": ("all", STEPS, BATCH, "conv"),
    },
    "batch": {
        **{f"batch {n}, {BATCH_STEPS} steps": ("multi_positive", BATCH_STEPS, n, "conv") for n in (16, 64, 256)},
        **{f"batch {n}, {PAIRS_SEEN // n} steps": ("multi_positive", PAIRS_SEEN // n, n, "conv") for n in (16, 64)},
    },
    "tower": {"all five remedies, ViT image tower": ("all", STEPS, BATCH, "vit")},
    "long": {f"{name}, {LONG_STEPS} steps": (remedy, LONG_STEPS, BATCH, "conv")
             for name, remedy in [("naive", "none"), ("all five remedies", "all")]},
    "registered": {f"{name}, registered model, {LONG_STEPS} steps": (remedy, LONG_STEPS, BATCH, "registered")
                   for name, remedy in [("naive", "none"), ("all five remedies", "all")]},
}


def run_one(name: str, spec: tuple, seed: int, fast: bool) -> dict:
    from course_utils.recipes import clip_world as R
    from course_utils.tasks import clip_experiments as X

    remedy, steps, batch, tower = spec
    if fast:
        steps, batch = max(2, steps // 100), min(batch, 16)
    model = R.build(fast, seed) if tower == "registered" else R.build_live(seed, fast=fast, image_tower=tower)
    start = time.perf_counter()
    hist = R.train_clip(model, steps, remedy, seed=seed, batch_size=batch, progress=False)
    seconds = time.perf_counter() - start
    rs = X.retrieval_set(50 if fast else N_RETRIEVAL, seed)
    row = {"run": name, "seed": seed, "remedy": remedy, "steps": steps, "batch_size": batch, "tower": tower,
           "seconds": round(seconds, 1), **{k.replace(" ", "_").replace("-", "_"): v
                                            for k, v in X.evaluate(model, seed, rs).items()}}
    probe = X.binding_probe(model, seed)
    by_place = X.text_to_image_by_place(model, rs)
    final_loss = sum(hist.loss[-20:]) / len(hist.loss[-20:])
    row.update(color_probe_held_out=probe["color_held_out"], linear_probe_seen=X.linear_probe(model, seed),
               t2i_r1_place=by_place["names a place"], t2i_r1_no_place=by_place["no place"],
               final_loss=final_loss, log_n_minus_loss=math.log(batch) - final_loss,
               inv_tau=model.scale().item(), curve_held_out=hist.metric("held_out_acc"),
               curve_seen=hist.metric("seen_acc"))
    return row


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--groups", nargs="+", default=list(GROUPS), choices=list(GROUPS))
    p.add_argument("--out", type=Path, default=ROOT / "data" / "bench" / "clip_remedies.json")
    p.add_argument("--fast", action="store_true", help="tiny runs, to check that the script works")
    args = p.parse_args(argv)
    record = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    record.update(script="scripts/clip_remedy_seeds.py", threads=settings.THREADS, steps=STEPS, batch_size=BATCH,
                  n_retrieval=N_RETRIEVAL, evaluation="zero-shot top-1 among 18 classes, 50 single-object images "
                  "per class; probes 60/50 images per class; retrieval on 1000 test pairs; all drawn from the seed")
    done = {(r["run"], r["seed"]) for r in record["runs"]}
    for group in args.groups:
        for seed in args.seeds:
            for name, spec in GROUPS[group].items():
                if (name, seed) in done:
                    continue
                row = run_one(name, spec, seed, args.fast)
                record["runs"].append(row)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(record, indent=1))
                print(f"{name:38s} seed {seed}  {row['seconds']:6.1f}s  seen {row['zero_shot_seen']:.3f}  held-out "
                      f"{row['zero_shot_held_out']:.3f}  swap {row['swap_test']:.3f}  t2i {row['t2i_R@1']:.3f}",
                      flush=True)


if __name__ == "__main__":
    main()
