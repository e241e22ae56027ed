#!/bin/sh
# Entrypoint of every cinder-lab container: run the command as given, or,
# with DEBUGPY=1, the same command under debugpy listening on
# ${DEBUGPY_HOST:-0.0.0.0}:${DEBUGPY_PORT:-5678}, published by docker-compose.yml
# (DEBUGPY_WAIT=1: wait for the debugger before the first line runs).
# debugpy follows cinder-lab-volume's forked backend children by itself:
# attach with "subProcess": true and each child appears as its own session.
set -eu

case "${DEBUGPY:-0}" in
    1 | true | yes) ;;
    *) exec "$@" ;;
esac

if [ "$#" -eq 0 ]; then
    echo "entrypoint: DEBUGPY=1 needs a command, e.g. cinder-lab-backup --config-file F" >&2
    exit 2
fi
script=$1
shift
case "$script" in
    cinder-lab-volume) target="-m cinder_lab.cmd.volume" ;;
    cinder-lab-backup) target="-m cinder_lab.cmd.backup" ;;
    cinder-lab-scheduler) target="-m cinder_lab.cmd.scheduler" ;;
    cinder-lab-api) target="-m cinder_lab.cmd.api" ;;
    cinder-lab) target="-m cinder_lab.cmd.client" ;;
    *) target=$(command -v "$script") || { echo "entrypoint: no command '$script'" >&2; exit 2; } ;;
esac
wait_flag=""
case "${DEBUGPY_WAIT:-0}" in
    1 | true | yes) wait_flag="--wait-for-client" ;;
esac

listen="${DEBUGPY_HOST:-0.0.0.0}:${DEBUGPY_PORT:-5678}"
echo "entrypoint: $script under debugpy, listening on $listen $wait_flag" >&2
# Frozen stdlib modules make debugpy warn that it may miss breakpoints; turn them off.
export PYDEVD_DISABLE_FILE_VALIDATION=1
# shellcheck disable=SC2086 # $target and $wait_flag split into words on purpose
exec python -Xfrozen_modules=off -m debugpy --listen "$listen" $wait_flag $target "$@"
