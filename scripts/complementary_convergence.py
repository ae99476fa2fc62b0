"""How long notebook 24.1's fused model needs: its test accuracy after 600, 1000 and 1500 training steps, per seed.

    python scripts/complementary_convergence.py [--seeds 0 1 2 3 4] [--steps 600 1000 1500]

The notebook trains for ``RunConfig.steps`` (1500); this script repeats the fused model of section 4
(``complementary.fused_by_steps``: same data, initial weights and batches as the notebook at each seed) with shorter
schedules too and writes ``data/bench/complementary_convergence.json`` (notebook section 4.3). The 1500-step row
equals the ``"image + text (fused)"`` accuracy of ``complementary_seeds.json``. Seeds already in the file are kept.
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
    parser.add_argument("--steps", type=int, nargs="+", default=[600, 1000, 1500])
    parser.add_argument("--out", type=Path, default=comp.CONVERGENCE)
    args = parser.parse_args()
    if settings.FAST:
        raise SystemExit("record in full mode: unset COURSE_FAST")
    cfg = comp.RunConfig()
    record = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if record and (record.get("config") != json.loads(json.dumps(asdict(cfg))) or record.get("steps") != args.steps):
        raise SystemExit(f"{args.out} was recorded with another configuration; move it away first")
    record.update(script="scripts/complementary_convergence.py", config=asdict(cfg), steps=args.steps,
                  threads=settings.THREADS, torch=torch.__version__)
    record.setdefault("seeds", {})
    tok = Tokenizer.for_world()
    for seed in args.seeds:
        start = time.perf_counter()
        acc = comp.fused_by_steps(seed, cfg, tok, tuple(args.steps))
        record["seeds"][str(seed)] = {"acc": acc, "seconds": round(time.perf_counter() - start, 1)}
        record["seeds"] = dict(sorted(record["seeds"].items(), key=lambda kv: int(kv[0])))
        record["date"] = time.strftime("%Y-%m-%d")
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"seed {seed}: " + ", ".join(f"{n} steps {a:.3f}" for n, a in acc.items()), flush=True)


if __name__ == "__main__":
    main()
