"""The benchmark as a markdown table (``data/bench/results.md``), from the dict stored in ``results.json``."""
from __future__ import annotations


def _num(x, fmt: str = "{:.1f}") -> str:
    return "—" if x is None else fmt.format(x)


def _metric(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _headlines(h: dict, most: int = 6) -> str:
    """The first ``most`` metrics; the rest are in results.json."""
    shown = "; ".join(f"{k} = {_metric(v)}" for k, v in list(h.items())[:most]) or "—"
    return shown + (f"; … {len(h) - most} more in results.json" if len(h) > most else "")


def _speed_cell(m: dict, row: dict) -> str:
    if "status" in m:
        return m["status"]
    if "scenes_per_s" in m:
        return f"{m['scenes_per_s']:,.0f}/s batched, {m['single_scenes_per_s']:,.0f}/s one by one"
    return f"ours {m['ours_ms']:.2f} ms · ref {m['ref_ms']:.2f} ms · **×{m['ratio']:.2f}**"


def to_markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores, torch threads: {m['torch_threads']}; GPU: {m['gpu']}",
        f"- torch {m['torch']}, Python {m['python']}, {m['platform']}",
        f"- date: {m['date']}; command: `{results['command']}`",
        "",
    ]
    if results.get("notebooks") is not None:
        lines += [
            "## Notebooks",
            "",
            "Wall time of a whole run (kernel start included) on a temporary copy; peak RSS = the kernel and its "
            "children. Fast = `COURSE_FAST=1`.",
            "",
            "Re-run: headlines of this full-mode run that differ from the committed notebook beyond the tolerance "
            "(of how many compared; `make reproduce`).",
            "",
            "| notebook | fast (s) | full (s) | peak RSS fast (MB) | peak RSS full (MB) | re-run | headline metrics |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for r in results["notebooks"]:
            full = _num(r["full_s"], "{:.0f}")
            if r["full_source"] != "measured now":
                full = f"{full} ({r['full_source']})" if r["full_s"] is not None else r["full_source"]
            heads = _headlines(r["headlines"])
            if r["headlines"] and r["headline_source"]:
                heads += f" *({r['headline_source']})*"
            err = f" **{'; '.join(r['errors'])}**" if r["errors"] else ""
            rerun = "—" if r.get("reproduced") is None else f"{len(r.get('differences', []))} of {r['reproduced']}"
            lines.append(f"| {r['notebook']} | {_num(r['fast_s'])} | {full} | {_num(r['fast_peak_mb'], '{:.0f}')} "
                         f"| {_num(r['full_peak_mb'], '{:.0f}')} | {rerun} | {heads}{err} |")
        if not results["notebooks"]:
            lines.append("| (no notebooks found) | | | | | | |")
        lines.append("")
    if results.get("speed") is not None:
        gpu_dev = next((r["gpu"].get("device") for r in results["speed"] if r["gpu"].get("device")), None)
        lines += [
            "## From-scratch parts vs their references",
            "",
            "Same process, device and config; ours and the reference timed alternately, medians. "
            "**×r** = our time / reference time (below 1 = ours is faster).",
            "",
            f"| part | config | reference | CPU | GPU{f' ({gpu_dev})' if gpu_dev else ''} |",
            "|---|---|---|---|---|",
        ]
        for r in results["speed"]:
            lines.append(f"| {r['part']} | {r['config']} | {r['reference']} | {_speed_cell(r['cpu'], r)} "
                         f"| {_speed_cell(r['gpu'], r)} |")
        lines.append("")
    lines += [f"- {n}" for n in results.get("notes", [])]
    return "\n".join(lines).rstrip() + "\n"
