# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONF   ?= etc/cinder-lab/cinder-lab.conf

.PHONY: demo test lint format bench services clean

$(BIN)/cinder-lab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

## make demo: the whole story in one process, no broker, SQLite in a temp dir
demo: $(BIN)/cinder-lab
	$(BIN)/cinder-lab-demo

## make test: lint, unit tests and the real-RabbitMQ integration tests
test: $(BIN)/cinder-lab
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(BIN)/cinder-lab
	$(BIN)/ruff check src tests $(wildcard benchmarks)

format: $(BIN)/cinder-lab
	$(BIN)/ruff format src tests $(wildcard benchmarks)
	$(BIN)/ruff check --fix src tests $(wildcard benchmarks)

## make bench: benchmarks against the local RabbitMQ (figures go in the README)
bench: $(BIN)/cinder-lab
	$(BIN)/python benchmarks/bench_backup.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
