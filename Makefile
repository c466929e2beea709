# The two commands of the README: `make demo` (set up + main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint

$(BIN)/signclip: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[video,serve,dev]"
	touch $(BIN)/signclip

demo: $(BIN)/signclip
	$(BIN)/signclip quickstart

test: $(BIN)/signclip
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(BIN)/signclip
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
