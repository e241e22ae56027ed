"""Names the broker or the database would read differently: one validator per kind.

Cinder itself checks none of these; the lab refuses them at config time, in
one line, because each one silently changes where messages go or what a row
says. ``config.check_names`` calls them once the config files are parsed.
"""

from __future__ import annotations

from cinder_lab import exception

# -- names the broker or the database would read differently --------------------

# The host columns (services.host, volumes.host, backups.host) are String(255):
# MariaDB would clip a longer value, and a clipped host@backend#pool is another pool.
HOST_COLUMN_LENGTH = 255

# AMQP 0-9-1 sends queue and exchange names as a shortstr: at most 255 bytes.
AMQP_NAME_LENGTH = 255

# In a topic exchange '*' matches one dot-separated word and '#' any number of
# words: a queue bound with 'cinder-backup.*' receives every other host's backups.
WILDCARDS = "*#"


def _refuse(value: str | None, what: str, forbidden: str) -> str:
    """``value`` if it is non-empty printable text without spaces or ``forbidden``."""
    bad = (
        not value
        or any(c.isspace() or not c.isprintable() or c in forbidden for c in value)
        or len(value) > HOST_COLUMN_LENGTH
    )
    if bad:
        shown = value if len(value or "") <= 60 else f"{value[:57]}..."
        rule = " ".join(f"'{c}'" for c in forbidden)
        raise exception.ConfigError(
            reason=f"invalid {what}: {shown!r} (must be 1 to {HOST_COLUMN_LENGTH} "
            f"printable characters, without spaces or {rule})"
        )
    return value


def check_host(value: str | None, what: str) -> str:
    """A host (``[DEFAULT] host``, ``backend_host``): the server part of routing keys.

    ``@`` and ``#`` would cut ``host@backend#pool`` elsewhere, ``*`` and ``#`` are
    routing-key wildcards. A ``.`` is fine: oslo.messaging binds ``topic.server``
    with the whole server name, so ``maqi-openstack.novalocal`` routes as itself.
    """
    return _refuse(value, what, "@" + WILDCARDS)


def check_backend_name(value: str | None) -> str:
    """A section name in ``enabled_backends``: the host rules, and no ``.``.

    Ocata's second server listens on ``cinder-volume.<host@backend>.<host>``; a
    backend named ``ceph.maqi-kilo`` on host ``maqi-kilo`` would have the Kilo queue
    ``cinder-volume.maqi-kilo@ceph.maqi-kilo``, the very queue of backend ``ceph``.
    """
    return _refuse(value, "backend name in enabled_backends", "@." + WILDCARDS)


def check_topic(value: str | None, option: str) -> str:
    """A topic option: the first word of every routing key of its service.

    oslo.messaging joins ``topic.server``, so a ``.`` in a topic makes two
    (topic, server) pairs share one queue: ``volume_topic = cinder-volume.maqi-kilo@ceph``
    is the server queue of backend ``maqi-kilo@ceph`` (and Ocata's topic for it).
    """
    return _refuse(value, option, "." + WILDCARDS)


def check_pool_name(value: str | None, backend: str) -> str:
    """``volume_backend_name``: the ``#pool`` part of a volume's host, and its type."""
    return _refuse(value, f"[{backend}] volume_backend_name", "@#")


def check_queue_names(queues: list[str], who: str) -> None:
    """Refuse a queue (or fanout exchange) name the broker would refuse as too long."""
    for queue in queues:
        size = len(queue.encode("utf-8"))
        if size > AMQP_NAME_LENGTH:
            raise exception.ConfigError(
                reason=f"{who} would declare queue {queue[:40]}... of {size} bytes; "
                f"AMQP allows {AMQP_NAME_LENGTH}: shorten its host or backend name"
            )
