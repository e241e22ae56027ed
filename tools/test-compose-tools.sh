#!/usr/bin/env bash
# Debian's docker-compose (v1, python): the tests validate docker-compose.yml with
# `docker-compose config -q` and its compose_spec.json, with no Docker engine.
# Quick when it is installed already; no recommends (they would pull in docker.io).
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing docker-compose"
apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
}
docker-compose version --short
