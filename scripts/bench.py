"""``make bench``: measure the course and write ``data/bench/results.md`` and ``data/bench/results.json``.

Per notebook: wall time in fast mode (COURSE_FAST=1) and full mode, peak RSS of its kernel, and the headline metrics
the notebook reports (read from the executed notebook). Then our from-scratch parts timed against their reference
libraries on the CPU and, when present, the GPU. Notebooks run on a temporary copy: committed files are not touched.

Usage: python scripts/bench.py [--fast-only | --no-full] [--only NB ...] [--no-notebooks] [--no-speed] [--threads N]
  --no-full       run fast mode only; the full-mode time is the last one recorded in data/bench/execute_times.json
                  (by `make execute` or an earlier bench), and the table says so
  --fast-only     run fast mode only and show no full-mode time at all
  --only NB       only notebooks whose path contains NB (repeatable), e.g. --only 24_04; the other notebooks' rows
                  are kept from the previous results.json, and the notes say from which run
  --threads N     CPU threads for torch in this process and the notebook kernels (1 is steadier on a shared machine)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import TIMES, execute, record_time  # noqa: E402  (the same execution as `make execute`)

from course_utils import settings  # noqa: E402
from course_utils.bench import (  # noqa: E402
    NotebookRun,
    discover_notebooks,
    headline_modes,
    machine_info,
    run_notebook,
    served_copy,
    speed_rows,
    to_markdown,
)
from course_utils.bench.reproduce import TOLERANCE, compare  # noqa: E402
from course_utils.report import read_claims, read_headlines  # noqa: E402

OUT = ROOT / "data" / "bench"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _short(e: Exception) -> str:
    if getattr(e, "ename", None):  # nbclient's CellExecutionError
        return f"{e.ename}: {str(getattr(e, 'evalue', ''))[:150]}"
    return f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}"


def _record_full_time(key: str, seconds: float) -> None:
    """Keep the full-mode time where `make execute` keeps its own (the same locked read-update-replace)."""
    record_time(key, {"full_seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d"), "by": "make bench"})


def _record_reproduction(key: str, checked: int, diffs, claims: int, seconds: float) -> None:
    """Keep what this full run says about reproduction where `make reproduce` keeps it (data/bench/reproduce.json)."""
    path = OUT / "reproduce.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[key] = {"headlines": checked, "differences": [vars(d) for d in diffs], "claims": claims,
                    "seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d"), "threads": settings.THREADS,
                    "tolerance": TOLERANCE, "by": "make bench"}
    path.write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def bench_notebooks(args) -> list[dict]:
    notebook_dir = ROOT / "notebooks"
    paths = discover_notebooks(notebook_dir, args.only)
    runs = []
    with served_copy(notebook_dir, ROOT / "data") as copy:
        for path in paths:
            key = path.relative_to(ROOT).as_posix()
            tmp = copy / path.relative_to(notebook_dir)
            run = NotebookRun(key)
            log(f"{key}: fast mode ...")
            try:
                run.fast_s, run.fast_peak_mb = run_notebook(tmp, execute, fast=True)
            except Exception as e:
                run.errors.append(f"fast mode failed: {_short(e)}")
            if not (args.fast_only or args.no_full):
                log(f"{key}: full mode ...")
                try:
                    run.full_s, run.full_peak_mb = run_notebook(tmp, execute, fast=False)
                    run.full_source = "measured now"
                    run.headlines = read_headlines(tmp)
                    run.headline_source = f"this run, {'/'.join(headline_modes(tmp)) or '?'} mode"
                    run.reproduced, diffs = compare(read_headlines(path), run.headlines)
                    run.differences = [str(d) for d in diffs]
                    _record_full_time(key, run.full_s)
                    _record_reproduction(key, run.reproduced, diffs, len(read_claims(tmp)), run.full_s)
                except Exception as e:
                    run.full_source = f"failed: {_short(e)}"
            elif args.no_full:
                rec = (json.loads(TIMES.read_text()) if TIMES.exists() else {}).get(key)
                if rec:
                    run.full_s = rec["full_seconds"]
                    run.full_source = f"recorded {rec.get('date', '?')} by {rec.get('by', 'make execute')}"
                else:
                    run.full_source = "no full run recorded"
            else:
                run.full_source = "not run (--fast-only)"
            if not run.headlines:
                run.headlines = read_headlines(path)
                run.headline_source = f"committed notebook, {'/'.join(headline_modes(path)) or '?'} mode"
            log(f"{key}: fast {run.fast_s or float('nan'):.1f} s, full {run.full_source}")
            runs.append(dataclasses.asdict(run))
    return runs


def keep_other_rows(runs: list[dict], path: Path) -> str | None:
    """After an ``--only`` run, add the rows of the notebooks it did not run from the previous ``results.json``
    (in notebook order), so the table still lists every notebook. Returns a note naming the kept rows."""
    if not path.exists():
        return None
    previous = json.loads(path.read_text(encoding="utf-8"))
    ran = {r["notebook"] for r in runs}
    kept = [r for r in previous.get("notebooks") or [] if r["notebook"] not in ran]
    if not kept:
        return None
    runs.extend(kept)
    runs.sort(key=lambda r: r["notebook"])
    return (f"rows of {', '.join(Path(r['notebook']).stem for r in kept)} kept from the previous run "
            f"({previous.get('command', '?')})")


def fill_gpu_column(rows: list[dict], path: Path) -> str | None:
    """Without a GPU here, take the GPU cells from ``path``: ``speed_rows()`` saved on a GPU machine
    ({"machine": ..., "speed": [...]}, see data/README.md). Returns a note saying where they came from."""
    if not path.exists() or any("ratio" in r["gpu"] for r in rows):
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    by_part = {r["part"]: r["gpu"] for r in recorded["speed"]}
    for r in rows:
        if r["part"] in by_part:
            r["gpu"] = dict(by_part[r["part"]], source=path.name)
    m = recorded["machine"]
    return (f"GPU column: measured on {m['gpu']} ({m['cpu']}, torch {m['torch']}) on {m['date']}, "
            f"recorded in {path.relative_to(ROOT)}; no GPU in this run")


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fast-only", action="store_true", help="fast mode only, no full-mode time")
    p.add_argument("--no-full", action="store_true", help="fast mode only; full time from execute_times.json")
    p.add_argument("--only", action="append", metavar="NB", help="notebooks whose path contains NB (repeatable)")
    p.add_argument("--no-notebooks", action="store_true", help="skip the notebook runs")
    p.add_argument("--no-speed", action="store_true", help="skip the speed ratios")
    p.add_argument("--threads", type=int,
                   help="CPU threads for torch here and in the kernels (default: COURSE_THREADS, else 1)")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        os.environ["COURSE_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)  # kernels inherit it

    start = time.perf_counter()
    results = {"machine": machine_info(), "command": " ".join(["python scripts/bench.py", *argv]),
               "notebooks": None, "speed": None, "notes": []}
    if not args.no_notebooks:
        results["notebooks"] = bench_notebooks(args)
        if args.only:
            note = keep_other_rows(results["notebooks"], OUT / "results.json")
            if note:
                results["notes"].append(note)
    if args.no_speed and (OUT / "results.json").exists():  # keep the last measured ratios in the table
        previous = json.loads((OUT / "results.json").read_text(encoding="utf-8"))
        if previous.get("speed"):
            results["speed"] = previous["speed"]
            results["notes"].append(f"speed ratios kept from the previous run ({previous.get('command', '?')})")
    if not args.no_speed:
        results["speed"] = speed_rows(log)
        note = fill_gpu_column(results["speed"], OUT / "gpu_speed.json")
        if note:
            results["notes"].append(note)
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["notes"].append(f"the benchmark itself took {results['seconds']:.0f} s")
    if args.only:
        results["notes"].append(f"only notebooks matching {args.only}")

    OUT.mkdir(parents=True, exist_ok=True)
    table = to_markdown(results)
    (OUT / "results.md").write_text(table)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(table)
    log(f"wrote {(OUT / 'results.md').relative_to(ROOT)} and {(OUT / 'results.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
