# The two commands of the README's quick start: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab lab-zh test setup lint bench clean browser-deps test-browser test-long

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"
	touch $(STAMP)

# JupyterLab on 127.0.0.1 only, with a random token (printed in the URL to open); --allow-root
# when run as root (containers), which JupyterLab otherwise refuses. Same as `ganlab lab`.
lab: setup
	$(BIN)/ganlab lab

# The same, opening the Simplified Chinese edition (notebooks/zh/00_start.ipynb).
lab-zh: setup
	$(BIN)/ganlab lab --lang zh

lint: setup
	$(BIN)/ruff check .

# Debian's Chromium and its CJK font (the Chinese lessons) for the browser tests (tests/browser),
# installed when missing and root; no browser is downloaded by Playwright. Without them the browser
# tests skip and say why.
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    ! dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q $(BROWSER_PACKAGES) || \
	    { apt-get update -q && apt-get install -y -q $(BROWSER_PACKAGES); }; \
	fi

# XLA flags that change the rounding as another CPU would (no FMA, 128-bit vectors): the lessons'
# training claims must hold under them too (tests/test_claims.py, tests/README.md).
PERTURBED_XLA := --xla_cpu_max_isa=AVX --xla_cpu_prefer_vector_width=128

# pytest-xdist workers for the unit tests, the claims and nbval: 2 for the 2-core machines the
# kit is written for (make test PYTEST_JOBS=4 on more cores; PYTEST_JOBS=0, one process). A test
# file, or a notebook, stays in one worker (--dist loadscope); the claims go test by test,
# the costliest first (--dist load).
PYTEST_JOBS ?= 2

# Unit tests, the lessons' training claims over 16 seeds with perturbed rounding (each claim's
# spread printed, -rP), then every English lesson top to bottom (nbval; the Chinese twins share
# their code, tests/test_zh_edition.py), then the lessons in a real browser.
test: setup lint browser-deps
	$(BIN)/python -m pytest tests -m "not browser and not long" --ignore=tests/test_claims.py \
	  -n $(PYTEST_JOBS) --dist loadscope
	XLA_FLAGS="$(PERTURBED_XLA)" $(BIN)/python -m pytest tests/test_claims.py -m "not long" \
	  -n $(PYTEST_JOBS) --dist load -raP
	$(BIN)/python -m pytest --nbval-lax notebooks --ignore=notebooks/zh \
	  -n $(PYTEST_JOBS) --dist loadscope
	$(BIN)/python -m pytest -m browser tests/browser

# Only the lessons in JupyterLab in Chromium, and the slider redraw test (screenshots/browser/).
test-browser: setup browser-deps
	$(BIN)/python -m pytest -m browser tests/browser

# The tests too long for make test on a 2-core CPU (minutes on a GPU): the claims of lessons 05
# and 08 over 16 seeds with perturbed rounding (tests/test_claims.py LONG), and the grid preset
# over 16 seeds, 20,000 steps each.
test-long: setup
	XLA_FLAGS="$(PERTURBED_XLA)" $(BIN)/python -m pytest tests/test_claims.py -m long \
	  -n $(PYTEST_JOBS) --dist load -raP
	$(BIN)/python -m pytest tests/test_training.py -m long -n $(PYTEST_JOBS) --dist worksteal -raP

bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
