"""Every notebook run in a real JupyterLab, driven through Chromium the way a student would (DESIGN.md §9).

Each notebook opens at ``/lab/tree/...`` in a JupyterLab serving a (trusted) copy of ``notebooks/`` in fast mode.
As opened, its committed outputs must show no error, every stored widget must draw from the saved widget state and
Chinese text must be drawn with a font that covers Chinese (every notebook: ``test_notebook_opens_as_committed``).

The notebooks of ``LIVE`` are instead run the way a student runs them (``test_notebook_runs_in_jupyterlab``): the
same checks as opened, then outputs cleared, *Run → Run All Cells* clicked in the menu bar; every code cell must run,
no cell may show an error (``ClaimError`` included; a ``claim (…)`` line is ordinary output), every widget must
render, Chinese must be drawn with a covering font, and the first slider, moved one step, must redraw the Output
beside it. ``LIVE`` holds the kinds of widget the course uses (sliders and toggle buttons redrawing figures, a text
box, a checkbox); the self-test below covers the harness itself. nbval runs every notebook's cells in fast mode
anyway, so running all of them again through the UI would double ``make test``'s time (DESIGN.md §9's 12 minutes).
``BROWSER_LIVE=all`` (or a comma-separated list of notebooks) runs others live: ``make test-browser-all``.
Screenshots of each whole notebook go to ``data/bench/screenshots/``. The harness is ``tests/browser/``; fixtures
are in ``tests/conftest.py``. Run with ``make test-browser``; BROWSER_TEST_TIMEOUT (s) sets the per-notebook limit.
"""
from __future__ import annotations

import os

import nbformat
import pytest
from browser import NOTEBOOK_DIR, SCREENSHOTS, checks
from browser.student import SLIDER_BOX, move_first_slider, run_notebook

NOTEBOOK_TIMEOUT_S = int(os.environ.get("BROWSER_TEST_TIMEOUT", 180))  # fast mode: open, run, checks
LIVE = ("24_12_frontiers.ipynb",)  # a question box, toggle buttons, a checkbox, sliders redrawing figures, a retrain


def discover_notebooks() -> list[str]:
    """Every notebook a student opens under the notebooks folder (homework/ too), as paths relative to it; the
    reference-solution copies in solutions/ run under nbval only."""
    if not NOTEBOOK_DIR.is_dir():
        return []
    return sorted(p.relative_to(NOTEBOOK_DIR).as_posix() for p in NOTEBOOK_DIR.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and "solutions" not in p.parts)


def live_notebooks() -> list[str]:
    """``LIVE``, or what BROWSER_LIVE names ("all", or notebooks separated by commas)."""
    chosen = os.environ.get("BROWSER_LIVE", "").strip()
    everything = discover_notebooks()
    if chosen == "all":
        return everything
    names = [n.strip() for n in chosen.split(",") if n.strip()] or list(LIVE)
    unknown = [n for n in names if n not in everything]
    if unknown:
        raise ValueError(f"BROWSER_LIVE names {unknown}, which are not notebooks under {NOTEBOOK_DIR}")
    return names


@pytest.mark.browser
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S + 120)
@pytest.mark.parametrize("notebook", live_notebooks())
def test_notebook_runs_in_jupyterlab(notebook, lab, browser_context, chinese_fonts):
    run = run_notebook(browser_context, lab, notebook, timeout_s=NOTEBOOK_TIMEOUT_S, shots=SCREENSHOTS,
                       chinese_families=chinese_fonts)
    run.save(SCREENSHOTS)
    print("\n" + run.summary())
    assert not run.problems, run.report()
    assert run.screenshots and all(s.stat().st_size > 0 for s in run.screenshots)


SELFTEST_CELLS = [
    ("markdown", "# 浏览器自检 · Browser self-test\n\n这段中文应当由覆盖汉字的字体绘制，而不是一排空方框。"),
    ("code", 'print("中文输出：模态鸿沟 (modality gap)")'),
    ("code", 'from course_utils import report\n\nreport.claim(True, "融合模型胜过任一单一模态", "0.99 vs 0.60")'),
    ("code", "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\n"
             "from course_utils.viz import interactive_plot\n\n"
             "def draw(k):\n    plt.figure(figsize=(2, 2))\n    plt.plot(range(10), [i * k for i in range(10)])\n\n"
             'box = interactive_plot(draw, k=widgets.IntSlider(value=1, min=1, max=5, description="步数 k"))'),
    ("code", "def broken(k):\n    if k > 1:\n        raise ValueError(f'k = {k} is too large')\n"
             "    plt.figure(figsize=(2, 2))\n    plt.plot(range(10))\n\n"
             "broken_box = interactive_plot(broken, k=widgets.IntSlider(value=1, min=1, max=5))"),
    ("code", "1 / 0  # tagged raises-exception: shown on purpose, Run All goes on"),
    ("code", 'raise report.ClaimError("claim does not hold: the fused model beats both single modalities")'),
    ("code", "never = 'reached'"),
]


def selftest_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [new[kind](source) for kind, source in SELFTEST_CELLS]
    nb.cells[5].metadata["tags"] = ["raises-exception"]
    # A stored output of a widget whose state was not saved: the committed notebook cannot draw it when opened.
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={
        checks.WIDGET_MIME: {"model_id": "f" * 32, "version_major": 2, "version_minor": 0},
        "text/plain": "IntSlider(value=3)"})]
    return nb


@pytest.mark.browser
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S + 120)
def test_the_checks_see_what_a_student_sees(lab, browser_context, chinese_fonts):
    """The harness itself, on a generated notebook: a stored widget without saved state is caught on opening; a
    ClaimError fails the run and stops Run All; a claim line, a cell tagged raises-exception and rendered widgets do
    not; Chinese prose, code, output and widget labels are drawn with a Chinese font; a slider redraws its figure,
    and one whose redraw raises is caught."""
    name = "_browser_selftest.ipynb"
    nbformat.write(selftest_notebook(), lab.root / name)
    lab.trust(lab.root / name)
    original = (lab.root / name).read_bytes()
    sliders = {}

    def move_both_sliders(page):
        boxes = page.locator(SLIDER_BOX)
        sliders["working"] = move_first_slider(page, name, boxes.nth(0), need_image=True)
        sliders["broken"] = move_first_slider(page, name, boxes.nth(1), timeout_s=20)

    try:
        run = run_notebook(browser_context, lab, name, timeout_s=NOTEBOOK_TIMEOUT_S, shots=SCREENSHOTS,
                           chinese_families=chinese_fonts, move_slider=False, after_run=move_both_sliders)
    finally:
        unchanged = (lab.root / name).read_bytes() == original
        (lab.root / name).unlink()
    for shot in run.screenshots:  # not a course notebook: keep the folder to the real ones
        shot.unlink(missing_ok=True)
    print("\n" + run.summary())
    assert any("cell 6: error output ClaimError: claim does not hold" in p for p in run.problems), run.report()
    assert any(p.startswith("cell 6: traceback shown") for p in run.problems), "the DOM check must see it too"
    assert "Run All stopped at the first error; the cells after it did not run" in run.problems, run.report()
    assert any(p.startswith("as opened, cell 1: widget not rendered") for p in run.problems), run.report()
    expected = ("cell 6", "Run All", "as opened, cell 1", "console: error: Error: widget model not found")
    assert not [p for p in run.problems if not p.startswith(expected)], run.report()
    assert set(run.fonts) == {"prose", "code", "output", "widget"}, run.fonts
    assert all(set(fonts) & chinese_fonts for fonts in run.fonts.values()), run.fonts
    ok, seen = sliders["working"]
    assert ok and "output redrawn" in seen, seen
    ok, seen = sliders["broken"]
    assert not ok and "ValueError: k = 2 is too large" in seen, seen
    assert unchanged, "the UI run wrote back to the notebook file"


# The long runs above come first: xdist hands tests out in this order, and the short opens fill the gaps.
@pytest.mark.browser
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S + 120)
@pytest.mark.parametrize("notebook", [n for n in discover_notebooks() if n not in live_notebooks()])
def test_notebook_opens_as_committed(notebook, lab, browser_context, lab_page, chinese_fonts):
    run = run_notebook(browser_context, lab, notebook, timeout_s=NOTEBOOK_TIMEOUT_S, shots=SCREENSHOTS,
                       chinese_families=chinese_fonts, run_all=False, page=lab_page)
    if any("model not found" in p for p in run.problems):
        # Opened in an already-running JupyterLab, a stored widget view is sometimes drawn before the widget manager
        # has read the notebook's saved state (a race on its side): open it again in a page of its own.
        run = run_notebook(browser_context, lab, notebook, timeout_s=NOTEBOOK_TIMEOUT_S, shots=SCREENSHOTS,
                           chinese_families=chinese_fonts, run_all=False)
    run.save(SCREENSHOTS)
    print("\n" + run.summary())
    assert not run.problems, run.report()
    assert "prose" in run.fonts, f"no Chinese prose found to probe: {run.fonts}"
    assert run.screenshots and all(s.stat().st_size > 0 for s in run.screenshots)


# ------------------------------------------------------------------ the rules of checks.py, without a browser
def _cell(index, **kw):
    cell = dict(index=index, empty=False, raisesOk=False, count=1, prompt="[1]:", errors=[], domErrors=[],
                warnings=[], widgets=[], plainReprs=[])
    return cell | kw


def test_claim_lines_and_tagged_errors_are_not_problems():
    state = {"kernel": "idle", "busyIndicator": False, "cells": [
        _cell(0),  # its output, "claim (unchecked in fast mode): …", is text/plain: never looked at as an error
        _cell(1, raisesOk=True, errors=["ZeroDivisionError: division by zero"], domErrors=["Traceback …"]),
        _cell(2, widgets=[{"alive": True, "found": True, "rendered": True, "text": "k 1"}]),
        _cell(3, widgets=[{"alive": False, "found": True, "rendered": False, "text": ""}]),  # closed progress bar
    ]}
    assert checks.problems(state, console=["warning: something unrelated"]) == []


def test_a_claim_error_a_bare_widget_and_missing_glyphs_are_problems():
    state = {"kernel": "idle", "busyIndicator": False, "cells": [
        _cell(0, widgets=[{"alive": True, "found": True, "rendered": False, "text": "Loading widget..."}]),
        _cell(1, warnings=["UserWarning: Glyph 27169 (\\N{CJK UNIFIED IDEOGRAPH-6A21}) missing from font(s) "
                           "DejaVu Sans."]),
        _cell(2, errors=["ClaimError: claim does not hold: x"], domErrors=["ClaimError Traceback …"]),
        _cell(3, count=None, prompt="[ ]:"),
    ]}
    found = checks.problems(state, console=["error: Error: Could not create a view for model id abc"])
    assert [p.split(":")[0] for p in found] == ["cell 0", "cell 1", "cell 2", "cell 2", "Run All stopped at the "
                                                "first error; the cells after it did not run", "console"]
    assert "ClaimError" in found[2] and "empty boxes" in found[1]


def test_chinese_must_be_drawn_by_a_font_that_covers_it():
    zh = {"Noto Sans CJK SC", "WenQuanYi Micro Hei"}
    assert checks.font_problem("prose", "多模态", {"DejaVu Sans": 4, "Noto Sans CJK SC": 3}, zh) == ""
    assert "empty boxes" in checks.font_problem("prose", "多模态", {"DejaVu Sans": 7}, zh)
    assert "empty boxes" in checks.font_problem("output", "多模态", {"Noto Sans CJK SC": 0}, zh)
