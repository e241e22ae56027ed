# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONF   ?= etc/cinder-lab/cinder-lab.conf
# Most tests wait on the broker, not the CPU: three workers fit two cores.
TEST_WORKERS ?= 3
# The tests that need nothing but Python: no broker, database, engine or browser.
FAST_TESTS := not broker and not mariadb and not docker and not browser and not serial
# Each pytest run appends its skipped groups here; make test prints them at the end.
SKIPS := $(VENV)/.test-skips

.PHONY: demo test test-fast test-machine screenshots lint format bench services clean up up-debug up-tracing up-cluster down logs compose-config

$(BIN)/cinder-lab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

## make demo: the whole story in one process, no broker, SQLite in a temp dir
demo: $(BIN)/cinder-lab
	$(BIN)/cinder-lab-demo

## make test: lint, then every test this machine can run (under CI=true: all of them,
## after provisioning the machine); ends with one line per skipped group
test: $(BIN)/cinder-lab
ifeq ($(CI),true)
	bash tools/test-machine.sh
endif
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	@rm -f $(SKIPS)
	CINDER_LAB_SKIPS=$(SKIPS) $(BIN)/pytest -q -n $(TEST_WORKERS) -m "not serial" $(PYTEST_ARGS)
	CINDER_LAB_SKIPS=$(SKIPS) $(BIN)/pytest -q -m serial $(PYTEST_ARGS)
	@bash tools/test-skips.sh $(SKIPS)

## make test-fast: lint and the tests that need only Python (the edit-test loop)
test-fast: $(BIN)/cinder-lab
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "$(FAST_TESTS)" $(PYTEST_ARGS)
	@echo "left out: the tests that need RabbitMQ, MariaDB, Docker or Chromium (make test runs them)"

## make test-machine: install and start what make test needs (root; Debian): RabbitMQ with
## its management API, MariaDB, docker-compose, Chromium, a Docker engine (left running)
test-machine:
	bash tools/test-machine.sh

## make screenshots: take the pictures in docs/img again, each by the browser test that
## sets its page up (tests/web/screenshots.py lists them); SHOTS=web-sequence for some only
screenshots: $(BIN)/cinder-lab
	$(BIN)/python -m tests.web.screenshots $(SHOTS)

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

## make bench-backup: only the backup benchmark (both releases, SQLite and MariaDB; a few minutes)
.PHONY: bench-backup
bench-backup: $(BIN)/cinder-lab
	$(BIN)/python benchmarks/bench_backup.py

# matplotlib, for the start-up plot
$(VENV)/.bench-deps: $(BIN)/cinder-lab
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

## The compose lab (docker-compose.yml, docs/compose.md): `docker compose` (v2) where
## the plugin is installed, else Debian's docker-compose (v1.29).
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
COMPOSE_DEBUG := -f docker-compose.yml -f docker-compose.debug.yml
# IMAGES=local: the stand-ins `make images-local` builds from Debian's packages
# (no Docker Hub needed) instead of rabbitmq:3-management, mariadb:10.11, python:3.11-slim.
IMAGES ?= official
ifeq ($(IMAGES),local)
COMPOSE_UP := $(COMPOSE) --env-file tools/images/local.env
UP_NEEDS := images-local
else
COMPOSE_UP := $(COMPOSE)
UP_NEEDS :=
endif

## make images-local: build (or reuse) the local stand-in images, tools/images/
.PHONY: images-local
images-local:
	tools/images/build-local.sh

## make up: build the image, start broker, database and the note's machines
up: $(UP_NEEDS)
	$(COMPOSE_UP) up -d --build

## make up-debug: the same, every service under debugpy (ports 5678-5683)
up-debug: $(UP_NEEDS)
	$(COMPOSE_UP) $(COMPOSE_DEBUG) up -d --build

## make up-tracing: the same, plus jaeger (http://localhost:16686) receiving OTLP traces
up-tracing: $(UP_NEEDS)
	TRACING=true $(COMPOSE_UP) --profile tracing up -d --build

## make up-cluster: the same on three clustered RabbitMQ nodes (QUORUM=true: quorum queues)
COMPOSE_CLUSTER := -f docker-compose.yml -f docker-compose.cluster.yml
up-cluster: $(UP_NEEDS)
	QUORUM=$(or $(QUORUM),false) $(COMPOSE_UP) $(COMPOSE_CLUSTER) up -d --build

## make down: stop and remove every container, network and volume (the cluster's too)
down:
	$(COMPOSE_UP) $(COMPOSE_CLUSTER) --profile tracing down --volumes --remove-orphans

logs:
	$(COMPOSE) logs --follow --tail=100

## make compose-config: validate the compose files offline, no engine needed
compose-config:
	$(COMPOSE) config -q
	$(COMPOSE) $(COMPOSE_DEBUG) config -q
	$(COMPOSE) --profile tracing config -q
	$(COMPOSE) $(COMPOSE_CLUSTER) config -q

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
