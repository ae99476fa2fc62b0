"""Build the course as a static site in ``site/`` (``make html``): readable offline, from ``file://``, without Python.

Every executed notebook becomes one HTML page with its stored outputs and widget state; the widgets' stored views
are drawn by the Jupyter widgets HTML manager, formulas by MathJax, both served from ``site/static/`` (no CDN).
``index.html`` lists the sections in the lecture's order (the README's table), ``glossary.html`` is the glossary.

Usage: python scripts/build_site.py [--out site]
The two JavaScript packages come from the npm registry once (checked against their published sha512) and are kept
in ``.site-assets/``; MathJax 2.7 comes with the Python package ``jupyter-server-mathjax``.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import re
import shutil
import tarfile
import urllib.request
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".site-assets"
# (tarball, sha512 integrity as published by the registry, file inside the package -> path under site/static)
NPM = (
    ("https://registry.npmjs.org/@jupyter-widgets/html-manager/-/html-manager-1.0.15.tgz",
     "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
     "package/dist/", "html-manager/"),
    ("https://registry.npmjs.org/requirejs/-/requirejs-2.3.8.tgz",
     "7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
     "package/require.js", "require.js"),
)
MATHJAX_URL = "static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
# The Python package ships MathJax's STIX-Web fonts, not its TeX fonts (a prime, z', would need them).
MATHJAX_FONTS = ('<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], '
                 'preferredFont: null, webFont: "STIX-Web", imageFont: null}});</script>')
STYLE = """body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;vertical-align:top}
"""
NAV_STYLE = """nav.course{font-family:system-ui,sans-serif;padding:.5rem 1rem;border-bottom:1px solid #ddd;
background:#fafafa}nav.course a{margin-right:1.5rem}"""


def npm_tarball(url: str, integrity: str) -> bytes:
    """The package tarball from the cache, or downloaded and checked against its sha512."""
    path = CACHE / url.rsplit("/", 1)[1]
    data = path.read_bytes() if path.exists() else urllib.request.urlopen(url, timeout=60).read()
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        path.unlink(missing_ok=True)
        raise ValueError(f"{url}: sha512 {digest} does not match the registry's {integrity}")
    CACHE.mkdir(exist_ok=True)
    path.write_bytes(data)
    return data


def copy_assets(static: Path) -> None:
    import jupyter_server_mathjax

    mathjax = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "mathjax").exists():
        shutil.copytree(mathjax, static / "mathjax")
    for url, integrity, inside, target in NPM:
        with tarfile.open(fileobj=io.BytesIO(npm_tarball(url, integrity))) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(inside):
                    out = static / (target + member.name[len(inside):] if inside.endswith("/") else target)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(tar.extractfile(member).read())


def sections() -> list[dict]:
    """The README's notebook table, in the lecture's order: section, title, notebook path, what it teaches (a row
    that links several notebooks, like the homework's, gives one entry per notebook)."""
    rows = []
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        for title, target in re.findall(r"\[([^\]]+)\]\(([^)]+\.ipynb)\)", cells[1]):
            rows.append({"section": cells[0], "title": title, "notebook": ROOT / target, "teaches": cells[2]})
    return rows


def nav(rows: list[dict], i: int | None, prefix: str = "") -> str:
    links = [f'<a href="{prefix}index.html">目录 · Contents</a>',
             f'<a href="{prefix}glossary.html">术语表 · Glossary</a>']
    if i is not None and i > 0:
        links.append(f'<a href="{prefix}{page_name(rows[i - 1])}">← {html.escape(rows[i - 1]["section"])}</a>')
    if i is not None and i + 1 < len(rows):
        links.append(f'<a href="{prefix}{page_name(rows[i + 1])}">{html.escape(rows[i + 1]["section"])} →</a>')
    return '<nav class="course">' + "".join(links) + "</nav>"


def page_name(row: dict) -> str:
    return row["notebook"].relative_to(ROOT / "notebooks").with_suffix(".html").as_posix()


def convert(row: dict, out: Path, navbar: str) -> Path:
    """One executed notebook -> one HTML page with its outputs and stored widget state, assets from static/."""
    prefix = "../" * page_name(row).count("/")
    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = prefix + MATHJAX_URL
    exporter.require_js_url = prefix + "static/require.js"
    exporter.widget_renderer_url = prefix + "static/html-manager/embed-amd.js"
    body, _ = exporter.from_notebook_node(nbformat.read(row["notebook"], as_version=4))
    body = body.replace("<head>", "<head>" + MATHJAX_FONTS, 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m[1] + f"<style>{NAV_STYLE}</style>" + navbar, body, count=1)
    path = out / page_name(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def text_page(title: str, body_html: str, navbar: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}{NAV_STYLE}</style></head><body>{navbar}{body_html}</body></html>")


def index_page(rows: list[dict]) -> str:
    items = "".join(f'<tr><td>{html.escape(r["section"])}</td><td><a href="{page_name(r)}">{html.escape(r["title"])}'
                    f'</a></td><td>{html.escape(r["teaches"])}</td></tr>' for r in rows)
    return ("<h1>第二十四讲 多模态学习 · Lecture 24 · Multi-Modal Learning</h1>"
            "<p>每一节一个 notebook，已在完整模式下运行，公式、图和交互控件的存储视图都可离线阅读。"
            "Every section's notebook, executed in full mode: formulas, figures and the stored views of the widgets "
            "read offline. To run the cells and move the widgets, open the notebooks in JupyterLab "
            "(<code>make lab</code>)."
            f'</p><table><tr><th>section</th><th>notebook</th><th>teaches</th></tr>{items}</table>'
            '<p><a href="glossary.html">术语表 · Glossary</a></p>')


def build(out: Path, only: tuple[str, ...] = ()) -> list[Path]:
    """Write the site to ``out``; ``only`` (notebook stems) converts just those pages (the index lists all)."""
    rows = sections()
    if not rows:
        raise ValueError("found no notebook rows in README.md's table")
    unknown = set(only) - {r["notebook"].stem for r in rows}
    if unknown:
        raise ValueError(f"notebooks {sorted(unknown)} are not in README.md's table")
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out / "static")
    pages = [convert(r, out, nav(rows, i, "../" * page_name(r).count("/"))) for i, r in enumerate(rows)
             if not only or r["notebook"].stem in only]
    (out / "index.html").write_text(text_page("Lecture 24 · Multi-Modal Learning", index_page(rows), nav(rows, None)),
                                    encoding="utf-8")
    glossary = markdown2html_mistune((ROOT / "notebooks" / "glossary.md").read_text(encoding="utf-8"))
    glossary = re.sub(r'<a class="anchor-link"[^>]*>(¶|&#182;)</a>', "", glossary)
    (out / "glossary.html").write_text(text_page("术语表 · Glossary", glossary, nav(rows, None)), encoding="utf-8")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site")
    args = parser.parse_args()
    pages = build(args.out)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"site: {len(pages)} notebooks + index + glossary in {args.out} ({size / 2**20:.1f} MiB); "
          f"open {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
