"""One transport per process, and the clients and servers built on it; mirrors cinder/rpc.py.

``init()`` must run after fork: a transport holds sockets and threads that a
child process must not inherit.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_utils import versionutils

from cinder_lab import broker, exception, objects, tracing
from cinder_lab import context as lab_context
from cinder_lab.common import bounds, config
from cinder_lab.db import api as db
from cinder_lab.objects import base as objects_base
from cinder_lab.objects.base import OBJ_VERSIONS_CURRENT

LOG = logging.getLogger(__name__)

# The lab's broker plumbing lives in broker.py; the lab's callers know it as rpc.*.
POLL_FLOOR = broker.POLL_FLOOR
check_broker = broker.check_broker
is_in_process = broker.is_in_process
kombu_connection = broker.kombu_connection
parse_transport_url = broker.parse_transport_url
prompt_worker_stop = broker.prompt_worker_stop
set_memory_polling_floor = broker.set_memory_polling_floor
transport_url = broker.transport_url

TRANSPORT: messaging.Transport | None = None


class RequestContextSerializer(messaging.Serializer):
    """Puts the request context on the wire as ``_context_*``; mirrors cinder.rpc's.

    Arguments go through ``base``, Cinder's object serializer: a Volume or
    Backup object travels as its ``versioned_object.*`` primitive (today's
    Cinder; Kilo's lab sends ids and plain dicts, which pass through unchanged).
    """

    def __init__(self, base: messaging.Serializer | None = None) -> None:
        self._base = base or objects_base.CinderObjectSerializer()  # uncapped

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
    bounds.check_client_options(conf)
    objects.register_all()
    # Cinder's control exchange: every topic queue binds to 'openstack'.
    messaging.set_transport_defaults(control_exchange="openstack")
    if is_in_process(conf):
        set_memory_polling_floor()
    try:
        TRANSPORT = messaging.get_rpc_transport(conf)
    except messaging.InvalidTransportURL:
        raise exception.UnparseableURL(option="transport_url", parser="oslo.messaging") from None
    except messaging.DriverLoadFailure as e:
        raise exception.ConfigError(
            reason=f"no messaging driver for transport_url: {e.ex}"
        ) from None
    # [oslo_messaging_tracing] tracing_enabled: export this process's spans over OTLP.
    tracing.setup(conf)
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
    tracing.shutdown()


def get_client(
    target: messaging.Target,
    version_cap: str | None = None,
    serializer: messaging.Serializer | None = None,
) -> messaging.RPCClient:
    """An RPC client on the process transport; mirrors cinder.rpc.get_client.

    ``serializer`` is the object serializer (with its object version cap); the
    request context goes around it. ``retry`` is bounded so a cast to an
    unreachable broker fails instead of hanging (oslo.messaging's default retries forever).
    """
    assert TRANSPORT is not None, "rpc.init() was not called"
    client = messaging.get_rpc_client(
        TRANSPORT,
        target,
        version_cap=version_cap,
        serializer=RequestContextSerializer(serializer),
        retry=cfg.CONF.rpc_connect_retries,
    )
    # With tracing on, each call also gets the lab's span for its reply.
    return tracing.TracedClient(client) if tracing.enabled(cfg.CONF) else client


def get_server(
    target: messaging.Target, endpoints: list, serializer: messaging.Serializer | None = None
) -> messaging.RPCServer:
    """An RPC server (threading executor); mirrors cinder.rpc.get_server.

    ``serializer`` caps the objects it sends back in replies (Service.start pins it).
    """
    assert TRANSPORT is not None, "rpc.init() was not called"
    if tracing.enabled(cfg.CONF):
        endpoints = [tracing.TracedEndpoint(e) for e in endpoints]
    return messaging.get_rpc_server(
        TRANSPORT,
        target,
        endpoints,
        serializer=RequestContextSerializer(serializer),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )


def assert_min_rpc_version(min_ver: str) -> Callable:
    """Refuse a method whose peers are too old for it; mirrors cinder.rpc.assert_min_rpc_version.

    Nothing is sent: the caller gets ServiceTooOld (today's managers catch it and log).
    """

    def decorator(f: Callable) -> Callable:
        @functools.wraps(f)
        def _wrapper(self: RPCAPI, *args: object, **kwargs: object) -> object:
            if not self.client.can_send_version(min_ver):
                raise exception.ServiceTooOld(
                    f"One of {self.BINARY} services is too old to accept {f.__name__} "
                    f"request. Required RPC API version is {min_ver}. Are you running "
                    f"mixed versions of {self.BINARY}s?"
                )
            return f(self, *args, **kwargs)

        return _wrapper

    return decorator


# Per process, as Cinder's: the caps each binary's clients were pinned to (until SIGHUP).
LAST_RPC_VERSIONS: dict[str, str] = {}
LAST_OBJ_VERSIONS: dict[str, str] = {}


class RPCAPI:
    """Base of the three rpcapi classes; mirrors cinder.rpc.RPCAPI.

    A subclass names its topic, binary and versions; the client is built here,
    on first use (after ``init()``). Every method picks the form of its message
    from the client's version cap with ``can_send_version``, as Cinder's methods
    do for older peers. The cap is the one thing the release sets:

    - Kilo (2015.1): written in the code (``KILO_VERSION_CAP``, e.g. volume 1.23);
    - today: the oldest ``rpc_current_version`` of the binary's ``services`` rows
      (``determine_rpc_version_cap``), and objects go at the oldest
      ``object_current_version`` (``determine_obj_version_cap``).

    ``[upgrade_levels]`` overrides the RPC cap: Nova's mechanism, which Cinder
    never had, kept as the lab's manual switch. Cinder dropped its 1.x forms at
    2.0 and 3.0; the lab keeps both, so one client speaks to either release.
    """

    RPC_API_VERSION = "1.0"  # today's newest version of this API
    RPC_DEFAULT_VERSION = "1.0"  # what today's methods send unless they ask for more
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
        """``Target(topic, RPC_API_VERSION)`` on this process's transport, with its caps."""
        if self._client is None:
            target = messaging.Target(topic=self.topic, version=self.RPC_API_VERSION)
            serializer = objects_base.CinderObjectSerializer(self.obj_version_cap())
            self._client = get_client(target, self.version_cap(), serializer)
        return self._client

    def _compat_ver(self, current: str, *legacy: str) -> str:
        """The first of the versions this client may send, else the last; mirrors Cinder's."""
        versions = (current, *legacy)
        return next((v for v in versions[:-1] if self.client.can_send_version(v)), versions[-1])

    def _get_cctxt(
        self, version: str | tuple | None = None, **kwargs: object
    ) -> messaging.RPCClient:
        """``client.prepare(version=..., **kwargs)``; mirrors cinder.rpc.RPCAPI._get_cctxt.

        ``version`` defaults to ``RPC_DEFAULT_VERSION``; a tuple means the first one
        this client may send. Each prepared client is kept, not made per message: it
        holds no per-message state, and its client lives as long as this object.
        """
        if version is None:
            version = self.RPC_DEFAULT_VERSION
        if isinstance(version, tuple):
            version = self._compat_ver(*version)
        key = (version, *sorted(kwargs.items()))
        cctxt = self._cctxts.get(key)
        if cctxt is None:
            cctxt = self._cctxts[key] = self.client.prepare(version=version, **kwargs)
        return cctxt

    def version_cap(self) -> str:
        """The newest version this client may send (see the class docstring)."""
        manual = self._version_cap or cfg.CONF.upgrade_levels[self.UPGRADE_LEVEL]
        if manual:
            return manual
        if config.is_kilo():
            return self.KILO_VERSION_CAP
        return determine_rpc_version_cap(self.BINARY, self.RPC_API_VERSION)

    def obj_version_cap(self) -> str | None:
        """The objects version this client's serializer sends at; None: Kilo's, uncapped."""
        return None if config.is_kilo() else determine_obj_version_cap(self.BINARY)


def _minimum_version(attribute: str, binary: str | None) -> str | None:
    """The oldest ``attribute`` of ``binary``'s rows (every binary's when None);
    mirrors Service._get_minimum_version.

    Every row counts, down and disabled ones too, as in Cinder; a row with no
    version (a Kilo-era service) raises ServiceTooOld. No row: None.
    """
    rows = [row for row in db.service_get_all() if binary is None or row.binary == binary]
    for row in rows:
        if getattr(row, attribute) is None:
            raise exception.ServiceTooOld(binary=row.binary)
    versions = [getattr(row, attribute) for row in rows]
    return min(versions, key=versionutils.convert_version_to_tuple, default=None)


def determine_rpc_version_cap(binary: str, newest: str) -> str:
    """The oldest ``rpc_current_version`` of ``binary``; mirrors RPCAPI.determine_rpc_version_cap.

    No row: ``newest`` (the services will come up at our version). Cached per
    process, as Cinder caches it until SIGHUP.
    """
    if binary not in LAST_RPC_VERSIONS:
        cap = _minimum_version("rpc_current_version", binary) or newest
        LOG.info(
            "Automatically selected %s RPC version %s as minimum service version.", binary, cap
        )
        LAST_RPC_VERSIONS[binary] = cap
    return LAST_RPC_VERSIONS[binary]


def determine_obj_version_cap(binary: str) -> str:
    """The oldest ``object_current_version`` of ``binary``; mirrors
    RPCAPI.determine_obj_version_cap. No row: this process's own. Cached as the RPC cap."""
    if binary not in LAST_OBJ_VERSIONS:
        cap = _minimum_version("object_current_version", binary) or OBJ_VERSIONS_CURRENT
        LOG.info(
            "Automatically selected %s objects version %s as minimum service version.",
            binary,
            cap,
        )
        LAST_OBJ_VERSIONS[binary] = cap
    return LAST_OBJ_VERSIONS[binary]


def server_obj_version_cap() -> str | None:
    """What an RPC server's serializer sends at: the oldest objects version of every
    service (Service.start in today's Cinder, not cached); None in Kilo."""
    return None if config.is_kilo() else _minimum_version("object_current_version", None)


def reset_version_caps() -> None:
    """Forget the pinned versions, as Cinder's services do on SIGHUP."""
    LAST_RPC_VERSIONS.clear()
    LAST_OBJ_VERSIONS.clear()
