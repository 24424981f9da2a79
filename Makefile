PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: install test test-all demo lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev]"
	# Resemblyzer pins the unbuildable 'webrtcvad'; its wheel twin provides the same module.
	$(PIP) webrtcvad-wheels
	$(PIP) --no-deps resemblyzer
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

demo: $(STAMP)
	$(BIN)/neurodecode run recipes/demo.yaml --out runs/demo --overwrite

lint: $(STAMP)
	$(BIN)/ruff check neurodecode tests benchmarks examples tools
	$(BIN)/mypy
	$(BIN)/python -m tools.docstrings

clean:
	rm -rf $(VENV) runs .pytest_cache
