"""The lab's own broker plumbing beside ``rpc.py``: the transport URL, probing, patches.

Cinder's ``rpc.py`` holds transport, clients, servers and ``RPCAPI`` only; what the
lab adds for a clear error on a missing broker, for tapping RabbitMQ beside
oslo.messaging and for the in-process ``kombu+memory://`` mode lives here.
"""

from __future__ import annotations

import importlib.metadata
import logging

import kombu
import oslo_messaging as messaging
from oslo_config import cfg

from cinder_lab import exception, utils
from cinder_lab.common import bounds
from cinder_lab.common.config import CONF

LOG = logging.getLogger(__name__)
POLL_FLOOR = 0.001  # seconds between polls of an idle in-process queue
WORKER_IDLE_CHECK = 0.1  # seconds between an idle executor worker's looks at its stop flag


def prompt_worker_stop() -> None:
    """Let a stopping RPC server's idle executor workers notice the stop in 0.1 s (idempotent).

    futurist (3.x, ``_thread.ThreadWorker.MAX_IDLE_FOR``) has each idle worker look
    at its stop flag once a second, and oslo.messaging's ``server.wait()`` joins
    them: that second was part of every stop, in a process or in the in-process lab.
    """
    from futurist import _thread as futurist_thread

    futurist_thread.ThreadWorker.MAX_IDLE_FOR = WORKER_IDLE_CHECK


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


def cancel_consumers(server: messaging.RPCServer) -> None:
    """Cancel a stopped server's consumers before oslo.messaging closes its connection.

    oslo.messaging 18 (``impl_rabbit.Connection.close``) deletes the fanout queue
    while still consuming from it; RabbitMQ then tells the consumer with a
    ``basic.cancel`` (method 60,30) that arrives while the channel is closing, and
    py-amqp logs "Received method (60, 30) during closing channel". Cancelled
    first, the queue is deleted with no consumer on it and nothing arrives. The
    consume loop has stopped (``server.stop()``), so no other thread reads this
    connection. Best effort: the attributes are oslo.messaging's internals.
    """
    listener = getattr(getattr(server, "listener", None), "_poll_style_listener", None)
    conn = getattr(getattr(listener, "conn", None), "connection", None)
    consumers = getattr(conn, "_consumers", None)
    if not consumers:
        return
    try:
        with conn._connection_lock:
            for consumer, tag in list(consumers.items()):
                consumer.cancel(tag=tag)
    except Exception as e:  # a lost broker: the close that follows copes with it
        LOG.debug("%s: could not cancel consumers: %s", server, e)


def queue_consumers(queue: str) -> int | None:
    """How many consumers the broker counts on ``queue`` now; None if it has no such
    queue, cannot be asked, or is the in-process broker (no other process to see).

    A passive declare answers from the queue itself; the management API's counts
    lag by its statistics interval (5 s), too late for "did it just stop?".
    """
    if is_in_process(CONF):
        return None
    conn = kombu_connection(CONF)
    try:
        _name, _messages, consumers = conn.default_channel.queue_declare(queue, passive=True)
        return int(consumers)
    except Exception:  # no such queue (a 404 closes the channel), or no broker
        return None
    finally:
        conn.release()
