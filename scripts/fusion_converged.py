"""Notebook 24.6's fusion comparison at a converged number of steps, over seeds.

    python scripts/fusion_converged.py [--seeds 0 1 2] [--task depth question] [--out data/bench/fusion_converged.json]
    python scripts/fusion_converged.py --probe      # test accuracy of a few models against the number of steps

For each task and seed, ``course_utils.tasks.fusion_tasks.run_seed`` draws the data, the initial weights, the batches
and the corruptions from the seed and trains every fusion level (with and without modality dropout where the notebook
does) for ``STEPS[task]`` steps, and records each model's clean test accuracy at every tenth of the steps ("curve"),
so the record shows whether the accuracies stopped rising (``--probe`` goes further, to twice the steps, at seed 0).
Seeds already in the file are kept.
Run on one CPU thread (the default COURSE_THREADS=1).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from course_utils import settings
from course_utils.tasks import fusion_tasks as ft

SIZES = {"depth": {"n_train": 2000, "n_test": 1000}, "question": {"n_train": 3000, "n_test": 1000}}
STEPS = {"depth": 1000, "question": 1500}
PROBE = {"depth": ("cross-attention: x asks y", "feature: FiLM", "early: stacked inputs"),
         "question": ("feature: FiLM", "feature: concat", "cross-attention: y asks x")}
PROBE_STEPS = {"depth": (60, 300, 1000, 2000), "question": (150, 500, 1500, 3000)}


def probe(record: dict) -> None:
    """Test accuracy (clean) of a few models at seed 0 against the number of steps."""
    out = record.setdefault("probe", {})
    for task, names in PROBE.items():
        train, test = (ft.make_data(task, SIZES[task]["n_train" if s == "train" else "n_test"], 0, s)
                       for s in ("train", "test"))
        for name in names:
            for steps in PROBE_STEPS[task]:
                model, sec = ft.train_one(task, ft.LEVELS[name][1], 0, train, steps)
                acc = ft.accuracy(model, task, {"clean": (test["x"], test["y"])}, test)["clean"]
                out.setdefault(task, {}).setdefault(name, {})[str(steps)] = round(acc, 4)
                print(f"probe {task} {name:28s} {steps:5d} steps: {acc:.3f} ({sec:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--task", nargs="+", default=list(ft.TASKS), choices=ft.TASKS)
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--out", type=Path, default=ft.RECORD)
    args = parser.parse_args()
    if settings.FAST:
        raise SystemExit("record in full mode: unset COURSE_FAST")
    record = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if record and (record.get("steps") != STEPS or record.get("sizes") != SIZES):
        raise SystemExit(f"{args.out} was recorded with other steps or sizes; move it away first")
    record.update(script="scripts/fusion_converged.py", steps=STEPS, sizes=SIZES, threads=settings.THREADS,
                  torch=torch.__version__)
    record.setdefault("runs", {})

    def save():
        record["date"] = time.strftime("%Y-%m-%d")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")
    if args.probe:
        probe(record)
        save()
        return
    for task in args.task:
        for seed in args.seeds:
            start = time.perf_counter()
            run = ft.run_seed(task, seed, SIZES[task], STEPS[task], curves=True)
            record["runs"].setdefault(task, {})[str(seed)] = {n: {str(p): r for p, r in v.items()}
                                                             for n, v in run.items()}
            record.setdefault("seconds", {}).setdefault(task, {})[str(seed)] = round(time.perf_counter() - start, 1)
            save()
            print(f"{task} seed {seed}: {time.perf_counter() - start:.0f} s | "
                  + ", ".join(f"{n} {v[0.0]['clean']:.3f}" for n, v in run.items()), flush=True)


if __name__ == "__main__":
    main()
