"""Notebook 24.1's experiments repeated over seeds: the noise bands of its tables.

    python scripts/complementary_seeds.py [--seeds 0 1 2 3 4] [--out data/bench/complementary_seeds.json]

For each seed, ``course_utils.tasks.complementary.run_seed`` draws the training and test sets, the initial weights,
the batches and the corruptions from that seed and runs every experiment of the notebook in full-mode sizes: the
image-only, text-only and fused models (section 4), modality dropout and the robustness curves (section 5), shuffled
training pairs (6.2) and the fusion levels (6.3). Seeds already in the file are kept, so a run can add seeds.
Run on one CPU thread (the default COURSE_THREADS=1): seed 0 then gives exactly the notebook's own run at SEED = 0.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from course_utils import settings
from course_utils.data import Tokenizer
from course_utils.tasks import complementary as comp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=comp.RECORD)
    args = parser.parse_args()
    if settings.FAST:
        raise SystemExit("record in full mode: unset COURSE_FAST")
    cfg = comp.RunConfig()
    record = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if record and record.get("config") != json.loads(json.dumps(asdict(cfg))):
        raise SystemExit(f"{args.out} was recorded with another configuration; move it away first")
    record.update(script="scripts/complementary_seeds.py", config=asdict(cfg), threads=settings.THREADS,
                  torch=torch.__version__)
    record.setdefault("seeds", {})
    tok = Tokenizer.for_world()
    for seed in args.seeds:
        start = time.perf_counter()
        run = comp.run_seed(seed, cfg, tok)
        run["seconds"] = round(time.perf_counter() - start, 1)
        record["seeds"][str(seed)] = run
        record["seeds"] = dict(sorted(record["seeds"].items(), key=lambda kv: int(kv[0])))
        record["date"] = time.strftime("%Y-%m-%d")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        acc = run["acc"]
        print(f"seed {seed}: {run['seconds']:.0f} s | " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()), flush=True)


if __name__ == "__main__":
    main()
