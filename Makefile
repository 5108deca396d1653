# Every target creates .venv itself, so `make example` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Lint whatever of these exists (bench/ may be absent in a partial checkout).
LINT_PATHS := $(wildcard recipe_executor tests bench)

.PHONY: venv example test lint typecheck bench clean

$(BIN)/recipe-executor: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "recipe-executor needs Python >= 3.11; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[llm,progress,dev]"
	touch $@

venv: $(BIN)/recipe-executor

example: venv
	$(BIN)/recipe-executor examples/parallel/main.json --context shared_input="hello parallel world" output_root=output/parallel
	@echo
	@echo "Outputs written to output/parallel/ (logs in logs/):"
	@for f in output/parallel/*; do echo "--- $$f"; cat "$$f"; done

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)

typecheck: venv
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) output logs .pytest_cache .mypy_cache .ruff_cache
