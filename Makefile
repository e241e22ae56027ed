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
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(BIN)/cinder-lab
	$(BIN)/ruff check src tests benchmarks

format: $(BIN)/cinder-lab
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## make bench: benchmarks against the local RabbitMQ (figures in benchmarks/results/)
bench: $(VENV)/.bench-deps
	$(BIN)/python benchmarks/bench_backup.py
	$(BIN)/python benchmarks/bench_casts.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/summary.py

## make bench-backup: only issue 2's two ratios (about a minute)
.PHONY: bench-backup
bench-backup: $(BIN)/cinder-lab
	$(BIN)/python benchmarks/bench_backup.py

# matplotlib, for the start-up plot
$(VENV)/.bench-deps: $(BIN)/cinder-lab
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
