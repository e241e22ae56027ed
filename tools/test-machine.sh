#!/usr/bin/env bash
# `make test-machine` (and `make test` under CI=true): install and start what the tests
# use on a Debian machine: RabbitMQ with its management API, MariaDB, Debian's
# docker-compose and Chromium, a Docker engine (its dockerd is left running).
# Idempotent and quick when everything is already there. Needs root.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "make test-machine installs packages and starts services: run it as root (sudo)" >&2
    exit 1
fi
cd "$(dirname "$0")"
bash ./test-services.sh
bash ./test-compose-tools.sh
bash ./test-browser.sh
# A Docker engine for tests/integration/test_docker_lab.py (which fails without one
# under CI=true, and skips elsewhere); the other tests do not need it.
bash ./test-docker-engine.sh || echo "no Docker engine: the docker tests will fail or skip" >&2
