# Every target creates .venv and installs what it needs, so each works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Locally `make test PYTEST_ARGS="-m 'not slow'"` skips the long statistical tests; CI runs them all.
PYTEST_ARGS ?=

.PHONY: run test docs coverage test-deps lint bench bench-gpu validation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: a demo clinic (migrated, seeded, demo passwords printed), the machine simulator and the web app.
run: $(STAMP)
	bash scripts/run-demo.sh

# Every test, including tests/docs: the README's and the site's console examples run, and the site
# builds with `mkdocs build --strict` (test_docs_site.py).
test: $(STAMP) test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The documentation site (mkdocs-material + mkdocstrings) into site/; any warning fails. Works offline.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The same tests with a line-coverage report (slower; not part of CI's time budget).
coverage: $(STAMP) test-deps
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

# System packages for the clinic tests (PostgreSQL server, Debian chromium); installs only what is missing.
test-deps:
	bash scripts/test-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@# pmcxcl runs MCX over OpenCL on the CPU through PoCL [Fang2009]; install it if missing.
	@dpkg -s pocl-opencl-icd >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq pocl-opencl-icd)
	@# LD_PRELOAD: PoCL needs the system libstdc++ to build MCX's kernel here [Fang2009].
	@for script in benchmarks/*.py; do echo "== $$script"; \
		LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libstdc++.so.6 $(BIN)/python $$script || exit 1; done

# On a machine with an NVIDIA GPU: our CUDA backend against pmcx (MCX, CUDA) on the same GPU (docs/gpu.md).
bench-gpu: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench,cuda]'
	$(BIN)/python benchmarks/transport.py --gpu-only

# docs/validation.md, docs/penetration.md and docs/*.png: our engine and model against every reference (uses `make bench` results if present).
validation: $(STAMP)
	$(BIN)/python docs/validation.py
	$(BIN)/python docs/penetration.py

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache .hypothesis
