#!/usr/bin/env bash
# Debian's Chromium, for the browser tests of `cinder-lab web` (tests/web/): Playwright
# drives it through executable_path (Playwright's own browser download does not work here).
# Quick when it is installed already.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing chromium"
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
}
chromium --version
