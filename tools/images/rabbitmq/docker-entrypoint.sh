#!/bin/sh
# Entrypoint of the local rabbitmq image: what rabbitmq:3-management's does that the
# lab relies on, then RabbitMQ in the foreground as user rabbitmq (PID 1's signals
# reach it: `docker stop` stops the node cleanly).
set -eu

conf=/etc/rabbitmq/conf.d/10-docker.conf
mkdir -p /etc/rabbitmq/conf.d
{
    echo "loopback_users.guest = false"
    echo "listeners.tcp.default = 5672"
    echo "management.tcp.port = 15672"
    # The official image's user: created on the node's first boot, administrator.
    if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then echo "default_user = $RABBITMQ_DEFAULT_USER"; fi
    if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then echo "default_pass = $RABBITMQ_DEFAULT_PASS"; fi
} >"$conf"  # RabbitMQ reads conf.d/*.conf after rabbitmq.conf

# Clustered nodes must share one Erlang cookie.
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
    printf '%s' "$RABBITMQ_ERLANG_COOKIE" >/var/lib/rabbitmq/.erlang.cookie
    chmod 600 /var/lib/rabbitmq/.erlang.cookie
fi
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq

if [ "${1:-}" = rabbitmq-server ]; then
    shift
    exec setpriv --reuid rabbitmq --regid rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
