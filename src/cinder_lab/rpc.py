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
from cinder_lab import exception, utils
from cinder_lab.observe import spans

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
        from cinder_lab import memory_broker

        memory_broker.install()
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
    spans.setup(conf)
    return TRANSPORT


def initialized() -> bool:
    """True once ``init()`` ran in this process."""
    return TRANSPORT is not None


def cleanup() -> None:
    """Close the transport's connections."""
    global TRANSPORT
    if TRANSPORT is not None:
        TRANSPORT.cleanup()
    TRANSPORT = None
    spans.shutdown()


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
    return spans.TracedClient(client) if spans.enabled(cfg.CONF) else client


def get_server(target: messaging.Target, endpoints: list) -> messaging.RPCServer:
    """An RPC server (threading executor); mirrors cinder.rpc.get_server."""
    assert TRANSPORT is not None, "rpc.init() was not called"
    if spans.enabled(cfg.CONF):
        endpoints = [spans.TracedEndpoint(e) for e in endpoints]
    return messaging.get_rpc_server(
        TRANSPORT,
        target,
        endpoints,
        serializer=RequestContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )


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
