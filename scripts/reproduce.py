"""``make reproduce``: re-execute notebooks in full mode on a temporary copy and list, per notebook, the headline
metrics that differ from the committed ones beyond the tolerance (course_utils.bench.reproduce.TOLERANCE).

Usage: python scripts/reproduce.py [NOTEBOOK ...]   (default: every notebook under notebooks/)
Writes data/bench/reproduce.json; exits 1 when any notebook differs or fails.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import execute  # noqa: E402  (the same execution as `make execute`)

from course_utils import settings  # noqa: E402
from course_utils.bench import discover_notebooks, served_copy  # noqa: E402
from course_utils.bench.reproduce import TOLERANCE, compare  # noqa: E402
from course_utils.report import read_claims, read_headlines  # noqa: E402

OUT = ROOT / "data" / "bench" / "reproduce.json"


def reproduce(path: Path, copy_dir: Path) -> dict:
    tmp = copy_dir / path.relative_to(ROOT / "notebooks")
    start = time.perf_counter()
    try:
        execute(tmp, fast=False, write_to=tmp)
    except Exception as e:  # a claim that no longer holds fails here too
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[-1][:300] if str(e) else ''}"}
    checked, diffs = compare(read_headlines(path), read_headlines(tmp))
    return {"headlines": checked, "differences": [vars(d) for d in diffs], "claims": len(read_claims(tmp)),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or discover_notebooks(ROOT / "notebooks")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    failed = False
    with served_copy(ROOT / "notebooks", ROOT / "data") as copy_dir:
        for path in paths:
            key = path.relative_to(ROOT).as_posix()
            print(f"[reproduce] {key}: executing a copy in full mode ...", flush=True)
            r = reproduce(path, copy_dir)
            r.update(date=time.strftime("%Y-%m-%d"), threads=settings.THREADS, tolerance=TOLERANCE)
            results[key] = r
            if "error" in r:
                failed = True
                print(f"  FAILED: {r['error']}")
                continue
            n = len(r["differences"])
            failed |= n > 0
            print(f"  {r['headlines']} headlines, {r['claims']} claims, {n} beyond tolerance, {r['seconds']:.0f} s")
            for d in r["differences"]:
                print(f"    {d['metric']}: committed {d['committed']!r}, re-run {d['rerun']!r}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
