# flowrun: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint bench bench-tiny fmt clean fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	$(PY) -m compileall -q flowrun
	touch $(STAMP)

install: $(STAMP)

## run the example flow on the embedded SQLite state
run: install
	$(VENV)/bin/flowrun run flows/hello.yaml --input name=Ana

lint: install
	$(VENV)/bin/ruff check flowrun tests bench
	$(VENV)/bin/mypy flowrun

## lint, type-check and run the whole test suite (real Postgres, real venvs, local HTTP server) on
## pytest-xdist workers: most tests wait on subprocesses, so more workers than cores pays (TEST_WORKERS=0: one
## process). Tests that share a costly fixture run on one worker (tests/conftest.py, --dist loadgroup). The
## rewritten test modules and flowrun's bytecode are cached even where PYTHONDONTWRITEBYTECODE is set, so
## that no worker and no `flowrun` subprocess compiles them again.
TEST_WORKERS ?= 4
test: lint
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

## run the benchmarks and write docs/BENCHMARKS.md
## (flowrun's bytecode is compiled first: where PYTHONDONTWRITEBYTECODE is set, an edited module would otherwise be
## compiled again by every flowrun process the benchmarks start, and measured)
bench: install
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev,bench]'
	$(PY) -m compileall -q flowrun
	$(PY) -m bench

fmt: install
	$(VENV)/bin/ruff format flowrun tests bench
	$(VENV)/bin/ruff check --fix flowrun tests bench

clean:
	rm -rf $(VENV) .flowrun .pytest_cache .mypy_cache .ruff_cache

## the fuzz suite of tests/fuzz with 10,000 cases per target (make test runs it with a small fixed budget)
FUZZ_EXAMPLES ?= 10000
fuzz: install
	rm -f .fuzz-report.jsonl
	FLOWRUN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FLOWRUN_FUZZ_REPORT=.fuzz-report.jsonl \
	  $(PY) -m pytest -q -p no:cacheprovider --timeout=0 --hypothesis-show-statistics tests/fuzz; \
	  status=$$?; $(PY) tests/fuzz/fuzz_report.py .fuzz-report.jsonl; exit $$status
