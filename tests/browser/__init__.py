"""Harness of the browser tests (tests/test_browser.py, DESIGN.md §9): JupyterLab driven through Chromium.

- ``lab``: a throwaway JupyterLab server on 127.0.0.1 serving a trusted copy of ``notebooks/`` in fast mode;
- ``chromium``: Debian's Chromium through Playwright (never a downloaded browser) in a Chinese locale, the fonts
  that cover Chinese, and which fonts Chromium actually drew a text with;
- ``student``: open a notebook, Run All Cells from the menu bar, move a slider, collect every problem;
- ``checks``: what counts as a problem in the page state that ``page_state.js`` reads (``cjk_probe.js`` finds
  Chinese text to ask Chromium about its fonts, ``kernel_status.js`` reads the kernel's status);
- ``screenshot``: the whole notebook, top to bottom, into ``data/bench/screenshots/``.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# BROWSER_TEST_NOTEBOOKS points the browser tests at another folder (for developing the harness itself).
NOTEBOOK_DIR = Path(os.environ.get("BROWSER_TEST_NOTEBOOKS", ROOT / "notebooks")).resolve()
SCREENSHOTS = ROOT / "data" / "bench" / "screenshots"
