#!/usr/bin/env bash
# A Docker engine for the compose lab's real-engine test (tests/integration/test_docker_lab.py):
# Debian's docker.io (dockerd), docker-compose (v1) and debootstrap (for `make images-local`,
# as Docker Hub may be out of reach), then dockerd started in the background.
# Idempotent and quick once done: it only checks `docker info`.
# Exit 0 with the engine up; non-zero (and one line on stderr) if it cannot be had.
set -uo pipefail

log=${DOCKERD_LOG:-/var/log/cinder-lab-dockerd.log}

if docker info >/dev/null 2>&1 && command -v docker-compose >/dev/null && command -v debootstrap >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "docker-engine: needs root to install and start dockerd" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
missing=""
command -v dockerd >/dev/null || missing="$missing docker.io"
command -v docker-compose >/dev/null || missing="$missing docker-compose"
command -v debootstrap >/dev/null || missing="$missing debootstrap"
if [ -n "$missing" ]; then
    echo "docker-engine: installing$missing"
    # shellcheck disable=SC2086 # one word per package
    # Other jobs on this machine may hold dpkg's lock for a while: wait for it.
    apt="apt-get -o DPkg::Lock::Timeout=600"
    $apt install -y -qq --no-install-recommends $missing >/dev/null 2>&1 || {
        $apt update -qq >/dev/null
        $apt install -y -qq --no-install-recommends $missing >/dev/null
    } || { echo "docker-engine: apt-get install$missing failed" >&2; exit 1; }
    # docker.io with no recommends lacks these two; dockerd needs them on a bare machine.
    for dep in iptables containerd runc; do
        command -v "$dep" >/dev/null || $apt install -y -qq --no-install-recommends "$dep" >/dev/null 2>&1 || true
    done
fi

if ! docker info >/dev/null 2>&1; then
    echo "docker-engine: starting dockerd (log: $log)"
    # Its own session: dockerd must outlive the make or pytest that started it.
    setsid dockerd >>"$log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
fi
if ! docker info >/dev/null 2>&1; then
    echo "docker-engine: dockerd did not start; last lines of $log:" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
exit 0
