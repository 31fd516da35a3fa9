# The two commands of the README:
#   make run    create .venv, install newsdesk, resolve the embedded Kafka and OpenSearch with Maven (once), run
#               the main job on them with the sample feeds
#   make test   the same set-up with the test tools (and the optional French model, so its quality is tested too),
#               then lint and the whole test suite (the integration tests start real Kafka and OpenSearch JVMs)
# Both need Java 17+ and Maven 3.8+ on PATH (`apt-get install openjdk-17-jre-headless maven`).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev engines en-md clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,fr]'

# Optional: English NER with en_core_web_md (README 'Models': +0.03-0.04 F1 on real text, ~9% slower, +240 MiB per
# annotation process), then NEWSDESK_NLP_MODELS='{"en": "en_core_web_md", ...}'.
en-md: install
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python --require-hashes -r deploy/en-core-web-md.txt

engines: install
	$(BIN)/newsdesk fetch-engines

run: install
	$(BIN)/newsdesk fetch-engines
	$(BIN)/newsdesk up --samples

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy newsdesk connectors streams

test: install-dev lint
	$(BIN)/newsdesk fetch-engines
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
