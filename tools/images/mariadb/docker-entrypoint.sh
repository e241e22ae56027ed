#!/bin/sh
# Entrypoint of the local mariadb image. On an empty /var/lib/mysql: create the
# system tables, then, on a server that listens on no TCP port (so the healthcheck
# fails until this is done), the database and user from MARIADB_DATABASE /
# MARIADB_USER / MARIADB_PASSWORD and root's password; then MariaDB in the foreground.
set -eu

if [ "${1:-}" != mariadbd ]; then
    exec "$@"
fi
shift
datadir=/var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql "$datadir" /run/mysqld

if [ ! -d "$datadir/mysql" ]; then
    echo "entrypoint: initialising $datadir"
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=socket >/dev/null
    mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 1 60); do
        mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break
        sleep 1
    done
    root_password=${MARIADB_ROOT_PASSWORD:-}
    if [ -z "$root_password" ] && [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
        root_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
        echo "entrypoint: root gets a random password (not logged)"
    fi
    health_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '[client]\nuser=healthcheck\npassword=%s\nprotocol=tcp\nhost=127.0.0.1\n' "$health_password" >"$datadir/.my-healthcheck.cnf"
    chmod 600 "$datadir/.my-healthcheck.cnf"
    # Root keeps unix-socket login inside the container (the healthcheck uses it).
    {
        if [ -n "$root_password" ]; then
            echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$root_password');"
        fi
        # As the official image does: a user with no rights for healthcheck.sh's --connect.
        echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '$health_password';"
        if [ -n "${MARIADB_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
        fi
        if [ -n "${MARIADB_USER:-}" ]; then
            echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '${MARIADB_PASSWORD:-}';"
            if [ -n "${MARIADB_DATABASE:-}" ]; then
                echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';"
            fi
        fi
    } | mariadb --socket=/run/mysqld/init.sock -uroot
    kill "$pid"
    wait "$pid" || true
    echo "entrypoint: initialised"
fi
exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --skip-name-resolve "$@"
