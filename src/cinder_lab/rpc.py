"""One transport per process, and the clients and servers built on it; mirrors cinder/rpc.py.

``init()`` must run after fork: a transport holds sockets and threads that a
child process must not inherit.
"""

from __future__ import annotations

import importlib.metadata
import logging

import kombu
import oslo_messaging as messaging
from oslo_config import cfg

from cinder_lab import context as lab_context
from cinder_lab import exception, objects, tracing, utils
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.objects import base as objects_base

LOG = logging.getLogger(__name__)

TRANSPORT: messaging.Transport | None = None


class RequestContextSerializer(messaging.Serializer):
    """Puts the request context on the wire as ``_context_*``; mirrors cinder.rpc's.

    Arguments go through ``base``, Cinder's object serializer: a Volume or
    Backup object travels as its ``versioned_object.*`` primitive (today's
    Cinder; Kilo's lab sends ids and plain dicts, which pass through unchanged).
    """

    def __init__(self, base: messaging.Serializer | None = None) -> None:
        self._base = base or objects_base.CinderObjectSerializer()

    def serialize_entity(self, ctxt: object, entity: object) -> object:
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt: object, entity: object) -> object:
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt: lab_context.RequestContext) -> dict:
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict) -> lab_context.RequestContext:
        return lab_context.RequestContext.from_dict(ctxt)


def init(conf: cfg.ConfigOpts) -> messaging.Transport:
    """Create this process's RPC transport from ``transport_url``."""
    global TRANSPORT
    parse_transport_url(conf)  # a bad URL fails here, in one line
    objects.register_all()
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


# Per process, as Cinder's LAST_RPC_VERSIONS: the cap each binary's clients were pinned to.
LAST_RPC_VERSIONS: dict[str, str] = {}


class RPCAPI:
    """Base of the three rpcapi classes; mirrors cinder.rpc.RPCAPI.

    A subclass names its topic, binary and versions; the client is built here,
    on first use (after ``init()``). Its version cap: Kilo's clients had one
    written in the code (``KILO_VERSION_CAP``); today's pin themselves to the
    oldest ``rpc_current_version`` of their binary in the ``services`` table
    (``determine_rpc_version_cap``). ``[upgrade_levels]`` overrides both: it is
    Nova's mechanism, which Cinder never had, kept as the lab's manual switch.
    """

    RPC_API_VERSION = "1.0"  # today's newest version of this API
    RPC_DEFAULT_VERSION = "1.0"  # what today's methods send unless they ask for more
    KILO_RPC_API_VERSION = "1.0"  # Kilo's Target version: what a plain prepare() sent
    KILO_VERSION_CAP = "1.0"  # Kilo's hard-coded cap, the newest version it sent
    TOPIC_OPTION = ""  # the [DEFAULT] option holding the topic, e.g. "volume_topic"
    BINARY = ""
    UPGRADE_LEVEL = ""  # the [upgrade_levels] option capping this API

    def __init__(self, version_cap: str | None = None) -> None:
        self._version_cap = version_cap
        self._client: messaging.RPCClient | None = None
        self._cctxts: dict[tuple, messaging.RPCClient] = {}

    @classmethod
    def api_version(cls) -> str:
        """The newest version a server of this API accepts, in the configured release."""
        return cls.KILO_VERSION_CAP if config.is_kilo() else cls.RPC_API_VERSION

    @property
    def topic(self) -> str:
        """This API's topic, e.g. ``cinder-volume``."""
        return cfg.CONF[self.TOPIC_OPTION]

    @property
    def client(self) -> messaging.RPCClient:
        """``Target(topic, version)`` on this process's transport, with its cap."""
        if self._client is None:
            kilo = config.is_kilo()
            version = self.KILO_RPC_API_VERSION if kilo else self.RPC_DEFAULT_VERSION
            target = messaging.Target(topic=self.topic, version=version)
            self._client = get_client(target, version_cap=self.version_cap())
        return self._client

    def _get_cctxt(self, **kwargs: object) -> messaging.RPCClient:
        """``client.prepare(**kwargs)``, made once per target; mirrors cinder.rpc's _get_cctxt.

        Kept, not made per message: a prepared client holds no per-message state, and
        its client (transport, version cap) is kept for this object's life already.
        """
        key = tuple(sorted(kwargs.items()))
        cctxt = self._cctxts.get(key)
        if cctxt is None:
            cctxt = self._cctxts[key] = self.client.prepare(**kwargs)
        return cctxt

    def version_cap(self) -> str:
        """The newest version this client may send (see the class docstring)."""
        manual = self._version_cap or cfg.CONF.upgrade_levels[self.UPGRADE_LEVEL]
        if manual:
            return manual
        if config.is_kilo():
            return self.KILO_VERSION_CAP
        return determine_rpc_version_cap(self.BINARY, self.RPC_API_VERSION)


def determine_rpc_version_cap(binary: str, newest: str) -> str:
    """The oldest ``rpc_current_version`` of ``binary``'s rows; mirrors cinder.rpc's.

    Every row counts, down and disabled ones too, as in Cinder; a row with no
    version (a Kilo-era service) raises ServiceTooOld. No row: ``newest``.
    Cached per process, as Cinder caches it until SIGHUP.
    """
    if binary in LAST_RPC_VERSIONS:
        return LAST_RPC_VERSIONS[binary]
    versions = [row.rpc_current_version for row in db.service_get_all() if row.binary == binary]
    if any(v is None for v in versions):
        raise exception.ServiceTooOld(binary=binary)
    cap = min(versions, key=lambda v: tuple(int(p) for p in v.split(".")), default=newest)
    LOG.info("Automatically selected %s RPC version %s as minimum service version.", binary, cap)
    LAST_RPC_VERSIONS[binary] = cap
    return cap


def reset_version_caps() -> None:
    """Forget the pinned versions, as Cinder's services do on SIGHUP."""
    LAST_RPC_VERSIONS.clear()


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
