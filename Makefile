# genomed — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-deps lint typecheck unit bench bench-deps clean

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

# What the tests need beyond Python: Chromium prints the clinical report to PDF, poppler's pdftotext
# reads it back, bcftools csq is the established annotator ours is compared with. Installed from
# Debian's packages when missing (apt-get update once).
test-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	command -v bcftools >/dev/null || missing="$$missing bcftools"; \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y $$missing; fi

unit: install test-deps
	$(VENV)/bin/pytest -m "not slow"

test: lint typecheck unit

# Tools the benchmarks compare against: Debian's bcftools/tabix, and Hail in a venv of its own
# (it brings Spark; Java is on the machine).
bench-deps:
	@command -v bcftools >/dev/null && command -v tabix >/dev/null || \
	  (apt-get update && apt-get install -y bcftools tabix)
	@test -x .venv-hail/bin/python || ($(PYTHON) -m venv .venv-hail && .venv-hail/bin/pip install --quiet hail)

bench: install bench-deps
	$(VENV)/bin/pytest -m slow
	$(PY) benchmarks/run_all.py --json bench-results.json

clean:
	rm -rf $(VENV) .venv-hail .bench-cache demo-node bench-results.json .pytest_cache .mypy_cache .ruff_cache
