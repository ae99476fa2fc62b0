"""Fixtures of the browser tests (tests/test_browser.py): one JupyterLab server and one Chromium per worker."""
from __future__ import annotations

import pytest
from browser import NOTEBOOK_DIR, ROOT


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the notebooks (so the UI run never touches a committed file)."""
    from browser.lab import LabError, start_lab

    try:
        with start_lab(tmp_path_factory.mktemp("lab"), NOTEBOOK_DIR, ROOT / "data") as server:
            yield server
    except LabError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def chromium():
    from browser.chromium import launch_chromium

    try:
        with launch_chromium() as browser:
            yield browser
    except FileNotFoundError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def browser_context(chromium):
    """One browser context per worker: each notebook opens in a new page of it (a fresh JupyterLab app), and the
    HTTP cache it shares spares reloading JupyterLab's scripts for every notebook."""
    from browser.chromium import LOCALE
    from browser.student import VIEWPORT

    context = chromium.new_context(viewport=VIEWPORT, locale=LOCALE)
    yield context
    context.close()


@pytest.fixture(scope="session")
def chinese_fonts() -> set[str]:
    from browser.chromium import chinese_font_families

    return chinese_font_families()


@pytest.fixture(scope="session")
def lab_page(lab, browser_context):
    """One page per worker with JupyterLab loaded: the notebooks opened as committed open and close in it."""
    from browser.student import shared_lab_page

    page = shared_lab_page(browser_context, lab)
    yield page
    page.close()
