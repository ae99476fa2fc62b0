# Lecture 24 · Multi-Modal Learning — the two commands are `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JOBS   ?= 2
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: setup lab test test-unit test-notebooks test-browser test-browser-all browser-deps java-deps system-deps execute reproduce bench html clean

# uv installs what pip would (the sources pip is configured with: scripts/pip_sources.py; the best version over
# every index, as pip picks) and unpacks the wheels in parallel: about 1 minute where pip took 2-3.5 (torch's CUDA
# build alone is 5.5 GB). compileall then byte-compiles on every core (left to the tests, their workers and kernels
# compiled the same modules side by side: 2 minutes slower).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip install -q --python $(BIN)/python --index-strategy unsafe-best-match \
		$$($(BIN)/python scripts/pip_sources.py) -e '.[dev]'
	$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])") >/dev/null || true
	@touch $(STAMP)

setup: $(STAMP)

# Trusted notebooks draw their stored widgets from the saved state (untrusted ones show them as text).
lab: setup
	$(BIN)/jupyter trust notebooks/*.ipynb >/dev/null
	cd notebooks && ../$(BIN)/jupyter lab $(ROOT_FLAG)

# The venv and Debian's packages side by side (one downloads from PyPI, the other from Debian), then the unit tests
# and reference checks, every notebook under nbval in fast mode, and the browser tests, one after the other (run
# side by side, nbval and the browser tests took longer: the 2 cores were already busy).
test:
	@$(MAKE) --no-print-directory -j2 setup system-deps
	@$(MAKE) --no-print-directory test-unit test-notebooks test-browser

test-unit: setup java-deps
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -m "not browser" -n $(JOBS) --dist loadscope -q

test-notebooks: setup
	COURSE_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=300 -n $(JOBS) --dist loadscope -q -p no:cacheprovider

# What the tests need from Debian, in one apt transaction: Java (java-deps) and Chromium with a CJK font
# (browser-deps), whichever is missing.
system-deps:
	@missing=""; command -v java >/dev/null || missing=" $(JAVA_PKGS)"; \
	{ test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q . ; } || missing="$$missing $(BROWSER_PKGS)"; \
	[ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && echo "installing Debian's$$missing ..." && mkdir -p /usr/share/man/man1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$$missing >/dev/null; } || { echo "missing: run 'sudo apt-get install -y --no-install-recommends$$missing'"; exit 1; }

# Java for the METEOR reference: pycocoevalcap runs Meteor 1.5, a jar (Debian's headless Java runtime; slim images
# lack /usr/share/man/man1, which the runtime's install script writes to).
JAVA_PKGS := default-jre-headless
java-deps:
	@command -v java >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && echo "installing Debian's $(JAVA_PKGS) ..." && mkdir -p /usr/share/man/man1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$(JAVA_PKGS) >/dev/null; } || \
		{ echo "missing: run 'sudo apt-get install -y --no-install-recommends $(JAVA_PKGS)'"; exit 1; }

# Debian's Chromium for the browser tests (Playwright never downloads a browser), and a CJK font so that the Chinese
# of the notebooks renders in the screenshots (without one every character is an empty box).
BROWSER_PKGS := chromium fonts-noto-cjk
browser-deps: setup
	@{ test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q . ; } || \
		{ [ "$$(id -u)" = 0 ] && echo "installing Debian's $(BROWSER_PKGS) ..." && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$(BROWSER_PKGS) >/dev/null; } || \
		{ echo "missing: run 'sudo apt-get install -y --no-install-recommends $(BROWSER_PKGS)'"; exit 1; }

# JupyterLab's UI in Chromium, two workers (one server and browser each): every notebook opened as committed, the
# notebooks of tests/test_browser.py's LIVE run cell by cell (test-browser-all: every notebook run, ~9 minutes).
test-browser: setup browser-deps
	COURSE_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests/test_browser.py tests/test_slides.py tests/test_site.py -m browser -n $(JOBS) --dist load \
		-q -p no:cacheprovider --durations=0 --durations-min=2; s=$$?; \
		echo "browser screenshots: data/bench/screenshots/"; exit $$s

test-browser-all: setup browser-deps
	BROWSER_LIVE=all $(MAKE) --no-print-directory test-browser

# Re-execute notebooks in place in full mode, storing outputs and widget state (NB=path to pick one).
execute: setup
	$(BIN)/python scripts/execute_notebooks.py $(NB)

# Re-execute notebooks in full mode on a temporary copy and list the headlines that differ from the committed ones.
reproduce: setup
	$(BIN)/python scripts/reproduce.py $(NB)

# Measured table in data/bench/results.md (BENCH_ARGS="--no-full" or "--only 24_04" for a quick run).
bench: setup
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# The course as a static site in site/: every executed notebook as HTML with its widget state, an index in the
# lecture's order and the glossary; MathJax and the widget manager are served from site/static (no CDN).
html: setup
	$(BIN)/python scripts/build_site.py

clean:
	rm -rf $(VENV) .pytest_cache **/__pycache__
