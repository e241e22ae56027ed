"""The lab's own broker plumbing beside ``rpc.py``: the transport URL, probing, patches.

Cinder's ``rpc.py`` holds transport, clients, servers and ``RPCAPI`` only; what the
lab adds for a clear error on a missing broker, for tapping RabbitMQ beside
oslo.messaging and for the in-process ``kombu+memory://`` mode lives here.
"""

from __future__ import annotations

import importlib.metadata

import kombu
import oslo_messaging as messaging
from oslo_config import cfg

from cinder_lab import exception, utils
from cinder_lab.common import bounds

POLL_FLOOR = 0.001  # seconds between polls of an idle in-process queue


def set_memory_polling_floor() -> None:
    """Keep idle ``kombu+memory://`` consumers from spinning (idempotent).

    oslo.messaging sets ``polling_interval = 0`` on every memory connection, so
    each idle consumer thread would busy-loop; a 1 ms floor keeps the latency
    and frees the CPU.
    """
    from kombu.transport import memory

    if isinstance(memory.Transport.__dict__.get("polling_interval"), property):
        return
    memory.Transport.polling_interval = property(
        lambda self: self.__dict__.get("_polling_interval", POLL_FLOOR),
        lambda self, value: self.__dict__.__setitem__(
            "_polling_interval", max(value or 0.0, POLL_FLOOR)
        ),
    )


def parse_transport_url(conf: cfg.ConfigOpts) -> messaging.TransportURL:
    """``[DEFAULT] transport_url`` parsed, or a ConfigError that does not echo it.

    A URL oslo.messaging cannot parse may hold a password it could not find (one
    with a ``/`` ends the host early), so no part of it is shown.
    """
    try:
        parsed = messaging.TransportURL.parse(conf)
    except (messaging.InvalidTransportURL, ValueError):
        # ValueError: e.g. a port that is not a number; urllib raises before oslo can wrap it.
        parsed = None
    if parsed is None or any(h.port is not None and not 0 < h.port < 65536 for h in parsed.hosts):
        raise exception.UnparseableURL(option="transport_url", parser="oslo.messaging")
    if any("/" in f"{h.username}{h.password}" for h in parsed.hosts):
        # oslo.messaging 18 impl_rabbit rebuilds a URL for kombu with parse.quote(), which
        # leaves '/' raw: kombu then reads the password as a port. Say so, at start.
        raise exception.ConfigError(
            reason="transport_url: a user or password holding '/' (even as %2F) never reaches "
            "RabbitMQ: oslo.messaging hands it to kombu unescaped"
        )
    return parsed


def transport_url(conf: cfg.ConfigOpts) -> str:
    """The configured transport URL, as written (mask it before printing)."""
    parse_transport_url(conf)
    return conf.transport_url or "rabbit://"


def is_in_process(conf: cfg.ConfigOpts) -> bool:
    """True for ``kombu+memory://``: every service must live in this one process."""
    return parse_transport_url(conf).transport.endswith("+memory")


def kombu_connection(
    conf: cfg.ConfigOpts, host: messaging.TransportHost | None = None, connect_timeout: float = 3
) -> kombu.Connection:
    """A plain kombu connection (not yet opened) to one host of ``transport_url``.

    For what oslo.messaging does not do: probing the broker, tapping the firehose.
    """
    parsed = parse_transport_url(conf)
    if host is None and parsed.hosts:
        host = parsed.hosts[0]
    return kombu.Connection(
        hostname=(host and host.hostname) or "localhost",
        port=(host and host.port) or 5672,
        userid=(host and host.username) or "guest",
        password=(host and host.password) or "guest",
        virtual_host=parsed.virtual_host or "/",
        connect_timeout=connect_timeout,
    )


def check_broker(conf: cfg.ConfigOpts) -> None:
    """Connect once to every broker host, with bounded retries, or raise BrokerUnreachable.

    oslo.messaging would wait forever for a broker that is not there; the lab
    prefers a clear error naming the (masked) URL.
    """
    url = transport_url(conf)
    parsed = parse_transport_url(conf)
    bounds.check_client_options(conf)
    drivers = {ep.name for ep in importlib.metadata.entry_points(group="oslo.messaging.drivers")}
    if parsed.transport.split("+")[0] not in drivers:
        raise exception.ConfigError(
            reason=f"no messaging driver {parsed.transport!r} "
            f"for transport_url {utils.mask_url(url)}"
        )
    if parsed.transport.endswith("+memory") or parsed.transport == "fake":
        return
    attempts = conf.rpc_connect_retries + 1
    last: Exception | None = None
    for host in parsed.hosts or [None]:
        conn = kombu_connection(conf, host)
        try:
            conn.ensure_connection(
                max_retries=conf.rpc_connect_retries,
                interval_start=0.5,
                interval_step=0.5,
                interval_max=2,
            )
            return
        except Exception as e:  # kombu raises several types; all mean "not reachable"
            last = e
        finally:
            conn.release()
    reason = str(last).splitlines()[0] if last else "no host in URL"
    raise exception.BrokerUnreachable(url=utils.mask_url(url), attempts=attempts, reason=reason)
