# The two commands: `make demo` (the bundled policy comparison) and `make test` (the whole suite).
# Both create .venv when it is missing or older than pyproject.toml.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,distributed

.PHONY: demo test bench system-deps clean-venv

$(BIN)/sim: pyproject.toml
	@PY=$$(command -v $(PYTHON) || command -v python3); \
	echo "creating $(VENV) with $$PY ($$($$PY --version))"; \
	rm -rf $(VENV) && $$PY -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	@touch $(BIN)/sim

# A CJK font for Chinese figures (--lang zh); Chromium for the explorer's browser test.
system-deps:
	@./.ci/system-deps.sh

demo: $(BIN)/sim system-deps
	$(BIN)/python -m sim.experiments.demo --out results/demo

test: $(BIN)/sim system-deps
	$(BIN)/python -m pytest

bench: $(BIN)/sim
	$(BIN)/python benchmarks/run.py

clean-venv:
	rm -rf $(VENV)
