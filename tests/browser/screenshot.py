"""Screenshots of a whole notebook, top to bottom, as a student's browser draws it."""
from __future__ import annotations

import base64
import re
from pathlib import Path

SCROLLER = ".jp-NotebookPanel .jp-WindowedPanel-outer"  # JupyterLab scrolls inside this, not the page
MAX_HEIGHT = 12_000  # px per screenshot part
MAX_PARTS = 10


def stem_for(notebook: str) -> str:
    """File name stem of a notebook's screenshots: homework/x.ipynb -> homework__x."""
    return notebook.replace("/", "__").removesuffix(".ipynb")


def remove_shots(folder: Path, stem: str) -> None:
    """Delete earlier shots of ``stem`` (passed or FAILED_), so the folder only holds the latest run."""
    if not folder.is_dir():
        return
    for old in folder.iterdir():
        if re.fullmatch(rf"(FAILED_)?{re.escape(stem)}(_\d+)?\.png", old.name):
            old.unlink()


def whole_notebook(page, folder: Path, stem: str) -> list[Path]:
    """Save the open notebook as stem.png, stem_2.png, ...: the viewport is stretched to the notebook's height
    (menu bar, tabs and status bar stay in view), in parts of at most MAX_HEIGHT px."""
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    dims = page.evaluate("(sel) => { const s = document.querySelector(sel); "
                         "return s ? [s.scrollHeight, s.clientHeight] : null; }", SCROLLER)
    if not dims:  # no notebook on the page: show what is there
        out = folder / f"{stem}.png"
        page.screenshot(path=str(out))
        return [out]
    total, visible = dims
    chrome = size["height"] - visible  # menu bar, tabs, toolbar, status bar
    page.set_viewport_size({"width": size["width"], "height": min(max(total + chrome, size["height"]), MAX_HEIGHT)})
    shots, top = [], 0
    try:
        while len(shots) < MAX_PARTS:
            page.evaluate("([sel, top]) => { document.querySelector(sel).scrollTop = top; }", [SCROLLER, top])
            page.wait_for_timeout(300)
            out = folder / (f"{stem}.png" if not shots else f"{stem}_{len(shots) + 1}.png")
            _viewport_png(page, out)
            shots.append(out)
            top += page.evaluate("(sel) => document.querySelector(sel).clientHeight", SCROLLER)
            if top >= total:
                break
    finally:
        page.set_viewport_size(size)
    return shots


def _viewport_png(page, out: Path) -> None:
    """The viewport as PNG, encoded by Chromium's faster PNG setting (half the time of the default for a
    1400 x 12000 px part, files about a quarter larger)."""
    cdp = page.context.new_cdp_session(page)
    try:
        shot = cdp.send("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True})
    finally:
        cdp.detach()
    out.write_bytes(base64.b64decode(shot["data"]))
