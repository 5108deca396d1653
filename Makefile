# Every target creates .venv itself, so `make test` works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv example test lint typecheck bench clean

$(BIN)/recipe-executor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[llm,progress,dev]"
	touch $@

venv: $(BIN)/recipe-executor

example: venv
	$(BIN)/recipe-executor examples/parallel/main.json --context shared_input="hello parallel world" output_root=output/parallel
	@echo "outputs written to output/parallel/:" && ls output/parallel

test: venv
	$(BIN)/ruff check recipe_executor tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) output logs .pytest_cache .mypy_cache .ruff_cache
