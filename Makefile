# One command per habit. Set-up needs only python3: a private uv bootstraps the locked venv.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
IMNM := $(VENV)/bin/imnm
# The committed demo model (synthetic training data; not clinically valid). Reproduce it with
# `imnm model train --demo-archive --ecgs 3000 --epochs 10 --seed 7` (see
# docs/model-training.md and models/demo_artifact/README.md).
DEMO_MODEL_DIR := $(firstword $(wildcard models/demo_artifact/*/))

export UV_PYTHON_DOWNLOADS := never
export IMNM_DATA_DIR ?= $(CURDIR)/data
# Demo only: real deployments set their own secret key outside the repository.
export IMNM_PSEUDONYM_KEY ?= demo-pseudonym-key-not-secret

.PHONY: setup run test test-fast lint bench clean-data

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

run: setup
	$(IMNM) demo-data
	$(IMNM) model import $(DEMO_MODEL_DIR)model.keras --card $(DEMO_MODEL_DIR)card.json --if-missing
	$(IMNM) refresh
	$(IMNM) dq --recall

# Two pytest-xdist workers, each test module on one worker (its module fixtures built once);
# each worker holds up to about 5 GB. TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2
test: setup
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The unit tests only: no Prefect server, demo network, R, Chromium or TensorFlow; one worker
# per core (pytest-xdist).
test-fast: setup
	$(VENV)/bin/python -m pytest -q -n auto -m "not integration and not slow"

lint: setup
	$(VENV)/bin/ruff check .

# Ingestion benchmark, platform against a plain pandas + DuckDB loop (docs/performance.md).
BENCH_N ?= 2500
bench: setup
	$(VENV)/bin/python -m benchmarks.ingest_ecgs --n $(BENCH_N) --formats all --out benchmarks/results

clean-data:
	rm -rf $(IMNM_DATA_DIR)

# Scoring benchmark: platform against a per-ECG loop, a pandas batch loop and Dask, peak memory at
# two sizes, fraction of the CPU's arithmetic limit (docs/performance.md, "AI-ECG scoring").
SCORE_BENCH_N ?= 10000
SCORE_BENCH_ALSO_N ?= 100000
.PHONY: bench-score
bench-score: setup
	$(VENV)/bin/python -m benchmarks.score_ecgs --n $(SCORE_BENCH_N) --also-n $(SCORE_BENCH_ALSO_N) --out benchmarks/results
