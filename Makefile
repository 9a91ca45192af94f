# Two commands set everything up on a fresh machine:
#   make counterfactual   standard scenarios -> console table + results in reports/
#   make test             the test suite (fast cases; `make test-all` adds the slow ones)
#   make bench            speed/memory table at several sizes, then the slow test cases
#   make sensitivity      elasticity draws x the sensitivity scenarios on Dask -> bands + PDF
# Both create/refresh the project virtualenv (.venv) and PyNumero's ASL library, idempotently.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# PyNumero's compiled ASL interface: built inside the venv, copied into the package
# (cge/_solver/, not committed) where cge.asl finds it from any Python, no variable needed.
ASL_LIB := cge/_solver/libpynumero_ASL.so

.PHONY: system-packages setup test test-all counterfactual sensitivity data bench lint clean

# System packages, checked at every run (about 10 ms when all are there): apt-get as root, else
# `sudo -n apt-get`, else stop with one line giving the command (scripts/system_packages.sh).
system-packages:
	@bash scripts/system_packages.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(ASL_LIB): | system-packages $(STAMP)
	@PY=$(PY) PYOMO_CONFIG_DIR=$(CURDIR)/$(VENV)/pyomo bash scripts/build_pynumero.sh
	@mkdir -p $(@D) && cp $(VENV)/pyomo/lib/libpynumero_ASL.so $@

setup: system-packages $(STAMP) $(ASL_LIB)
	@$(PY) -m cge check-solver

# Test files are shared among TEST_WORKERS processes (pytest-xdist; a file stays on one process,
# so its module fixtures are built once); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
TEST_PROCS = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: setup
	$(PY) -m pytest -q -m "not slow" $(TEST_PROCS)

test-all: setup
	$(PY) -m pytest -q $(TEST_PROCS)

# The standard scenarios -> reports/counterfactual.{pdf,nc} and reports/results/.
# SCENARIOS="a b" (names in scenarios/ or paths) runs a selection and SCENARIOS=all the library,
# each into reports/runs/<run>/ (never over the standard report).
counterfactual: setup
	$(PY) -m cge counterfactual $(SCENARIOS)

# Systematic sensitivity analysis: SPEC (a file of sensitivity/, default standard: 50 Monte
# Carlo draws of the elasticities) over the sensitivity scenarios (or SCENARIOS="a b"), on a
# local Dask cluster (WORKERS=N; DASK_SCHEDULER=tcp://host:8786 for a running cluster)
# -> reports/sensitivity/<spec>/ (summary.nc, results.nc, index.csv, sensitivity.pdf).
SPEC ?= standard
sensitivity: setup
	$(PY) -m cge sensitivity $(SCENARIOS) --spec $(SPEC) $(if $(WORKERS),--workers $(WORKERS)) $(if $(DASK_SCHEDULER),--scheduler $(DASK_SCHEDULER)) $(if $(RESUME),--resume)

data: setup
	$(PY) -m cge build-data

# Speed and memory table (reports/bench.txt), then the slow/large test cases.
bench: setup
	$(PY) -m cge.bench
	$(PY) -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check cge tests calibration

clean:
	rm -rf $(VENV) build *.egg-info cge/_solver
