# spinecoach — `make demo` and `make test` bootstrap everything they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The camera extra (mediapipe 0.10.21) needs numpy<2, so it lives in its own venv; the
# core venv keeps numpy 2. The real-MediaPipe tests and bench/camera.py run there.
CAMERA_VENV := .venv-camera
CAMERA_PY := $(CAMERA_VENV)/bin/python
CAMERA_STAMP := $(CAMERA_VENV)/.installed
DEMO_DIR ?= demo-output

.PHONY: demo test lint typecheck unit camera-venv camera-test bench clean

# setup.py builds the compiled Fusion loop (spinecoach.motion._cfusion): a change to it or
# to its C sources reinstalls, which recompiles it.
CFUSION_SOURCES := setup.py src/spinecoach/motion/_cfusion.c $(wildcard src/spinecoach/motion/_fusion_c/*.[ch])
$(STAMP): pyproject.toml $(CFUSION_SOURCES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@bash scripts/ensure-compiler.sh
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# scikit-image ships the photographs tests/camera_real and bench/camera.py use.
$(CAMERA_STAMP): pyproject.toml
	@test -x $(CAMERA_PY) || $(PYTHON) -m venv $(CAMERA_VENV)
	$(CAMERA_PY) -m pip install --quiet --upgrade pip
	$(CAMERA_PY) -m pip install --quiet -e '.[camera,dev]' 'scikit-image>=0.24,<1'
	@touch $(CAMERA_STAMP)

camera-venv: $(CAMERA_STAMP)

# The live coach on the built-in simulated sensor (prints the address; Ctrl+C stops it),
# in single-person mode: no password, loopback only (a server with sign-in: see README).
# The offline demo (simulate, estimate angles, write a plot) stays: spinecoach demo.
demo: $(STAMP)
	$(VENV)/bin/spinecoach serve --source sim --auth single-person

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Two workers (pytest-xdist), one test file per worker at a time (--dist loadfile keeps a
# module's fixtures and the order of its tests together): most of the suite waits on
# real-time sessions, browsers and servers, so two workers halve the wall time on two cores.
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	bash scripts/ensure-system-packages.sh
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile --cov --cov-report=term:skip-covered --durations=30

# The real MediaPipe pose model on photographs shipped in installed packages, and the
# camera tests with the stand-in model again on numpy<2. SPINECOACH_REQUIRE_CAMERA=1 makes
# tests/camera_real fail (never skip) when mediapipe cannot be imported.
camera-test: $(CAMERA_STAMP)
	SPINECOACH_REQUIRE_CAMERA=1 $(CAMERA_VENV)/bin/pytest tests/camera_real tests/camera

# unit runs scripts/ensure-system-packages.sh (PostgreSQL, Chromium) before pytest.
test: lint typecheck unit camera-test

bench: $(STAMP) $(CAMERA_STAMP)
	$(PY) bench/accuracy.py
	$(PY) bench/throughput.py
	$(PY) bench/streaming.py
	$(PY) bench/exercises.py
	$(PY) bench/latency.py
	$(PY) bench/posture.py
	$(PY) bench/realworld.py
	$(CAMERA_PY) bench/camera.py

clean:
	rm -rf $(VENV) $(CAMERA_VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
