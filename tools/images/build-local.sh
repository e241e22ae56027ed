#!/usr/bin/env bash
# make images-local: local equivalents of the images docker-compose.yml pulls, for a
# machine that cannot reach Docker Hub. Built from Debian's packages:
#   cinder-lab-local/base      debootstrap + docker import (base.sh)
#   cinder-lab-local/python    python:3.11-slim's stand-in (the lab image's FROM)
#   cinder-lab-local/rabbitmq  rabbitmq:3-management's stand-in
#   cinder-lab-local/mariadb   mariadb:10.11's stand-in
# Each is tagged with a hash of its inputs (and its parent's image id) and built only
# when that tag is missing, then also tagged ":local", the name compose is given
# (tools/images/local.env). A second run with nothing changed takes a second.
set -euo pipefail
cd "$(dirname "$0")"

prefix=${LOCAL_IMAGE_PREFIX:-cinder-lab-local}
export DOCKER_BUILDKIT=0 # the classic builder: Debian's dockerd 20.10 ships no buildx

have() { docker image inspect "$1" >/dev/null 2>&1; }
digest() { sha256sum | cut -c1-12; }
# Untag the older builds of REPO (not TAG, not :local); docker keeps layers still in use.
forget() {
    docker image ls "$1" --format "{{.Tag}}" | { grep -v -x -e "$2" -e local || true; } |
        while read -r old; do docker rmi "$1:$old" >/dev/null 2>&1 || true; done
}

# The base: this script's recipe, the suite and mirror, and the CA bundle it trusts.
base_hash=$(cat base.sh "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" |
    { cat; echo "${DEBIAN_SUITE:-} ${DEBIAN_MIRROR:-} ${DEBIAN_SECURITY_MIRROR:-}"; } | digest)
base="$prefix/base:$base_hash"
if ! have "$base"; then
    ./base.sh "$base"
fi
docker tag "$base" "$prefix/base:local"
forget "$prefix/base" "$base_hash"
base_id=$(docker image inspect --format '{{.Id}}' "$base")

for name in python rabbitmq mariadb; do
    hash=$( { echo "$base_id"; find "$name" -type f | sort | xargs cat; } | digest)
    image="$prefix/$name:$hash"
    if ! have "$image"; then
        echo "$name: building $image"
        # Quiet unless it fails (the classic builder's deprecation notice is noise here).
        if ! out=$(docker build --force-rm --build-arg "BASE_IMAGE=$base" -t "$image" "$name" 2>&1); then
            echo "$out" | tail -n 20 >&2
            exit 1
        fi
    fi
    docker tag "$image" "$prefix/$name:local"
    forget "$prefix/$name" "$hash"
    echo "$name: $image"
done
