"""The static site (``make html``): pages read from ``file://`` with the network blocked, formulas typeset by the
MathJax served from the site, and the widgets' stored views drawn by the widget manager served from the site."""
from __future__ import annotations

import sys

import pytest
from browser import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import build_site  # noqa: E402

pytestmark = pytest.mark.browser
PAGES = ("24_04_clip", "24_07_vision_transformer", "hw4_mllm_survey")  # formulas, widgets; a page in homework/


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_site.build(out, only=PAGES)
    return out


@pytest.fixture()
def offline_page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    requests = []

    def route(r):
        requests.append(r.request.url)
        return r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.requests = requests
    yield page
    context.close()


def test_index_lists_every_section_in_the_lectures_order(site, offline_page):
    offline_page.goto((site / "index.html").as_uri())
    links = offline_page.locator("table a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links == [build_site.page_name(r) for r in build_site.sections()]
    assert links[0].startswith("24_01") and "glossary.html" in offline_page.content()
    offline_page.goto((site / "glossary.html").as_uri())
    assert offline_page.locator("table tr").count() > 50


@pytest.mark.parametrize("name", PAGES)
def test_page_typesets_formulas_and_draws_stored_widgets_offline(site, offline_page, name):
    row = next(r for r in build_site.sections() if r["notebook"].stem == name)
    offline_page.goto((site / build_site.page_name(row)).as_uri())
    offline_page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                                   "&& document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                                   timeout=60_000)
    offline_page.wait_for_selector(".widget-slider, .widget-dropdown", timeout=60_000)
    outside = [u for u in offline_page.requests if not u.startswith(("file:", "data:"))]
    assert not outside, f"the page asked the network for {outside[:3]}"
    assert not offline_page.errors, offline_page.errors
    assert offline_page.locator(".MathJax_Error, .merror").count() == 0
    offline_page.locator(".widget-slider, .widget-dropdown").first.scroll_into_view_if_needed()
    offline_page.screenshot(path=str(ROOT / "data" / "bench" / "screenshots" / f"site_{name}.png"))
