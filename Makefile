# make demo | make test | make bench: each bootstraps .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test bench lint format clean

# Re-install only when the project's metadata changed since the last install.
$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,claude-code]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/tamma demo

test: lint $(INSTALLED)
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(INSTALLED)
	$(BIN)/python benchmarks/event_store.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/cli_startup.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/providers.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/orchestration.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/replay.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/agents.py --markdown docs/BENCHMARKS.md

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
