# The two commands of the README's quick start: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test setup lint bench clean browser-deps test-browser test-long

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

lint: setup
	$(BIN)/ruff check .

# Debian's Chromium for the browser tests (tests/browser), installed when missing and root; no
# browser is downloaded by Playwright. Without it the browser tests skip and say why.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; \
	fi

# XLA flags that change the rounding as another CPU would (no FMA, 128-bit vectors): the lessons'
# training claims must hold under them too (tests/test_claims.py, tests/README.md).
PERTURBED_XLA := --xla_cpu_max_isa=AVX --xla_cpu_prefer_vector_width=128

# Unit tests, the lessons' training claims over 16 seeds with perturbed rounding, then every
# lesson top to bottom (nbval), then the lessons in a real browser.
test: setup lint browser-deps
	$(BIN)/python -m pytest tests -m "not browser and not long" --ignore=tests/test_claims.py
	XLA_FLAGS="$(PERTURBED_XLA)" $(BIN)/python -m pytest tests/test_claims.py -m "not long"
	$(BIN)/python -m pytest --nbval-lax notebooks
	$(BIN)/python -m pytest -m browser tests/browser

# Only the lessons in JupyterLab in Chromium, and the slider redraw test (screenshots/browser/).
test-browser: setup browser-deps
	$(BIN)/python -m pytest -m browser tests/browser

# The tests too long for a 2-core CPU (an hour or more; minutes on a GPU): the image lessons'
# claims over 16 seeds with perturbed rounding, and the grid preset over 16 seeds.
test-long: setup
	XLA_FLAGS="$(PERTURBED_XLA)" $(BIN)/python -m pytest tests/test_claims.py -m long
	$(BIN)/python -m pytest tests/test_training.py -m long

bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
