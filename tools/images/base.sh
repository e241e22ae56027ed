#!/usr/bin/env bash
# The local base image: Debian (bookworm by default) from Debian's own mirror with
# debootstrap, imported with `docker import`, for machines that cannot pull from
# Docker Hub. Usage: base.sh TAG. It trusts the CA bundle given in CA_BUNDLE (this
# machine's by default), so apt and pip inside reach the package servers this
# machine reaches (a TLS-intercepting proxy's CA included); nothing else of the
# machine goes in.
set -euo pipefail

tag=$1
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

root=$(mktemp -d /tmp/cinder-lab-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base: debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 5 "$root.log" >&2
    rm -f "$root.log"
    exit 1
}
rm -f "$root.log"

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
# As python:*-slim and debian:* images do: no recommends, no docs, no caches.
cat >"$root/etc/apt/apt.conf.d/90cinder-lab" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
// Snapshot mirrors serve Release files past their Valid-Until date.
Acquire::Check-Valid-Until "false";
APT
# The CA bundle to trust: also kept as a local CA, so update-ca-certificates
# (run when a later package adds certificates) keeps it in the bundle.
cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
cp "$ca_bundle" "$root/usr/local/share/ca-certificates/cinder-lab-trusted.crt"
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

# pip carries its own CA list (certifi): point it, and requests, at the system bundle.
tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["bash"]' \
    - "$tag" >/dev/null
echo "base: $tag"
