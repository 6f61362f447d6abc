# make demo | make test | make bench: each bootstraps .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Test processes (pytest-xdist): `make test TEST_WORKERS=2` takes 17 min instead of 22 on two
# cores, but one platform test failed once that way, not yet explained; 0 runs them in one process.
TEST_WORKERS ?= 0
INSTALLED := $(VENV)/.installed
DEMO_INSTALLED := $(VENV)/.installed-demo

.PHONY: demo test bench lint format clean sandbox

# Repository code runs in a bubblewrap sandbox: install it where this machine lets us (root with
# apt), else say how. apt-get update only when the package lists are too old to find it.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's bubblewrap package (the sandbox for repository code)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null; }; \
	  else \
	    echo "make: the sandbox needs bubblewrap: install it (apt-get install bubblewrap, dnf install bubblewrap)"; exit 1; \
	  fi; }

# Re-install only when the project's metadata changed since the last install. The demo needs
# Tamma alone (pytest and ruff, its project's tools, are among its dependencies): not the dev
# tools, not the Claude Code backend.
$(DEMO_INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_INSTALLED)

$(INSTALLED): $(DEMO_INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[dev,claude-code]'
	touch $(INSTALLED)

demo: $(DEMO_INSTALLED) sandbox
	$(BIN)/tamma demo

test: lint $(INSTALLED) sandbox
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(INSTALLED) sandbox
	$(BIN)/python benchmarks/event_store.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/cli_startup.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/providers.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/orchestration.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/replay.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/agents.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/sandbox.py --markdown docs/BENCHMARKS.md
	$(BIN)/python benchmarks/multi_host.py

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
