# Every target that needs Python creates and uses its own virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint,docs,dask,rich,otel,rq,schedule]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q

# Files being reworked that may still go over the size budgets (also exempted from ruff's
# complexity rules in pyproject.toml); remove each once it fits.

lint: $(STAMP)
	$(VENV)/bin/ruff check tasktronaut tests examples benchmarks
	$(VENV)/bin/mypy tasktronaut
	$(VENV)/bin/lint-imports
	$(PY) tools/check_budgets.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# The peer engines the benchmarks compare with, in the same venv (not dependencies).
BENCH_STAMP := $(VENV)/.bench-installed
# `make bench QUICK=1`: a smoke run with smaller sizes and fewer rounds (about a minute).
BENCH_FLAGS := $(if $(QUICK),--quick,)

$(BENCH_STAMP): $(STAMP) benchmarks/requirements.txt
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench_engine.py $(BENCH_FLAGS)
	$(PY) benchmarks/bench_workers.py $(BENCH_FLAGS)
	$(PY) benchmarks/bench_state.py $(BENCH_FLAGS)
	$(PY) benchmarks/bench_observers.py
	$(PY) benchmarks/bench_capabilities.py $(BENCH_FLAGS)
	$(PY) benchmarks/bench_background.py
	$(PY) benchmarks/bench_peers.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) site build *.egg-info .mypy_cache .ruff_cache .pytest_cache
