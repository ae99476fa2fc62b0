"""A notebook presented as slides (jupyterlab-rise, the way an instructor shows it in class): the slideshow opens from
the JupyterLab server, draws the first slide with its formulas typeset, and advances with the arrow key."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from browser import SCREENSHOTS

pytestmark = pytest.mark.browser
NOTEBOOK = "24_07_vision_transformer.ipynb"  # formulas on its first slides, a slide per section
PRESENT = ("() => { const s = document.querySelector('.reveal .slides > section.present');"
           " return s ? [...s.parentNode.children].indexOf(s) : -1; }")


@pytest.mark.timeout(240)
def test_notebook_opens_as_slides_and_advances(lab, browser_context):
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab.url}/rise/{quote(NOTEBOOK)}", wait_until="domcontentloaded")
        page.wait_for_selector(".reveal .slides > section", timeout=120_000)
        page.wait_for_function(f"() => ({PRESENT})() >= 0", timeout=30_000)
        slides = page.locator(".reveal .slides > section").count()
        assert slides >= 5, f"{NOTEBOOK} shows {slides} slides; its ## headings should each start one"
        assert page.evaluate(PRESENT) == 0
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => ({PRESENT})() === 1", timeout=10_000)
        present = page.locator(".reveal .slides > section.present")
        present.locator("mjx-container").first.wait_for(timeout=30_000)  # the slide's formula, typeset
        assert present.inner_text().strip(), "the second slide is empty"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "slides_24_07_second_slide.png"))
        assert not errors, errors
    finally:
        page.close()
