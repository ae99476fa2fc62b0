"""What counts as a problem in a notebook's page state (from page_state.js): plain functions, no browser needed."""
from __future__ import annotations

import re

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# A widget that the page shows as its Python repr: the widget manager is missing.
WIDGET_REPR_RE = re.compile(r"^\s*(IntSlider|FloatSlider|VBox|HBox|Output|Dropdown|Button|Play|interactive)\(")
# matplotlib's warning when a figure draws characters its font lacks: they come out as empty boxes.
MISSING_GLYPH_RE = re.compile(r"Glyph \d+ .*missing from (current )?font", re.S)
WIDGET_CONSOLE_RE = re.compile(r"widget|\bcomm\b|model", re.I)


def pending(state: dict) -> list[dict]:
    """Code cells not run yet, or running."""
    return [c for c in state["cells"] if not c["empty"] and (c["count"] is None or c["prompt"] == "[*]:")]


def errors(state: dict) -> list[str]:
    """Error outputs of cells not tagged raises-exception."""
    return [e for c in state["cells"] if not c["raisesOk"] for e in c["errors"]]


def problems(state: dict, console: list[str]) -> list[str]:
    """Everything a student would see go wrong after Run All: errors, tracebacks, cells that did not run, widgets
    not rendered, figures with missing glyphs, widget errors in the browser console."""
    found = []
    stopped = bool(errors(state))
    if state["kernel"] in ("dead", "unknown"):
        found.append(f"the kernel is {state['kernel']}")
    for c in state["cells"]:
        where = f"cell {c['index']}"
        if not c["raisesOk"]:  # a cell tagged raises-exception shows its error on purpose
            found += [f"{where}: error output {e}" for e in c["errors"]]
            found += [f"{where}: traceback shown: {t[:300]}" for t in c["domErrors"]]
        if not c["empty"] and c["count"] is None and not c["errors"] and not stopped:
            found.append(f"{where}: not executed (prompt {c['prompt']!r})")
        found += [f"{where}: {p}" for p in map(widget_problem, c["widgets"]) if p]
        found += [f"{where}: widget shown as text (widget manager missing?): {t[:80]}" for t in c["plainReprs"]]
        found += [f"{where}: a figure draws characters its font lacks (empty boxes): {w[:200]}"
                  for w in c["warnings"] if MISSING_GLYPH_RE.search(w)]
    if stopped:
        found.append("Run All stopped at the first error; the cells after it did not run")
    widget_console = [m for m in console if m.startswith("pageerror")
                      or m.startswith("error") and WIDGET_CONSOLE_RE.search(m)]
    found += [f"console: {m[:300]}" for m in dict.fromkeys(widget_console)]  # each distinct message once
    return found


def stored_problems(state: dict) -> list[str]:
    """What the committed notebook shows when opened, before any cell runs: stored errors, or widgets that its
    saved widget state cannot draw (an instructor presents these outputs as they are)."""
    found = []
    for c in state["cells"]:
        where = f"as opened, cell {c['index']}"
        found += [f"{where}: stored error output {e}" for e in c["errors"] if not c["raisesOk"]]
        found += [f"{where}: {p} (is the widget state stored? `make execute` stores it)"
                  for p in map(widget_problem, c["widgets"]) if p]
        found += [f"{where}: widget shown as text: {t[:80]}" for t in c["plainReprs"]]
    return found


def widget_problem(w: dict) -> str:
    """Why a widget output is not shown properly, or '' when it is (or was closed on purpose)."""
    if re.search(r"Loading widget|Error displaying widget|model not found", w["text"]):
        return f"widget not rendered: {w['text'][:120]!r}"
    if w["rendered"]:
        return ""
    if not w["found"]:
        return "widget output has no node in the page"
    if w["alive"] is True:
        return "widget model is alive but its view is not rendered"
    if w["text"].strip():
        return f"widget output shows text instead of the widget: {w['text'][:120]!r}"
    return ""  # empty and its model closed (e.g. tqdm(leave=False) when done)


def font_problem(kind: str, sample: str, fonts: dict[str, int], chinese_families: set[str]) -> str:
    """'' when a font that covers Chinese drew glyphs of this text, else what the student sees instead."""
    if any(count > 0 for name, count in fonts.items() if name in chinese_families):
        return ""
    return f"Chinese {kind} text {sample!r} drawn with {fonts or 'no font'}, none of which covers Chinese: empty boxes"
