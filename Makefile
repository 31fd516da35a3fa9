# The two commands of the README:
#   make run    create .venv, install newsdesk, run the main job on the embedded default with the sample feeds
#   make test   create .venv, install newsdesk with its test tools (and the optional French model, so its
#               quality is tested too), run lint and the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embedded]'

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,fr]'

run: install
	$(BIN)/newsdesk up --samples

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy newsdesk connectors streams

test: install-dev lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
