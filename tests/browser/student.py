"""Drive one notebook through JupyterLab's UI as a student would, and collect what went wrong."""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import checks, screenshot
from .chromium import fonts_drawing

HERE = Path(__file__).resolve().parent
PAGE_STATE_JS = (HERE / "page_state.js").read_text()
CJK_PROBE_JS = (HERE / "cjk_probe.js").read_text()
KERNEL_STATUS_JS = (HERE / "kernel_status.js").read_text()
PROBE_ATTRIBUTE = "data-cjk-probe"
VIEWPORT = {"width": 1400, "height": 1000}
SLIDER_BOX = ".widget-vbox:has(.widget-slider):has(.widget-output)"  # interactive_plot's controls + Output
TRACEBACK_RE = re.compile(r"Traceback|^\s*\w+(Error|Exception)\b", re.M)


@dataclass
class LabRun:
    notebook: str
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # stderr text that is not a traceback (shown, not failed)
    console: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    slider: str = ""  # what the slider check saw; empty when the notebook has no slider next to an Output
    fonts: dict[str, list[str]] = field(default_factory=dict)  # region kind -> fonts that drew its Chinese text
    phases: dict[str, float] = field(default_factory=dict)  # seconds: open, run, checks, screenshot
    ran: bool = True  # False: opened only, its committed outputs checked (files <stem>__as_committed.*)

    @property
    def stem(self) -> str:
        return screenshot.stem_for(self.notebook) + ("" if self.ran else "__as_committed")

    def mark(self, phase: str, since: float) -> float:
        now = time.monotonic()
        self.phases[phase] = round(now - since, 1)
        return now

    def report(self) -> str:
        lines = [f"{self.notebook}: {len(self.problems)} problem(s) in {self.seconds:.0f} s {self.phases}"]
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  screenshot: {s}" for s in self.screenshots[:1]]
        return "\n".join(lines)

    def save(self, folder: Path) -> Path:
        """What the run saw, beside its screenshots: folder/<stem>.json."""
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{self.stem}.json"
        record = asdict(self) | {"screenshots": [s.name for s in self.screenshots]}
        out.write_text(json.dumps(record, ensure_ascii=False, indent=1))
        return out

    def summary(self) -> str:
        parts = [f"{self.notebook}: {self.seconds:.1f} s in the browser {self.phases}"]
        if self.slider:
            parts.append(f"slider: {self.slider}")
        if self.fonts:
            parts.append("Chinese drawn with " + "; ".join(f"{k}: {', '.join(v)}" for k, v in self.fonts.items()))
        parts += [f"stderr shown: {w[:120]!r}" for w in dict.fromkeys(self.warnings)]
        return "\n  ".join(parts)


def run_notebook(context, lab, path: str, *, timeout_s: float, shots: Path, chinese_families: set[str],
                 move_slider: bool = True, after_run: Callable | None = None, run_all: bool = True,
                 page=None) -> LabRun:
    """Open ``path`` (relative to the served root) in a new page of ``context``, clear its outputs, Run All Cells
    from the menu bar, then check errors, widgets, the fonts of its Chinese text and (``move_slider``) its first
    slider; call ``after_run(page)`` if given; save screenshots to ``shots``.

    ``run_all=False`` stops after opening: the committed outputs and stored widget views are checked and the fonts
    of its Chinese text probed as they are (no cell runs). ``page``: a page of ``shared_lab_page`` where JupyterLab
    is already loaded; the notebook opens in it (and is closed after) instead of in a new page, which spares booting
    JupyterLab for every notebook."""
    run = LabRun(path, ran=run_all)
    start = time.monotonic()
    deadline = start + timeout_s
    shared = page is not None
    page = page or context.new_page()
    page.set_default_timeout(60_000)

    def on_console(m):
        if m.type in ("error", "warning"):
            run.console.append(f"{m.type}: {m.text}")

    def on_error(e):
        run.console.append(f"pageerror: {e}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    t = start
    try:
        if shared:
            page.evaluate(OPEN_JS, path)
        else:
            page.goto(f"{lab.url}/lab/tree/{quote(path)}?reset", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
        _wait_kernel_idle(page, path, deadline - time.monotonic())
        run.problems += checks.stored_problems(_wait_widgets(page, path, state_of(page, path)))
        if not run_all:
            t = run.mark("open", start)
            _check_chinese_fonts(page, run, chinese_families)
            return run
        # Stored outputs and execution counts must not pass for fresh ones.
        _menu(page, "Edit", "editmenu:clear-all", "notebook:clear-all-cell-outputs")
        t = run.mark("open", start)
        _menu(page, "Run", "runmenu:run-all", "notebook:run-all-cells")
        state = _wait_run_all(page, path, run, deadline)
        t = run.mark("run", t)
        run.problems += checks.problems(state, run.console)
        run.warnings = [w for c in state["cells"] for w in c["warnings"]]
        _check_chinese_fonts(page, run, chinese_families)
        if move_slider and page.locator(SLIDER_BOX).count():
            ok, run.slider = move_first_slider(page, path, page.locator(SLIDER_BOX).first)
            run.problems += [] if ok else [run.slider]
        if after_run:
            after_run(page)
    except Exception as e:  # a Playwright timeout or a vanished page: report it with a screenshot
        run.problems.append(f"{type(e).__name__}: {e}")
    finally:
        t = run.mark("checks", t) if "open" in run.phases else time.monotonic()
        stem = run.stem
        screenshot.remove_shots(shots, stem)
        try:
            run.screenshots = screenshot.whole_notebook(page, shots, ("FAILED_" if run.problems else "") + stem)
            run.mark("screenshot", t)
        except Exception as e:
            run.problems.append(f"screenshot failed: {e}")
        if shared:  # autosave is off: the file on disk stays as it was
            page.evaluate(CLOSE_JS)
            page.remove_listener("console", on_console)
            page.remove_listener("pageerror", on_error)
        else:
            page.close()
        lab.shutdown_kernels()
        run.seconds = time.monotonic() - start
    return run


OPEN_JS = """async (path) => {
  const app = window.jupyterapp;
  await app.started; await app.restored;
  await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
}"""
CLOSE_JS = """async () => {
  for (const w of [...window.jupyterapp.shell.widgets('main')]) { if (w.context) { w.dispose(); } }
}"""


def shared_lab_page(context, lab):
    """A page with JupyterLab loaded and nothing open, for ``run_notebook(page=...)``."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{lab.url}/lab?reset", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    page.evaluate(CLOSE_JS)  # a launcher or a restored tab
    return page


def _check_chinese_fonts(page, run: LabRun, chinese_families: set[str]) -> None:
    """Ask Chromium which fonts drew the first Chinese text of the prose, code, outputs and widgets."""
    for kind, sample in page.evaluate(CJK_PROBE_JS, [PROBE_ATTRIBUTE]).items():
        fonts = fonts_drawing(page, f'[{PROBE_ATTRIBUTE}="{kind}"]')
        run.fonts[kind] = sorted(fonts)
        problem = checks.font_problem(kind, sample, fonts, chinese_families)
        run.problems += [problem] if problem else []


def state_of(page, path: str) -> dict | None:
    return page.evaluate(PAGE_STATE_JS, [path, checks.WIDGET_MIME, checks.WIDGET_REPR_RE.pattern])


def _wait_run_all(page, path: str, run: LabRun, deadline: float) -> dict:
    """Poll until every cell ran and the kernel is idle for a second (or an error stops Run All), then give the
    widgets' views a few seconds to render."""
    page.wait_for_timeout(1000)
    idle_since = None
    while True:
        state = state_of(page, path)
        if state is None:
            raise RuntimeError("the notebook is no longer open in JupyterLab")
        if checks.errors(state) or state["kernel"] in ("dead", "unknown"):
            break
        waiting = checks.pending(state)
        settled = state["kernel"] == "idle" and not state["busyIndicator"] and not waiting
        idle_since = (idle_since or time.monotonic()) if settled else None
        if idle_since and time.monotonic() - idle_since > 1.0:
            break
        if time.monotonic() > deadline:
            run.problems.append(f"timeout: kernel {state['kernel']}, cells still pending "
                                f"{[c['index'] for c in waiting]}")
            break
        page.wait_for_timeout(500)
    return _wait_widgets(page, path, state)


def _wait_widgets(page, path: str, state: dict, timeout_s: float = 5) -> dict:
    """Widget views render asynchronously (after the kernel is idle, or from the saved state on opening): give
    them ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(c["plainReprs"] or any(map(checks.widget_problem, c["widgets"])) for c in state["cells"]):
            break
        page.wait_for_timeout(250)
        state = state_of(page, path)
    return state


def move_first_slider(page, path: str, box, need_image: bool = False, timeout_s: float = 60) -> tuple[bool, str]:
    """Move the first slider in ``box`` (a VBox of controls and an Output) by one step with the keyboard; the
    Output must redraw (an image when ``need_image``) without an error. Returns (ok, what was seen)."""
    output = box.locator(".widget-output").first
    readout = box.locator(".widget-slider .widget-readout").first
    before_html, before_value = output.inner_html(), readout.text_content()
    handle = box.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    start = time.monotonic()
    for key in ("ArrowRight", "ArrowLeft", "End"):
        page.keyboard.press(key)
        page.wait_for_timeout(200)
        if readout.text_content() != before_value:
            break
    after_value = readout.text_content()
    if after_value == before_value:
        return False, f"slider did not move (readout stayed {before_value!r})"
    moved = f"slider moved {before_value} -> {after_value}"
    while time.monotonic() - start < timeout_s:
        shown = output.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        errors = [t for t in shown.all_text_contents() if TRACEBACK_RE.search(t)]
        if errors:
            return False, f"{moved}; redrawing raised: {errors[0][-300:]}"
        html = output.inner_html()
        redrawn = html != before_html and output.locator(".jp-OutputArea-output").count() > 0
        if redrawn and (not need_image or "<img" in html) and _kernel_status(page, path) == "idle":
            return True, f"{moved}; output redrawn in {time.monotonic() - start:.1f} s"
        page.wait_for_timeout(250)
    return False, f"{moved} but its Output did not redraw {'an image ' if need_image else ''}in {timeout_s:.0f} s"


def _kernel_status(page, path: str) -> str:
    return page.evaluate(KERNEL_STATUS_JS, path)


def _wait_kernel_idle(page, path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _kernel_status(page, path) == "idle":
            return
        _accept_dialog(page)
        page.wait_for_timeout(250)
    raise TimeoutError(f"kernel of {path} not idle after {timeout_s:.0f} s")


def _accept_dialog(page) -> None:
    """Answer a 'Select Kernel' dialog (a notebook without kernelspec) with the default kernel."""
    button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if button.count():
        button.first.click()


def _menu(page, menu: str, *commands: str) -> None:
    """Click a menu-bar menu, then its item bound to one of ``commands``, as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).first.click()
    page.locator(", ".join(f'.lm-Menu-item[data-command="{c}"]' for c in commands)).first.click()
