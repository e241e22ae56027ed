"""One transport per process, and the clients and servers built on it; mirrors cinder/rpc.py.

``init()`` must run after fork: a transport holds sockets and threads that a
child process must not inherit.
"""

from __future__ import annotations

import importlib.metadata

import kombu
import oslo_messaging as messaging
from oslo_config import cfg

from cinder_lab import context as lab_context
from cinder_lab import exception, tracing, utils

TRANSPORT: messaging.Transport | None = None


class RequestContextSerializer(messaging.Serializer):
    """Puts the request context on the wire as ``_context_*``; mirrors cinder.rpc's."""

    def serialize_entity(self, ctxt: object, entity: object) -> object:
        return entity

    def deserialize_entity(self, ctxt: object, entity: object) -> object:
        return entity

    def serialize_context(self, ctxt: lab_context.RequestContext) -> dict:
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict) -> lab_context.RequestContext:
        return lab_context.RequestContext.from_dict(ctxt)


def init(conf: cfg.ConfigOpts) -> messaging.Transport:
    """Create this process's RPC transport from ``transport_url``."""
    global TRANSPORT
    parse_transport_url(conf)  # a bad URL fails here, in one line
    # Cinder's control exchange: every topic queue binds to 'openstack'.
    messaging.set_transport_defaults(control_exchange="openstack")
    if is_in_process(conf):
        set_memory_polling_floor()
    try:
        TRANSPORT = messaging.get_rpc_transport(conf)
    except messaging.InvalidTransportURL as e:
        raise exception.ConfigError(
            reason=f"invalid transport_url {utils.mask_url(e.url)}"
        ) from None
    except messaging.DriverLoadFailure as e:
        raise exception.ConfigError(
            reason=f"no messaging driver for transport_url: {e.ex}"
        ) from None
    # [oslo_messaging_tracing] tracing_enabled: export this process's spans over OTLP.
    tracing.setup(conf)
    return TRANSPORT


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


def initialized() -> bool:
    """True once ``init()`` ran in this process."""
    return TRANSPORT is not None


def cleanup() -> None:
    """Close the transport's connections."""
    global TRANSPORT
    if TRANSPORT is not None:
        TRANSPORT.cleanup()
    TRANSPORT = None
    tracing.shutdown()


def get_client(target: messaging.Target, version_cap: str | None = None) -> messaging.RPCClient:
    """An RPC client on the process transport; mirrors cinder.rpc.get_client.

    ``retry`` is bounded so a cast to an unreachable broker fails instead of
    hanging (oslo.messaging's default retries forever).
    """
    assert TRANSPORT is not None, "rpc.init() was not called"
    client = messaging.get_rpc_client(
        TRANSPORT,
        target,
        version_cap=version_cap,
        serializer=RequestContextSerializer(),
        retry=cfg.CONF.rpc_connect_retries,
    )
    # With tracing on, each call also gets the lab's span for its reply.
    return tracing.TracedClient(client) if tracing.enabled(cfg.CONF) else client


def get_server(target: messaging.Target, endpoints: list) -> messaging.RPCServer:
    """An RPC server (threading executor); mirrors cinder.rpc.get_server."""
    assert TRANSPORT is not None, "rpc.init() was not called"
    if tracing.enabled(cfg.CONF):
        endpoints = [tracing.TracedEndpoint(e) for e in endpoints]
    return messaging.get_rpc_server(
        TRANSPORT,
        target,
        endpoints,
        serializer=RequestContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )


class RPCAPI:
    """Base of the three rpcapi classes; mirrors cinder.rpc.RPCAPI.

    A subclass only names its topic, binary and version; the client is built
    here, on first use (after ``init()``), with the topic from config and the
    version cap from ``[upgrade_levels]``.
    """

    RPC_API_VERSION = "1.0"
    TOPIC_OPTION = ""  # the [DEFAULT] option holding the topic, e.g. "volume_topic"
    BINARY = ""
    UPGRADE_LEVEL = ""  # the [upgrade_levels] option capping this API

    def __init__(self, version_cap: str | None = None) -> None:
        self._version_cap = version_cap
        self._client: messaging.RPCClient | None = None

    @property
    def topic(self) -> str:
        """This API's topic, e.g. ``cinder-volume``."""
        return cfg.CONF[self.TOPIC_OPTION]

    @property
    def client(self) -> messaging.RPCClient:
        """``Target(topic, version)`` on this process's transport."""
        if self._client is None:
            target = messaging.Target(topic=self.topic, version=self.RPC_API_VERSION)
            cap = self._version_cap or cfg.CONF.upgrade_levels[self.UPGRADE_LEVEL]
            self._client = get_client(target, version_cap=cap)
        return self._client


def parse_transport_url(conf: cfg.ConfigOpts) -> messaging.TransportURL:
    """``[DEFAULT] transport_url`` parsed, or ConfigError with the password masked."""
    try:
        return messaging.TransportURL.parse(conf)
    except messaging.InvalidTransportURL as e:
        raise exception.ConfigError(
            reason=f"invalid transport_url {utils.mask_url(str(e.url))}"
        ) from None
    except ValueError as e:
        # e.g. a port that is not a number: urllib raises before oslo can wrap it.
        raise exception.ConfigError(
            reason=f"invalid transport_url {utils.mask_url(conf.transport_url)}: {e}"
        ) from None


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
