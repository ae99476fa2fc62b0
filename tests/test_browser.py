"""Every notebook run in a real JupyterLab, driven through Chromium the way a student would (DESIGN.md §9).

One JupyterLab server (throwaway HOME and Jupyter dirs, ``COURSE_FAST=1``) serves a temporary copy of
``notebooks/``, so the UI run never writes back to a committed file. For each notebook the test opens it at
``/lab/tree/...``, clears the stored outputs and runs *Run → Run All Cells* from the menu bar, then checks:

* every non-empty code cell got an execution count and the kernel is idle;
* no cell shows an error (checked in the DOM and in the notebook model the page holds);
* every widget output is rendered (no "Loading widget..." / "Error displaying widget" / plain-text repr) and
  the browser console shows no widget errors;
* in the first notebook with a slider, moving the slider redraws the output it drives.

A generated notebook that raises proves the checks catch an error (and that the slider check works).
Screenshots (full notebook) go to ``data/bench/screenshots/``. Run with ``make test-browser`` (two notebooks at a
time with pytest-xdist; each worker has its own server and browser). Chromium is Debian's (``make browser-deps``);
Playwright never downloads a browser. BROWSER_TEST_TIMEOUT (s) overrides the per-notebook limit.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
# BROWSER_TEST_NOTEBOOKS points the test at another folder (for developing the test itself).
NOTEBOOK_DIR = Path(os.environ.get("BROWSER_TEST_NOTEBOOKS", ROOT / "notebooks")).resolve()
SCREENSHOTS = ROOT / "data" / "bench" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]
SHOT_MAX_HEIGHT = 12_000  # px per screenshot part
NOTEBOOK_TIMEOUT_S = int(os.environ.get("BROWSER_TEST_TIMEOUT", 180))  # per notebook (fast mode): load, run, checks
WIDGET = "application/vnd.jupyter.widget-view+json"
SLIDER_RE = re.compile(r"\b(IntSlider|FloatSlider|FloatLogSlider|SelectionSlider)\b")
WIDGET_REPR_RE = re.compile(r"^\s*(IntSlider|FloatSlider|VBox|HBox|Output|Dropdown|Button|Play|interactive)\(")
LAB_SETTINGS = {  # user settings of the throwaway JupyterLab
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # every cell in the DOM
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def discover_notebooks() -> list[str]:
    """Every notebook under the notebooks folder (homework/ too), as paths relative to it."""
    if not NOTEBOOK_DIR.is_dir():
        return []
    return sorted(
        p.relative_to(NOTEBOOK_DIR).as_posix()
        for p in NOTEBOOK_DIR.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


def has_slider(path: Path) -> bool:
    nb = nbformat.read(str(path), as_version=4)
    return any(c.cell_type == "code" and SLIDER_RE.search(c.source) for c in nb.cells)


NOTEBOOKS = discover_notebooks()
SLIDER_NOTEBOOK = next((n for n in NOTEBOOKS if has_slider(NOTEBOOK_DIR / n)), None)


# --------------------------------------------------------------------------------------------- server + browser
@dataclass
class Lab:
    url: str
    root: Path  # the temporary copy of notebooks/ that the server serves
    log: Path
    proc: subprocess.Popen

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for s in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{s['id']}")
        for k in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{k['id']}")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's process group, and any kernel it left behind (kernels get their own session)."""
    import psutil

    try:
        leftovers = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        leftovers = []
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    for child in leftovers:
        try:
            child.kill()
        except psutil.Error:
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    if NOTEBOOK_DIR.is_dir():
        shutil.copytree(NOTEBOOK_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    else:
        root.mkdir()
    (base / "data").symlink_to(ROOT / "data")  # notebooks that say ../data keep working on the copy
    env = dict(os.environ, COURSE_FAST="1", PYTHONUNBUFFERED="1")
    for var, sub in [("HOME", "home"), ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data_dir"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                     ("JUPYTERLAB_SETTINGS_DIR", "lab_settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        (base / sub).mkdir()
        env[var] = str(base / sub)
    # The venv's kernelspec and lab extensions (ipywidgets' manager) live under sys.prefix: keep them on the path.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                        os.environ.get("JUPYTER_PATH")]))
    env.pop("JUPYTER_TOKEN", None)
    for plugin, values in LAB_SETTINGS.items():
        f = base / "lab_settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    port = _free_port()
    cmd = [str(Path(sys.prefix) / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url="]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = base / "jupyter.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", root, log, proc)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if server.api("GET", "/api/status") is not None:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer /api/status in 90 s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        try:
            server.shutdown_kernels()
        except OSError:
            pass
        _stop(proc)


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright launches with its own fresh, temporary user-data-dir; each notebook gets a fresh context.
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module", autouse=True)
def _print_screenshot_folder():
    yield
    print(f"\nbrowser screenshots: {SCREENSHOTS}")


# ------------------------------------------------------------------------------------------------ driving the UI
# State of the open notebook as the page holds it: the DOM (what a student sees) and the notebook model.
STATE_JS = """async ([path, reprRe]) => {
  const app = window.jupyterapp;
  let panel = null;
  for (const w of app.shell.widgets('main')) { if (w.context && w.context.path === path) panel = w; }
  if (!panel || !panel.context.isReady) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  for (const [i, cell] of panel.content.widgets.entries()) {
    if (cell.model.type !== 'code') continue;
    const outputs = cell.model.outputs.toJSON();
    const node = cell.node;
    const prompt = node.querySelector('.jp-InputPrompt');
    const widgets = [];
    const items = cell.outputArea ? cell.outputArea.widgets : [];
    for (const [j, out] of outputs.entries()) {
      if (!(out.data && out.data['%(widget)s'])) continue;
      const item = items.length === outputs.length ? items[j] : null;
      const view = item && item.node.querySelector('.jp-OutputArea-output');
      // Is the widget model still alive in the kernel? (false: closed on purpose, e.g. a finished progress bar).
      // Reads jupyterlab_widgets' renderer internals; null when they are not there.
      let alive = null;
      const renderer = item && item.widgets && item.widgets.find(w => w._manager && w._manager.promise);
      if (renderer) {
        try { alive = (await renderer._manager.promise).has_model(out.data['%(widget)s'].model_id); } catch (e) {}
      }
      widgets.push({alive, found: !!view,
                    rendered: !!view && view.querySelector(':scope > .jupyter-widgets') !== null,
                    text: view ? view.textContent.slice(0, 200) : ''});
    }
    cells.push({
      index: i,
      empty: cell.model.sharedModel.getSource().trim() === '',
      raisesOk: (cell.model.getMetadata('tags') || []).includes('raises-exception'),  // as nbval and Run All do
      count: cell.model.executionCount,
      prompt: prompt ? prompt.textContent.trim() : '',
      errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
      // JupyterLab 4 renders an `error` output as application/vnd.jupyter.stderr text, like a stderr stream:
      // tell them apart by the traceback.
      domErrors: [...node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.textContent).filter(t => /Traceback|^\\s*\\w+(Error|Exception)\\b/m.test(t)),
      widgets,
      // the widget renderer sets no data-mime-type on its node (JupyterLab 4, jupyterlab_widgets 3)
      widgetNodes: node.querySelectorAll('.jp-OutputArea-output:not([data-mime-type])').length,
      plainReprs: [...node.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')]
        .map(e => e.textContent).filter(t => new RegExp(reprRe).test(t)),
    });
  }
  return {kernel: kernel ? kernel.status : 'none', busyIndicator: panel.node.querySelector(
            '.jp-Notebook-ExecutionIndicator[data-status="busy"]') !== null, cells};
}""" % {"widget": WIDGET}


@dataclass
class LabRun:
    notebook: str
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    slider: str = ""  # what the slider check saw, empty when not done
    phases: dict[str, float] = field(default_factory=dict)  # seconds: open, run, checks, screenshot

    def mark(self, phase: str, since: float) -> float:
        now = time.monotonic()
        self.phases[phase] = round(now - since, 1)
        return now


def _state(page, path):
    return page.evaluate(STATE_JS, [path, WIDGET_REPR_RE.pattern])


def _wait_kernel_idle(page, path, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = _state(page, path)
        if s and s["kernel"] == "idle":
            return s
        _accept_dialog(page)
        page.wait_for_timeout(250)
    raise TimeoutError(f"kernel of {path} not idle after {timeout_s:.0f} s")


def _accept_dialog(page) -> None:
    """Answer a 'Select Kernel' dialog (a notebook without kernelspec) with the default kernel."""
    button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if button.count():
        button.first.click()


def _menu(page, menu: str, *commands: str) -> None:
    """Click a menu-bar menu, then its item bound to one of ``commands`` — as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).first.click()
    page.locator(", ".join(f'.lm-Menu-item[data-command="{c}"]' for c in commands)).first.click()


def _screenshot(page, name: str, failed: bool) -> Path:
    """The whole notebook, top to bottom. JupyterLab scrolls inside the page, so the viewport is stretched to the
    notebook's height, in parts of at most SHOT_MAX_HEIGHT px: name.png, name_2.png, ..."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = name.replace("/", "__").removesuffix(".ipynb")
    for old in SCREENSHOTS.iterdir():  # no stale shot of an earlier run
        if re.fullmatch(rf"(FAILED_)?{re.escape(stem)}(_\d+)?\.png", old.name):
            old.unlink()
    stem = ("FAILED_" if failed else "") + stem
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    size = page.viewport_size
    dims = page.evaluate("(sel) => { const s = document.querySelector(sel); "
                         "return s ? [s.scrollHeight, s.clientHeight] : null; }", scroller)
    if not dims:  # no notebook on the page: show what is there
        out = SCREENSHOTS / f"{stem}.png"
        page.screenshot(path=str(out))
        return out
    total, visible = dims
    chrome = size["height"] - visible  # menu bar, tabs, toolbar, status bar
    page.set_viewport_size({"width": size["width"], "height": min(max(total + chrome, size["height"]),
                                                                   SHOT_MAX_HEIGHT)})
    shots, top = [], 0
    while True:
        page.evaluate("([sel, top]) => { document.querySelector(sel).scrollTop = top; }", [scroller, top])
        page.wait_for_timeout(300)
        out = SCREENSHOTS / (f"{stem}.png" if not shots else f"{stem}_{len(shots) + 1}.png")
        page.screenshot(path=str(out))
        shots.append(out)
        top += page.evaluate("(sel) => document.querySelector(sel).clientHeight", scroller)
        if top >= total or len(shots) >= 10:
            break
    page.set_viewport_size(size)
    return shots[0]


def _check_slider(page) -> str:
    """Move the first slider that shares a VBox with an Output widget; the Output must redraw."""
    box = page.locator(".widget-vbox:has(.widget-slider):has(.widget-output)").first
    if not box.count():
        return "no slider next to an Output widget found"
    output = box.locator(".widget-output").first
    readout = box.locator(".widget-slider .widget-readout").first
    before_html, before_value = output.inner_html(), readout.text_content()
    handle = box.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft", "End"):
        page.keyboard.press(key)
        page.wait_for_timeout(200)
        if readout.text_content() != before_value:
            break
    after_value = readout.text_content()
    if after_value == before_value:
        return f"slider did not move (readout stayed {before_value!r})"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        html = output.inner_html()
        if html != before_html and "<img" in html:
            return ""
        if "Traceback" in html:
            return f"redrawing after the slider moved raised: {output.text_content()[-300:]}"
        page.wait_for_timeout(250)
    return f"slider moved {before_value} -> {after_value} but its Output did not redraw an image in 60 s"


def run_in_lab(browser, lab: Lab, path: str, slider: bool = False, timeout_s: float = NOTEBOOK_TIMEOUT_S) -> LabRun:
    """Open ``path`` (relative to the served root), Run All Cells from the menu, and collect every problem."""
    run = LabRun(path)
    start = time.monotonic()
    deadline = start + timeout_s
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("console", lambda m: m.type in ("error", "warning") and run.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: run.console.append(f"pageerror: {e}"))
    try:
        page.goto(f"{lab.url}/lab/tree/{quote(path)}?reset", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
        _wait_kernel_idle(page, path, deadline - time.monotonic())
        # Stored outputs and execution counts must not pass for fresh ones.
        _menu(page, "Edit", "editmenu:clear-all", "notebook:clear-all-cell-outputs")
        t = run.mark("open", start)
        _menu(page, "Run", "runmenu:run-all", "notebook:run-all-cells")
        page.wait_for_timeout(1000)
        state, idle_since = None, None
        while True:
            state = _state(page, path)
            if state is None:  # the notebook panel went away
                raise RuntimeError("the notebook is no longer open in JupyterLab")
            errors = [e for c in state["cells"] if not c["raisesOk"] for e in c["errors"]]
            if errors or state["kernel"] in ("dead", "unknown"):
                break
            pending = [c for c in state["cells"] if not c["empty"] and (c["count"] is None or c["prompt"] == "[*]:")]
            settled = state["kernel"] == "idle" and not state["busyIndicator"] and not pending
            idle_since = (idle_since or time.monotonic()) if settled else None
            if idle_since and time.monotonic() - idle_since > 1.0:  # idle for a second: all cells done
                break
            if time.monotonic() > deadline:
                run.problems.append(f"timeout after {timeout_s:.0f} s: kernel {state['kernel']}, "
                                    f"cells still pending {[c['index'] for c in pending]}")
                break
            page.wait_for_timeout(500)
        # Widgets render asynchronously after the kernel is idle: give their views a few seconds.
        for _ in range(20):
            state = _state(page, path)
            if not any(_widget_problem(w) for c in state["cells"] for w in c["widgets"]):
                break
            page.wait_for_timeout(250)
        t = run.mark("run", t)
        run.problems += _problems(state, run.console)
        if slider:
            run.slider = _check_slider(page) or "moved; output redrawn"
            if not run.slider.startswith("moved"):
                run.problems.append(run.slider)
    except Exception as e:  # a Playwright timeout or a vanished page: report it with a screenshot
        run.problems.append(f"{type(e).__name__}: {e}")
    finally:
        t = run.mark("checks", t) if "run" in run.phases else time.monotonic()
        try:
            run.screenshot = _screenshot(page, path, failed=bool(run.problems))
            run.mark("screenshot", t)
        except Exception as e:
            run.problems.append(f"screenshot failed: {e}")
        _close_without_saving(page)
        context.close()
        lab.shutdown_kernels()
        run.seconds = time.monotonic() - start
    return run


def _problems(state, console: list[str]) -> list[str]:
    problems = []
    stopped = any(c["errors"] and not c["raisesOk"] for c in state["cells"])
    for c in state["cells"]:
        where = f"cell {c['index']}"
        if not c["raisesOk"]:  # a cell tagged raises-exception shows its error on purpose
            problems += [f"{where}: error output {e}" for e in c["errors"]]
            problems += [f"{where}: traceback shown: {t[:300]}" for t in c["domErrors"]]
        if not c["empty"] and c["count"] is None and not c["errors"] and not stopped:
            problems.append(f"{where}: not executed (prompt {c['prompt']!r})")
        problems += [f"{where}: {p}" for p in map(_widget_problem, c["widgets"]) if p]
        problems += [f"{where}: widget shown as text (widget manager missing?): {t[:80]}" for t in c["plainReprs"]]
    if stopped:
        problems.append("Run All stopped at the first error; the cells after it did not run")
    widget_console = [m for m in console if m.startswith("pageerror")
                      or m.startswith("error") and re.search(r"widget|\bcomm\b|model", m, re.I)]
    problems += [f"console: {m[:300]}" for m in dict.fromkeys(widget_console)]  # each distinct message once
    return problems


def _widget_problem(w: dict) -> str:
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


def _close_without_saving(page) -> None:
    """Close the notebook tab and discard the changes (the copy on disk stays as it was)."""
    try:
        _menu(page, "File", "application:close")
        discard = page.locator(".jp-Dialog button", has_text=re.compile("Discard|Don.t Save|Close"))
        discard.first.click(timeout=5000)
    except Exception:
        pass


def _report(run: LabRun) -> str:
    lines = [f"{run.notebook}: {len(run.problems)} problem(s) in {run.seconds:.0f} s {run.phases}"]
    lines += [f"  - {p}" for p in run.problems]
    lines.append(f"  screenshot: {run.screenshot}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- the tests
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S + 120)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(notebook, lab, browser):
    run = run_in_lab(browser, lab, notebook, slider=notebook == SLIDER_NOTEBOOK)
    slider = f"; slider: {run.slider}" if run.slider else ""
    print(f"\n{notebook}: {run.seconds:.1f} s in the browser {run.phases}{slider}")
    assert not run.problems, _report(run)


@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S + 120)
def test_a_failing_notebook_is_detected(lab, browser):
    """The checks themselves: a slider drawn by interactive_plot redraws, and a raising cell fails the run."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\n"
            "from course_utils.viz import interactive_plot\n\n"
            "def draw(k):\n    plt.figure(figsize=(2, 2))\n    plt.plot(range(10), [i * k for i in range(10)])\n\n"
            "box = interactive_plot(draw, k=widgets.IntSlider(value=1, min=1, max=5))"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("never = 'reached'"),
    ]
    name = "_browser_selftest_raises.ipynb"
    nbformat.write(nb, lab.root / name)
    original = (lab.root / name).read_bytes()
    try:
        run = run_in_lab(browser, lab, name, slider=True)
    finally:
        unchanged = (lab.root / name).read_bytes() == original
        (lab.root / name).unlink()
    if run.screenshot:
        run.screenshot.unlink(missing_ok=True)  # not a course notebook: keep the folder to the real ones
    assert any("ZeroDivisionError" in p for p in run.problems), _report(run)
    assert any("traceback shown" in p for p in run.problems), "the DOM check must see the traceback too"
    assert not any("widget" in p for p in run.problems), _report(run)
    assert run.slider == "moved; output redrawn", _report(run)
    assert unchanged, "the UI run wrote back to the notebook file"

