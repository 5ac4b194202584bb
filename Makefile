# The two commands of the README's quick start: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test setup lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"
	touch $(STAMP)

# JupyterLab on 127.0.0.1 only, with a random token (printed in the URL to open).
lab: setup
	cd notebooks && ../$(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.port_retries=50

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax notebooks

bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
