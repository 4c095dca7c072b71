# spinecoach — `make demo` and `make test` bootstrap everything they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The live coach on the built-in simulated sensor (prints the address; Ctrl+C stops it).
# The offline demo (simulate, estimate angles, write a plot) stays: spinecoach demo.
demo: $(STAMP)
	$(VENV)/bin/spinecoach serve --source sim

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	bash scripts/ensure-system-packages.sh
	$(VENV)/bin/pytest --cov --cov-report=term:skip-covered

# unit runs scripts/ensure-system-packages.sh (PostgreSQL, Chromium) before pytest.
test: lint typecheck unit

bench: $(STAMP)
	$(PY) bench/accuracy.py
	$(PY) bench/throughput.py
	$(PY) bench/streaming.py
	$(PY) bench/exercises.py
	$(PY) bench/latency.py
	$(PY) bench/posture.py
	$(PY) bench/camera.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
