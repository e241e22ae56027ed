# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONF   ?= etc/cinder-lab/cinder-lab.conf
# Most tests wait on the broker, not the CPU: three workers fit two cores.
TEST_WORKERS ?= 3

.PHONY: demo test lint format bench services clean up up-debug up-tracing down logs compose-config

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
	bash tools/test-machine.sh
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not serial" $(PYTEST_ARGS)
	$(BIN)/pytest -q -m serial $(PYTEST_ARGS)

lint: $(BIN)/cinder-lab
	$(BIN)/ruff check src tests $(wildcard benchmarks)

format: $(BIN)/cinder-lab
	$(BIN)/ruff format src tests $(wildcard benchmarks)
	$(BIN)/ruff check --fix src tests $(wildcard benchmarks)

## make bench: benchmarks against the local RabbitMQ (figures in benchmarks/results/);
## make bench BENCH_BEFORE=<git ref> also runs that revision's src/ for before/after figures
BENCH_BEFORE_ARG = $(if $(BENCH_BEFORE),--before $(BENCH_BEFORE))
bench: $(VENV)/.bench-deps
	$(BIN)/python benchmarks/bench_client.py $(BENCH_BEFORE_ARG)
	$(BIN)/python benchmarks/bench_backup.py --sqlite-full
	$(BIN)/python benchmarks/bench_casts.py
	$(BIN)/python benchmarks/bench_startup.py $(BENCH_BEFORE_ARG)
	$(BIN)/python benchmarks/bench_demo.py $(BENCH_BEFORE_ARG)
	$(BIN)/python benchmarks/summary.py

## make bench-backup: only issue 2's two ratios (about a minute)
.PHONY: bench-backup
bench-backup: $(BIN)/cinder-lab
	$(BIN)/python benchmarks/bench_backup.py

# matplotlib, for the start-up plot
$(VENV)/.bench-deps: $(BIN)/cinder-lab
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

## The compose lab (docker-compose.yml, docs/compose.md). COMPOSE=docker-compose for v1.
COMPOSE ?= docker compose
COMPOSE_DEBUG := -f docker-compose.yml -f docker-compose.debug.yml

## make up: build the image, start broker, database and the note's machines
up:
	$(COMPOSE) up -d --build

## make up-debug: the same, every service under debugpy (ports 5678-5681)
up-debug:
	$(COMPOSE) $(COMPOSE_DEBUG) up -d --build

## make up-tracing: the same, plus jaeger (http://localhost:16686) receiving OTLP traces
up-tracing:
	TRACING=true $(COMPOSE) --profile tracing up -d --build

## make down: stop and remove every container, network and the database volume
down:
	$(COMPOSE) --profile tracing down --volumes --remove-orphans

logs:
	$(COMPOSE) logs --follow --tail=100

## make compose-config: validate the compose files offline, no engine needed
compose-config:
	$(COMPOSE) config -q
	$(COMPOSE) $(COMPOSE_DEBUG) config -q
	$(COMPOSE) --profile tracing config -q

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
