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

# Debian's packages the tests need. Each set has a check; apt_install installs what is missing in one apt transaction
# as root (slim images lack /usr/share/man/man1, which the Java runtime's install script writes to), or says what to
# run and fails.
define apt_install
[ "$$(id -u)" = 0 ] && echo "installing Debian's $(1) ..." && mkdir -p /usr/share/man/man1 && \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null \
	|| { echo "missing: run 'sudo apt-get install -y --no-install-recommends $(1)'"; exit 1; }
endef

# Java for the METEOR reference: pycocoevalcap runs Meteor 1.5, a jar (Debian's headless Java runtime).
JAVA_PKGS := default-jre-headless
HAVE_JAVA := command -v java >/dev/null
# Debian's Chromium for the browser tests (Playwright never downloads a browser), and a CJK font so that the Chinese
# of the notebooks renders in the screenshots (without one every character is an empty box).
BROWSER_PKGS := chromium fonts-noto-cjk
HAVE_BROWSER := { test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q . ; }

java-deps:
	@$(HAVE_JAVA) || { $(call apt_install,$(JAVA_PKGS)); }

browser-deps: setup
	@$(HAVE_BROWSER) || { $(call apt_install,$(BROWSER_PKGS)); }

# Both sets at once, whichever is missing (make test runs it beside the venv's install).
system-deps:
	@missing=""; $(HAVE_JAVA) || missing="$(JAVA_PKGS)"; $(HAVE_BROWSER) || missing="$$missing $(BROWSER_PKGS)"; \
	[ -z "$$missing" ] || { $(call apt_install,$$missing); }

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
