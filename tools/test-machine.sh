#!/usr/bin/env bash
# What `make test` needs on this machine, brought up by the project itself:
# RabbitMQ with its management API, MariaDB, Debian's docker-compose and Chromium.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")"
bash ./test-services.sh
bash ./test-compose-tools.sh
bash ./test-browser.sh
# A Docker engine for tests/integration/test_docker_lab.py (which fails without one
# under CI=true, and skips elsewhere); the other tests do not need it.
bash ./test-docker-engine.sh || echo "no Docker engine: the docker tests will fail or skip" >&2
