#!/usr/bin/env bash
# What `make test` needs on this machine, brought up by the project itself:
# RabbitMQ with its management API, MariaDB, Debian's docker-compose and Chromium.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")"
bash ./test-services.sh
bash ./test-compose-tools.sh
bash ./test-browser.sh
