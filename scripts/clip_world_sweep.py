"""Sweep of the ``clip_world`` recipe: image tower × binding remedies, each run in its own process.

    python scripts/clip_world_sweep.py --out DIR [--steps 3000] [--only name1,name2]

Every run trains a fresh registered-size CLIP with ``clip_world.train_clip`` (same seed, same batches for the same
remedy) and records
zero-shot accuracy on seen and held-out (color, shape) pairs during training, the held-out color / shape split, the
shape probe and the color-swap test at the end. Results go to DIR/clip_world_sweep.json (runs already there with
other names are kept, so ``--only`` adds to a sweep), weights to DIR/weights.pt ({name: state_dict}). It chose the
registered configuration; ``data/bench/clip_world_sweep.json`` is its record, made before multi-positive targets
became exact about positions (see data/README.md). The notebook-scale comparisons that notebook 24.4 shows, over
three seeds, come from ``scripts/clip_remedy_seeds.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ALL = "all"
NO_MULTI_OBJECT = "multi_positive+hard_negatives+attribute_captions+color_augment"
MP_GRAY = "multi_positive+color_augment"

TOWERS = {
    "vit_cls_p8": dict(kind="vit", pool="cls", patch=8),
    "vit_mean_p8": dict(kind="vit", pool="mean", patch=8),
    "vit_mean_p4": dict(kind="vit", pool="mean", patch=4),
    "conv": dict(kind="conv"),
}

RUNS = {
    "vit_cls_p8/all": ("vit_cls_p8", ALL),
    "vit_mean_p8/all": ("vit_mean_p8", ALL),
    "vit_mean_p4/all": ("vit_mean_p4", ALL),
    "conv/all": ("conv", ALL),
    "vit_mean_p8/no_multi_object": ("vit_mean_p8", NO_MULTI_OBJECT),
    "vit_mean_p4/no_multi_object": ("vit_mean_p4", NO_MULTI_OBJECT),
    "conv/no_multi_object": ("conv", NO_MULTI_OBJECT),
    "vit_mean_p8/mp+gray": ("vit_mean_p8", MP_GRAY),
    "vit_mean_p4/mp+gray": ("vit_mean_p4", MP_GRAY),
    "conv/mp+gray": ("conv", MP_GRAY),
    "vit_mean_p8/multi_positive": ("vit_mean_p8", "multi_positive"),
    "conv/multi_positive": ("conv", "multi_positive"),
    "vit_mean_p8/none": ("vit_mean_p8", "none"),
    "conv/none": ("conv", "none"),
    # leave-one-out around the best run (conv/all), a second seed, a shorter run
    "conv/all-multi_positive": ("conv", "multi_object+hard_negatives+attribute_captions+color_augment"),
    "conv/all-hard_negatives": ("conv", "multi_positive+multi_object+attribute_captions+color_augment"),
    "conv/all-attribute_captions": ("conv", "multi_positive+multi_object+hard_negatives+color_augment"),
    "conv/all-color_augment": ("conv", "multi_positive+multi_object+hard_negatives+attribute_captions"),
    "conv/mp+multi_object": ("conv", "multi_positive+multi_object"),
    "conv/mp+hard_negatives": ("conv", "multi_positive+hard_negatives"),
    "conv/mp+attribute_captions": ("conv", "multi_positive+attribute_captions"),
    "conv/all seed 1": ("conv", ALL, 1),
    "conv/all seed 2": ("conv", ALL, 2),
    "conv/all 1500 steps": ("conv", ALL, 0, 1500),
}


def build(tower: str, seed: int):
    from dataclasses import replace

    from course_utils.nn.clip import CLIP
    from course_utils.recipes import clip_world as R

    spec = TOWERS[tower]
    if spec["kind"] == "conv":
        return R.build(seed=seed)  # the registered architecture: CNN tower of width 32
    config = R.config(image_tower="vit")
    config.vision = replace(config.vision, pool=spec["pool"], patch_size=spec["patch"])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return CLIP(config)


def run_one(name: str, steps: int, batch: int, lr: float, out: Path) -> None:
    from course_utils.recipes import clip_world as R
    from course_utils.tasks import clip_experiments as X

    tower, remedy, seed, steps = (RUNS[name] + (0, steps)[len(RUNS[name]) - 2:])[:4]  # defaults: seed 0, --steps
    model = build(tower, seed)
    start = time.perf_counter()
    hist = R.train_clip(model, steps, remedy, seed=seed, batch_size=batch, lr=lr, eval_every=max(1, steps // 6),
                        progress=False, plot=False)
    seconds = time.perf_counter() - start
    model.eval()
    seen, held = X.zero_shot(model, False, seed), X.zero_shot(model, True, seed)
    probe = X.binding_probe(model, seed)
    result = {
        "name": name, "tower": tower, "remedy": remedy, "steps_done": len(hist.loss), "seconds": seconds,
        "zero_shot_seen": seen["pair"], "zero_shot_held_out": held["pair"],
        "held_out_color": held["color"], "held_out_shape": held["shape"],
        "shape_probe_held_out": probe["shape_held_out"], "swap_test": X.swap_test(model, seed),
        "curve_seen": hist.metric("seen_acc"), "curve_held_out": hist.metric("held_out_acc"),
        "final_loss": float(sum(hist.loss[-20:]) / 20),
    }
    safe = name.replace("/", "__").replace(" ", "_")
    (out / f"{safe}.json").write_text(json.dumps(result))
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out / f"{safe}.pt")
    print(json.dumps({k: v for k, v in result.items() if not k.startswith("curve")}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--only", default="")
    p.add_argument("--one", default="")
    args = p.parse_args()
    work = Path(os.environ.get("SWEEP_WORK", "/tmp/clip_sweep"))
    work.mkdir(parents=True, exist_ok=True)
    if args.one:
        run_one(args.one, args.steps, args.batch, args.lr, work)
        return
    names = [n for n in args.only.split(",") if n] or list(RUNS)
    for n in names:
        if n not in RUNS:
            raise SystemExit(f"unknown run {n!r}; choose from {', '.join(RUNS)}")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, __file__, "--out", str(args.out), "--one", n, "--steps",
                               str(args.steps), "--batch", str(args.batch), "--lr", str(args.lr)],
                              env=env) for n in names]
    codes = [pr.wait() for pr in procs]
    args.out.mkdir(parents=True, exist_ok=True)
    results, weights = [], {}
    for n, code in zip(names, codes):
        safe = n.replace("/", "__").replace(" ", "_")
        if code != 0 or not (work / f"{safe}.json").exists():
            results.append({"name": n, "error": f"exit code {code}"})
            continue
        results.append(json.loads((work / f"{safe}.json").read_text()))
        weights[n] = torch.load(work / f"{safe}.pt")
    from course_utils import settings

    record_path = args.out / "clip_world_sweep.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {"runs": []}
    record["runs"] = [r for r in record["runs"] if r["name"] not in names] + results
    record.update(machine=f"{settings.device_name()}, torch {torch.__version__}"
                  + (", bf16 autocast" if settings.DEVICE.type == "cuda" else ""),
                  script="scripts/clip_world_sweep.py", batch_size=args.batch, lr=args.lr,
                  eval="zero-shot top-1 among 18 classes, 50 single-object images per class; curves: 20 per class")
    record_path.write_text(json.dumps(record, indent=1))
    torch.save(weights, args.out / "weights.pt")
    for r in results:
        if "error" in r:
            print(f"{r['name']:32s} {r['error']}")
        else:
            print(f"{r['name']:32s} steps {r['steps_done']:5d} {r['seconds']:6.0f}s  seen {r['zero_shot_seen']:.3f}  "
                  f"held {r['zero_shot_held_out']:.3f} (color {r['held_out_color']:.3f} shape "
                  f"{r['held_out_shape']:.3f})  probe {r['shape_probe_held_out']:.3f}  swap {r['swap_test']:.3f}")


if __name__ == "__main__":
    main()
