#!/bin/sh
# The official mariadb image's healthcheck, for the two tests the compose lab uses:
#   --connect             the server accepts TCP connections (not only the init socket)
#   --innodb_initialized  InnoDB is up
# Exit 0 when every test given passes.
set -u
for test in "$@"; do
    case "$test" in
        --connect)
            mariadb --defaults-extra-file=/var/lib/mysql/.my-healthcheck.cnf --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>&1 || exit 1
            ;;
        --innodb_initialized)
            found=$(mariadb -uroot -N -B -e "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE='InnoDB' AND SUPPORT IN ('YES','DEFAULT')" 2>/dev/null)
            [ "$found" = 1 ] || exit 1
            ;;
        *)
            echo "healthcheck.sh: unknown test $test" >&2
            exit 2
            ;;
    esac
done
exit 0
