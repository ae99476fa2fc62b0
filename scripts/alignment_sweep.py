"""Record notebook 24.5's sweeps over several seeds: data/bench/alignment_sweep.json.

    python scripts/alignment_sweep.py [--seed 0] [--seeds 3] [--steps 600] [--only tau,ablations] [--out PATH]

Each sweep varies one factor of the contrastive run of notebook 24.5 (temperature τ fixed, batch size, embedding
width d, share of mismatched training pairs), everything else as in the notebook's main table (same encoders, steps,
learning rate, 4,096 training pairs, the same 1,000 test pairs). ``ablations`` are the variants the exercises
ask about (matching with uniform negatives or with an MLP-only head, contrastive with another initial τ). Every
point is trained once per seed ``seed, seed + 1, …`` (initial weights, batches, hard negatives and training pairs
all follow the seed); the test pairs are drawn from ``--seed`` as in the notebook. One thread (COURSE_THREADS), CPU,
float32: the same arithmetic as the notebook. Results are written after every point, so an interrupted run keeps
what it finished.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "bench" / "alignment_sweep.json"
N_TRAIN, N_TEST = 4096, 1000

SWEEPS = {
    "tau": [0.01, 0.03, 0.1, 0.3, 1.0],
    "batch_size": [16, 32, 64, 128],
    "embed_dim": [2, 4, 8, 32],
    "mismatch": [0.0, 0.25, 0.5, 0.75],
}
ABLATIONS = {
    "matching, uniform negatives": {"objective": "matching", "hard_negatives": False},
    "matching, MLP-only head": {"objective": "matching", "head_similarity": False},
    "contrastive, τ learned from 0.5": {"objective": "contrastive", "tau_init": 0.5},
    "contrastive, τ learned from 0.01": {"objective": "contrastive", "tau_init": 0.01},
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--only", default="", help="comma-separated: tau, batch_size, embed_dim, mismatch, ablations")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()

    import torch

    from course_utils import alignment as align
    from course_utils import settings
    from course_utils.data import Tokenizer

    names = [n for n in args.only.split(",") if n] or [*SWEEPS, "ablations"]
    unknown = set(names) - {*SWEEPS, "ablations"}
    if unknown:
        raise SystemExit(f"unknown sweep {sorted(unknown)}; choose from {', '.join([*SWEEPS, 'ablations'])}")
    settings.seed_everything(args.seed)
    seeds = settings.seeds(args.seeds)
    tok = Tokenizer.for_world()
    test = align.world_pairs(N_TEST, seed=args.seed, split="test", tokenizer=tok)
    base = align.AlignConfig(seed=args.seed, steps=args.steps)

    def make_train(seed, value=0.0, name="mismatch"):
        share = value if name == "mismatch" else 0.0
        return align.world_pairs(N_TRAIN, seed=seed, split="train", mismatch=share, tokenizer=tok)

    record = json.loads(args.out.read_text()) if args.out.exists() else {}
    record.update(script="scripts/alignment_sweep.py", seeds=seeds, steps=args.steps, n_train=N_TRAIN, n_test=N_TEST,
                  threads=settings.THREADS, torch=torch.__version__, device=settings.DEVICE.type,
                  metrics="R@1 i→t / t→i (hit = same color, shape, size), their mean, 18-class zero-shot accuracy, "
                          "learned τ, and the geometry of the test embeddings (gap, alignment, uniformity)")
    record.setdefault("sweeps", {})
    rounded = lambda row: {k: [round(x, 5) for x in v] if isinstance(v, list) else v for k, v in row.items()}
    record.setdefault("ablations", {})
    for name in names:
        start = time.perf_counter()
        if name == "ablations":
            for label, overrides in ABLATIONS.items():
                rows = align.sweep("variant", [label], replace(base, **overrides), seeds,
                                   lambda s, v: make_train(s), test, tok)
                row = {k: v for k, v in rounded(rows[0]).items() if k != "variant"}
                record["ablations"][label] = {**overrides, **row}
                args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
                print(f"{label}: R@1 mean {rows[0]['R@1 mean']}", flush=True)
        else:
            rows = align.sweep(name, SWEEPS[name], base, seeds, lambda s, v, n=name: make_train(s, v, n), test, tok)
            record["sweeps"][name] = [rounded(r) for r in rows]
            args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
            for r in rows:
                print(f"{name} = {r[name]}: R@1 mean {[round(x, 3) for x in r['R@1 mean']]}", flush=True)
        print(f"[{name}] {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
