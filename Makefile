# Two commands: `make run` (the demo) and `make test` (the whole suite, broker included).
# Both create the virtual environment and fetch the broker's jars when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JARS   := .kafka/lib/.fetched

.PHONY: run test lint bench clean setup

setup: $(STAMP) $(JARS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(JARS): deploy/kafka/pom.xml $(STAMP)
	$(BIN)/python -c "from streams.devtools.local_broker import LocalBroker; LocalBroker().ensure_jars()"
	touch $@

run: setup
	$(BIN)/streams demo

test: setup
	$(BIN)/ruff check src tests bench grafana
	$(BIN)/ruff format --check src tests bench grafana
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf .streams .pytest_cache
