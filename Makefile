# The two commands: `make demo` (the evidence scoreboard, then the bundled policy comparison with
# 3 replicates; about 100 s on 2 idle cores) and
# `make test` (the whole suite, on PYTEST_WORKERS processes). `make study` is the comparison with
# 20 replicates (under the bundled posterior, replicate r at its draw r, once POSTERIOR exists);
# `make notebooks` executes the notebooks into docs/notebooks (rendered copies).
# All create .venv when it is missing or older than pyproject.toml.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,distributed
PYTEST_WORKERS ?= logical
# The posterior `make study` integrates over (sim calibrate), once one is bundled.
POSTERIOR ?= posteriors/bundled
# The evidence scoreboard at its defaults (sim evidence: 40 replicates x 20,000 units, about two
# CPU minutes), rewritten by `make demo` and `make study` so their reports state the fit first.
EVIDENCE ?= results/evidence_default

.PHONY: demo study prior-study test lint notebooks bench system-deps clean-venv

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
	$(BIN)/sim evidence --out $(EVIDENCE) --force
	$(BIN)/python -m sim.experiments.demo --out results/demo --force --evidence $(EVIDENCE)

study: $(BIN)/sim system-deps
	$(BIN)/sim evidence --out $(EVIDENCE) --force
	$(BIN)/python -m sim.experiments.demo --replicates 20 --out results/study --force \
		--evidence $(EVIDENCE) $(if $(wildcard $(POSTERIOR)/posterior.parquet),--posterior $(POSTERIOR))

test: $(BIN)/sim system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

# The comparison over the priors (docs/VALIDATION.md section 9): 200 paired draws of every
# uncertain parameter, coordinated against homogenised, about 1,400 CPU s.
prior-study: $(BIN)/sim system-deps
	$(BIN)/sim prior-sample --draws 1000 --seed 1 --out results/priors
	$(BIN)/sim batch scenarios/homogenised.yaml scenarios/coordinated.yaml --replicates 200 \
		--posterior results/priors --quiet --out results/prior_study
	$(BIN)/sim compare results/prior_study --baseline homogenised --out results/prior_study/report

notebooks: $(BIN)/sim
	$(BIN)/python notebooks/execute.py --out docs/notebooks

# ruff (style, imports, bugbear) and the layering contracts of docs/ARCHITECTURE.md.
lint: $(BIN)/sim
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(BIN)/sim
	$(BIN)/python benchmarks/run.py

clean-venv:
	rm -rf $(VENV)
