#!/usr/bin/env bash
# The end of `make test`: one line per group of skipped tests, summed over its pytest
# runs, each naming (in parentheses) the command that would run them. Input: lines of
# "<count><TAB><reason>" (tests/conftest.py writes them).
set -euo pipefail
file=$1
if [ ! -s "$file" ]; then
    echo "make test: nothing skipped"
    exit 0
fi
awk -F'\t' '{ n[$2] += $1 } END { for (r in n) printf "skipped %d: %s\n", n[r], r }' "$file" | sort -k3
