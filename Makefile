# Two commands set everything up on a fresh machine:
#   make counterfactual   standard scenarios -> console table + results in reports/
#   make test             the test suite (fast cases; `make test-all` adds the slow ones)
#   make bench            speed/memory table at several sizes, then the slow test cases
# Both create/refresh the project virtualenv (.venv) and PyNumero's ASL library, idempotently.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# PyNumero's compiled ASL interface lives inside the venv, not in ~/.pyomo.
export PYOMO_CONFIG_DIR := $(CURDIR)/$(VENV)/pyomo
ASL_LIB := $(PYOMO_CONFIG_DIR)/lib/libpynumero_ASL.so

.PHONY: setup test test-all counterfactual report data bench lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(ASL_LIB): | $(STAMP)
	@PY=$(PY) bash scripts/build_pynumero.sh

setup: $(STAMP) $(ASL_LIB)
	@$(PY) -m cge check-solver

test: setup
	$(PY) -m pytest -q -m "not slow"

test-all: setup
	$(PY) -m pytest -q

# SCENARIOS="a b" (names in scenarios/ or paths) runs a selection; SCENARIOS=all the library.
counterfactual: setup
	$(PY) -m cge counterfactual $(SCENARIOS)

report: setup
	$(PY) -m cge counterfactual $(SCENARIOS)

data: setup
	$(PY) -m cge build-data

# Speed and memory table (reports/bench.txt), then the slow/large test cases.
bench: setup
	$(PY) -m cge.bench
	$(PY) -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check cge tests calibration

clean:
	rm -rf $(VENV) build *.egg-info
