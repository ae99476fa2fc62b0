"""Debian's Chromium (Playwright never downloads a browser) and the CJK fonts it must draw Chinese with."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]
MISSING = "run `make browser-deps` (Debian packages chromium fonts-noto-cjk)"
# A Chinese student's browser: with this locale fontconfig and Chromium draw Han characters with the font's
# Simplified Chinese forms (Noto Sans CJK SC) rather than the Japanese ones picked for an English locale.
LOCALE = "zh-CN"
LOCALE_ENV = {"LANG": "zh_CN.UTF-8"}


def chinese_font_families() -> set[str]:
    """Font families that fontconfig (which Chromium uses on Linux) says cover Chinese, e.g. 'Noto Sans CJK SC'."""
    if not shutil.which("fc-list"):
        return set()
    listing = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return {name.strip() for line in listing.splitlines() for name in line.split(",") if name.strip()}


@contextlib.contextmanager
def launch_chromium():
    """A headless Chromium, or a clear message saying what to install."""
    if not os.access(CHROMIUM, os.X_OK):
        raise FileNotFoundError(f"{CHROMIUM} is missing: {MISSING}")
    if not chinese_font_families():
        raise FileNotFoundError(f"no font covers Chinese (`fc-list :lang=zh` is empty), every Chinese character "
                                f"would be an empty box: {MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright launches with its own fresh, temporary user-data-dir.
        env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_CTYPE", "LC_MESSAGES")}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                    env=env | LOCALE_ENV)
        try:
            yield browser
        finally:
            browser.close()


def fonts_drawing(page, selector: str) -> dict[str, int]:
    """{font family: glyph count} of the fonts Chromium used to draw the text of the element at ``selector``."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            return {}
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {f["familyName"]: f["glyphCount"] for f in fonts}
    finally:
        cdp.detach()
