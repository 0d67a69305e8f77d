# Every target creates .venv and installs what it needs, so each works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Locally `make test PYTEST_ARGS="-m 'not slow'"` skips the long statistical tests; CI runs them all.
PYTEST_ARGS ?=

.PHONY: run test docs coverage test-deps lint bench bench-gpu validation tables clean check-vendored

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

# The planning fluence table, every entry traced until its worst relative SE where the planner reads it is
# <= 2 % (docs/performance.md: ~16-20 CPU hours with the kernel of 2026-12). Resumable: entries finished or
# half-done are kept in $(TABLE_CHECKPOINT); run it again after a stop. In this process by default (each
# entry on up to 16 cores); TABLES_ARGS="--scheduler local --threads 1" runs entries in worker processes,
# or "--scheduler tcp://HOST:8786" on a Dask cluster that sees the checkpoint folder. Prints CPU hours.
TABLE_OUT ?= src/laserdose/planning/data/fluence_table.npz
TABLE_CHECKPOINT ?= build/fluence-table-checkpoints
TABLES_ARGS ?=
tables: $(STAMP)
	mkdir -p build
	$(BIN)/laserdose tables precise --target-se 0.02 --out build/fluence_table.npz \
		--checkpoint $(TABLE_CHECKPOINT) $(TABLES_ARGS)
	$(BIN)/laserdose tables check build/fluence_table.npz --target-se 0.02
	cp build/fluence_table.npz $(TABLE_OUT)

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The vendored front-end files are the published ones: each folder's SHA256SUMS (see its VENDORED.md).
check-vendored:
	cd src/laserdose/web/static && sha256sum --check --quiet SHA256SUMS
	cd tests/browser/vendor && sha256sum --check --quiet SHA256SUMS
