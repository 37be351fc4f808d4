# genomed — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/genomed demo --home demo-node --fresh

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest -m "not slow"

test: lint typecheck unit

bench: install
	$(PY) benchmarks/run_all.py --json bench-results.json

clean:
	rm -rf $(VENV) demo-node bench-results.json .pytest_cache .mypy_cache .ruff_cache
