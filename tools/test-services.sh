#!/usr/bin/env bash
# Start RabbitMQ (with its management API) and MariaDB if they are not running.
set -uo pipefail

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
fi
rabbitmqctl -q await_startup --timeout 120 || rabbitmqctl -q wait --timeout 120 /var/lib/rabbitmq/mnesia/rabbit@$(hostname -s).pid || true
rabbitmqctl -q status >/dev/null || { echo "RabbitMQ did not start" >&2; exit 1; }
if ! rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1; then
    echo "enabling the RabbitMQ management plugin"
    rabbitmq-plugins -q enable rabbitmq_management >/dev/null
fi
# The plugin answers a few seconds after it is enabled.
for _ in $(seq 1 60); do
    curl -sf -o /dev/null -u guest:guest http://127.0.0.1:15672/api/overview && break
    sleep 1
done

if command -v mariadb-admin >/dev/null 2>&1 && ! mariadb-admin -uroot ping >/dev/null 2>&1; then
    echo "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    for _ in $(seq 1 60); do mariadb-admin -uroot ping >/dev/null 2>&1 && break; sleep 1; done
fi
exit 0
