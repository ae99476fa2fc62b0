"""Checker of homework 4 (a survey of multimodal large models): the student's own entries fill the template."""
from __future__ import annotations

from ..survey import FIELDS, REGISTRY, ModelEntry, entry_problems
from .core import Wrong, call, checker

MIN_ENTRIES = 2


@checker("hw4.1", f"at least {MIN_ENTRIES} models of your own, each with every field of the template and a source")
def check_survey_entries(fn) -> str:
    entries = call(fn)
    if isinstance(entries, (ModelEntry, dict)) or not isinstance(entries, (list, tuple)):
        raise Wrong(f"my_entries() returned {type(entries).__name__}, expected a list of entries",
                    "return [ModelEntry(...), ModelEntry(...)], one per model")
    if len(entries) < MIN_ENTRIES:
        raise Wrong(f"{len(entries)} entries, at least {MIN_ENTRIES} are asked for",
                    "pick models after 2023 or families the registry lacks (e.g. Qwen-VL, InternVL, Kosmos-1, PaLI)")
    problems = [p for e in entries for p in entry_problems(e)]
    if problems:
        raise Wrong("; ".join(problems[:4]) + (f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""),
                    f"every entry needs {', '.join(FIELDS)}; 'not disclosed' is a valid answer where the source "
                    "says so, an empty string is not")
    names = [(e.name if isinstance(e, ModelEntry) else e["name"]).strip() for e in entries]
    known = {e.name.lower() for e in REGISTRY}
    copied = [n for n in names if n.lower() in known]
    if copied:
        raise Wrong(f"{', '.join(copied)} is already in the registry", "survey models the registry does not have")
    if len({n.lower() for n in names}) != len(names):
        raise Wrong(f"the same model appears twice among {names}", "one entry per model")
    texts = [(e.as_row() if isinstance(e, ModelEntry) else e) for e in entries]
    for row in texts:
        same = [f for f in ("architecture", "data", "objectives", "results", "limits")
                if any(row[f].strip() == getattr(r, f).strip() for r in REGISTRY)]
        if same:
            raise Wrong(f"{row['name']}: the {', '.join(same)} text is copied from another registry entry",
                        "write what the cited source says about this model")
    return f"{len(entries)} entries, every field filled and sourced: {', '.join(n for n in names)}"
