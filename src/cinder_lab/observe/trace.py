"""Every RPC message as it passes: where it was sent, where it went, who took it.

Lab-only; it answers the note's question "can I print the RPC messages as they
pass?". On RabbitMQ it reads the firehose: with tracing on for a vhost, the
broker copies every publish to exchange ``amq.rabbitmq.trace`` with routing
key ``publish.<exchange>`` and headers ``routed_queues`` (empty: the message
was dropped), and every delivery with ``deliver.<queue>`` and the consuming
``connection``. A tap queue bound with ``#`` to the control exchange would
miss replies, fanouts and dropped casts; the firehose sees them all. In the
single-process mode the in-process broker (``memory_tap``) gives the same
two streams.
"""

from __future__ import annotations

import datetime
import json
import queue as queue_mod
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from oslo_config import cfg

from cinder_lab import memory_tap, rpc, utils
from cinder_lab.observe import topology
from cinder_lab.observe.management import ManagementAPI

FIREHOSE = "amq.rabbitmq.trace"
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"',]+", re.I)


@dataclass
class Raw:
    """A publish or a delivery, as the broker reports it."""

    what: str  # publish / deliver
    exchange: str
    routing_key: str
    queues: list[str]
    envelope: dict
    who: str | None  # the connection (RabbitMQ) or channel (in-process) that did it
    time: datetime.datetime = field(default_factory=datetime.datetime.now)


@dataclass
class TraceEvent:
    """One message, decoded from the oslo envelope, with its fate."""

    time: str
    kind: str  # cast, call, fanout, reply, other
    exchange: str
    routing_key: str
    queues: list[str]
    method: str | None = None
    args: dict | None = None
    request_id: str | None = None
    msg_id: str | None = None
    reply_queue: str | None = None
    reply_to: str | None = None  # for a reply: the method of the call it answers
    publisher: str | None = None
    consumed_by: list[str] = field(default_factory=list)
    unique_id: str | None = None

    @property
    def dropped(self) -> bool:
        """The broker routed it to no queue: it is gone, and the sender was not told."""
        return not self.queues

    def to_dict(self) -> dict:
        return {**asdict(self), "dropped": self.dropped}


def oslo_message(envelope: dict) -> dict:
    """The message inside ``{"oslo.version": "2.0", "oslo.message": "<json>"}``."""
    inner = envelope.get("oslo.message")
    if isinstance(inner, str):
        try:
            value = json.loads(inner)
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}
    return envelope


def classify(exchange: str, msg: dict) -> str:
    """cast, call, fanout or reply, told apart the way oslo.messaging marks them."""
    if "method" not in msg:
        return "reply" if ("result" in msg or "failure" in msg or "ending" in msg) else "other"
    if exchange.endswith("_fanout"):
        return "fanout"
    return "call" if "_reply_q" in msg else "cast"


# The envelope decoding is the in-process broker's: one decoder for both views.
decode_body = memory_tap.decode_envelope


def make_event(raw: Raw) -> TraceEvent:
    msg = oslo_message(raw.envelope)
    return TraceEvent(
        time=raw.time.isoformat(timespec="milliseconds"),
        kind=classify(raw.exchange, msg),
        exchange=raw.exchange,
        routing_key=raw.routing_key,
        queues=list(raw.queues),
        method=msg.get("method"),
        args=msg.get("args"),
        request_id=msg.get("_context_request_id"),
        msg_id=msg.get("_msg_id"),
        reply_queue=msg.get("_reply_q"),
        unique_id=msg.get("_unique_id"),
    )


def _key(raw: Raw) -> str:
    # oslo stamps every message with a _unique_id; the firehose copies the body as is.
    msg = oslo_message(raw.envelope)
    return msg.get("_unique_id") or json.dumps(raw.envelope, sort_keys=True)


class Correlator:
    """Holds each publish until its routed queues were delivered from, or ``grace`` passed.

    Who sent and who took a message comes from the connection the broker
    names; when the management API does not list that connection (yet: it
    refreshes every few seconds; or no more: a short-lived client), the lab
    infers it, and says so: a server queue ``T.S`` names its service, a
    message carrying the request id of one a service just took came from that
    service, a reply comes from the service that took the call and goes back
    to the caller.
    """

    def __init__(self, who: Callable[[str | None], str | None], grace: float = 1.0) -> None:
        self.who = who
        self.grace = grace
        self.pending: dict[str, tuple[float, TraceEvent, list]] = {}
        self.calls: dict[str, TraceEvent] = {}  # msg_id -> the call, to explain its reply
        self.by_request: dict[str, str] = {}  # request id -> the service that last took it

    def add(self, raw: Raw) -> None:
        if raw.what == "publish":
            ev = make_event(raw)
            # Resolve the sender now: a short-lived client may be gone a moment later.
            ev.publisher = self.who(raw.who) if raw.who else None
            if ev.kind == "call" and ev.msg_id:
                self.calls[ev.msg_id] = ev
            if ev.kind == "reply" and ev.msg_id and ev.msg_id in self.calls:
                ev.reply_to = self.calls[ev.msg_id].method
            self.pending[_key(raw)] = (time.monotonic(), ev, [])
        else:
            entry = self.pending.get(_key(raw))
            if entry is not None:
                entry[2].append((raw.who, raw.routing_key))

    def _consumer(self, ev: TraceEvent, conn: str | None, queue: str) -> str:
        label = self.who(conn)
        if label:
            return label
        kind, topic, server = topology.parse_queue(queue)
        if kind == "server":
            return f"{topic} {server} [by its queue name]"
        if kind == "reply" and ev.msg_id in self.calls and self.calls[ev.msg_id].publisher:
            return f"{self.calls[ev.msg_id].publisher.split(' [')[0]} [the caller]"
        return f"connection {conn} [not listed by the broker]"

    def _finish(self, ev: TraceEvent, deliveries: list) -> TraceEvent:
        several = len(ev.queues) > 1
        ev.consumed_by = [
            self._consumer(ev, conn, queue) + (f" from {queue}" if several else "")
            for conn, queue in deliveries
        ]
        if ev.publisher is None:
            call = self.calls.get(ev.msg_id or "")
            if ev.kind == "reply" and call is not None and call.consumed_by:
                ev.publisher = f"{call.consumed_by[0].split(' [')[0]} [it took the call]"
            elif ev.request_id in self.by_request:
                ev.publisher = f"{self.by_request[ev.request_id]} [same request id]"
        if ev.request_id and ev.consumed_by and ev.kind != "reply":
            self.by_request[ev.request_id] = ev.consumed_by[0].split(" [")[0]
        return ev

    def ready(self, flush: bool = False) -> list[TraceEvent]:
        """Events whose fate is known: every routed queue delivered, or waited long enough."""
        now = time.monotonic()
        out = []
        for key, (since, ev, deliveries) in sorted(
            self.pending.items(), key=lambda i: i[1][1].time
        ):
            done = ev.dropped or len(deliveries) >= len(ev.queues)
            if flush or done or now - since >= self.grace:
                out.append(self._finish(ev, deliveries))
                del self.pending[key]
        return out


# -- who is a connection ----------------------------------------------------------------


class Resolver:
    """Connection (or in-process channel) -> "binary host (pid N)", from a topology snapshot."""

    def __init__(self, snapshot: Callable[[], topology.Topology], names: Callable[[], dict]):
        self._snapshot = snapshot
        self._names = names  # connection -> (script, pid)
        self._cache: dict[str, str] = {}
        self._last = 0.0

    def _refresh(self) -> None:
        self._last = time.monotonic()
        topo = self._snapshot()
        names = self._names()
        by_pid: dict[int, set[str]] = {}
        for c in topo.consumers:
            if c.service is not None:
                label = f"{c.service.binary} {c.service.host} (pid {c.pid})"
                self._cache[c.connection] = label
                if c.pid is not None:
                    by_pid.setdefault(c.pid, set()).add(label)
        for conn, (script, pid) in names.items():
            if conn not in self._cache:
                labels = by_pid.get(pid, set()) if pid else set()
                self._cache[conn] = (
                    next(iter(labels)) if len(labels) == 1 else f"{script or '?'} (pid {pid})"
                )

    def __call__(self, conn: str | None) -> str | None:
        """The label of ``conn``, or None when the broker does not list it."""
        if conn is None:
            return None
        if conn not in self._cache and time.monotonic() - self._last > 0.05:
            self._refresh()
        return self._cache.get(conn)


# -- sources ------------------------------------------------------------------------------


class Firehose:
    """RabbitMQ's firehose for one vhost: on while in use, back as it was on exit.

    It binds an exclusive, auto-deleted queue to ``amq.rabbitmq.trace`` with
    ``publish.#`` and ``deliver.#``; closing the connection deletes it.
    """

    def __init__(self, api: ManagementAPI, connect: Callable[[], object]) -> None:
        self.api = api
        self.connect = connect
        self.was_on = False
        self.switched = False
        self.conn = None
        self.queue = f"cinder-lab-trace.{uuid.uuid4().hex[:12]}"
        self._inbox: queue_mod.SimpleQueue = queue_mod.SimpleQueue()
        self._known: set[str] = set()

    def __enter__(self) -> Firehose:
        self.was_on = self.api.tracing()
        try:
            if not self.was_on:
                self.api.set_tracing(True)
                self.switched = True
            self.conn = self.connect()
            channel = self.conn.channel()
            channel.queue_declare(self.queue, exclusive=True, auto_delete=True)
            for key in ("publish.#", "deliver.#"):
                channel.queue_bind(self.queue, FIREHOSE, key)
            channel.basic_consume(self.queue, no_ack=True, callback=self._on_message)
            self._known = {q["name"] for q in self.api.queues()}
        except BaseException:
            self.close()
            raise
        return self

    def _on_message(self, message: object) -> None:
        self._inbox.put(message)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the tap (its queue goes with it) and turn tracing off if we turned it on."""
        if self.conn is not None:
            try:
                self.conn.release()
            finally:
                self.conn = None
        if self.switched:
            self.api.set_tracing(False)
            self.switched = False

    def _exists(self, name: str) -> bool:
        if name not in self._known and self.api.queue(name) is not None:
            self._known.add(name)
        return name in self._known

    def _to_raw(self, message: object) -> Raw | None:
        headers = message.headers or {}  # type: ignore[attr-defined]
        key = message.delivery_info.get("routing_key", "")  # type: ignore[attr-defined]
        exchange = headers.get("exchange_name", "")
        keys = headers.get("routing_keys") or [""]
        envelope = decode_body(message.body)  # type: ignore[attr-defined]
        who = headers.get("connection")
        if isinstance(who, bytes):
            who = who.decode()
        if key.startswith("publish."):
            routed = [q.decode() if isinstance(q, bytes) else q for q in headers["routed_queues"]]
            if not exchange:
                # The default exchange reports its routing key as routed even when no
                # such queue exists (e.g. the reply queue of a caller that is gone).
                routed = [q for q in routed if q == self.queue or self._exists(q)]
            return Raw("publish", exchange, keys[0], routed, envelope, who)
        if key.startswith("deliver."):
            return Raw("deliver", exchange, key[len("deliver.") :], [], envelope, who)
        return None

    def records(self, poll: float = 0.2) -> Iterator[Raw | None]:
        """Publishes and deliveries as they come; None when ``poll`` passed with nothing."""
        assert self.conn is not None
        while True:
            try:
                self.conn.drain_events(timeout=poll)
            except TimeoutError:
                pass
            got = False
            while not self._inbox.empty():
                raw = self._to_raw(self._inbox.get())
                if raw is not None:
                    got = True
                    yield raw
            if not got:
                yield None


class MemoryTap:
    """The same two streams from the in-process broker of ``kombu+memory://``."""

    def __init__(self) -> None:
        self._inbox: queue_mod.SimpleQueue = queue_mod.SimpleQueue()
        self._unsubscribe: list[Callable[[], None]] = []

    def __enter__(self) -> MemoryTap:
        def published(ev: memory_tap.Published) -> None:
            existing = memory_tap.queues()
            routed = [q for q in ev.queues if q in existing]
            self._inbox.put(Raw("publish", ev.exchange, ev.routing_key, routed, ev.envelope, None))

        def delivered(ev: memory_tap.Delivered) -> None:
            who = f"channel-{ev.channel:x}"
            self._inbox.put(Raw("deliver", "", ev.queue, [], ev.envelope, who))

        self._unsubscribe = [
            memory_tap.subscribe(published),
            memory_tap.subscribe_deliveries(delivered),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def records(self, poll: float = 0.2) -> Iterator[Raw | None]:
        while True:
            try:
                yield self._inbox.get(timeout=poll)
            except queue_mod.Empty:
                yield None


def amqp_connection(conf: cfg.ConfigOpts) -> Callable[[], object]:
    """A factory of opened kombu connections to the first broker of ``transport_url``."""

    def connect() -> object:
        conn = rpc.kombu_connection(conf, connect_timeout=5)
        conn.ensure_connection(max_retries=conf.rpc_connect_retries)
        return conn

    return connect


def memory_resolver() -> Resolver:
    """Who an in-process channel is: the service whose server queue it consumes."""

    def names() -> dict:
        return {c.connection: (c.process, c.pid) for c in topology.from_memory().consumers}

    return Resolver(lambda: topology.snapshot(None), names)


def rabbit_resolver(api: ManagementAPI) -> Resolver:
    """Who a RabbitMQ connection is, from the management API's connections and consumers."""

    def names() -> dict:
        return {
            c["name"]: topology.parse_connection_name(
                (c.get("client_properties") or {}).get("connection_name")
            )
            for c in api.connections()
        }

    return Resolver(lambda: topology.snapshot(api), names)


def run(
    records: Iterator[Raw | None],
    correlator: Correlator,
    emit: Callable[[TraceEvent], None],
    count: int | None = None,
    timeout: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Feed records to the correlator and emit events until ``count``, ``timeout`` or ``stop``."""
    deadline = time.monotonic() + timeout if timeout else None
    emitted = 0
    for raw in records:
        if raw is not None:
            correlator.add(raw)
        over = (deadline is not None and time.monotonic() >= deadline) or bool(
            stop and stop.is_set()
        )
        for ev in correlator.ready(flush=over):
            emit(ev)
            emitted += 1
            if count is not None and emitted >= count:
                return emitted
        if over:
            return emitted
    return emitted


# -- text ---------------------------------------------------------------------------------


def format_event(ev: TraceEvent) -> str:
    """Two or three lines a learner can read as the messages pass."""
    clock = ev.time[11:23] if len(ev.time) > 11 else ev.time
    what = ev.method or (f"reply to {ev.reply_to}" if ev.reply_to else "(reply)")
    exchange = ev.exchange or "(default)"
    head = f"{clock} {ev.kind.upper():<6} {what}  exchange={exchange} routing_key={ev.routing_key}"
    if ev.dropped:
        fate = "!! DROPPED: the broker routed it to NO queue; the sender was not told"
    else:
        took = "; ".join(ev.consumed_by) if ev.consumed_by else "nobody yet (waits in the queue)"
        fate = f"-> {', '.join(ev.queues)}  consumed by {took}"
    lines = [head, f"{'':13}{fate}"]
    details = []
    if ev.args:
        details.append(f"args={json.dumps(ev.args, sort_keys=True)}")
    if ev.request_id:
        details.append(f"request_id={ev.request_id}")
    if ev.reply_queue:
        details.append(f"reply_queue={ev.reply_queue}")
    if ev.msg_id:
        details.append(f"msg_id={ev.msg_id}")
    if ev.publisher:
        details.append(f"from {ev.publisher}")
    if details:
        lines.append(f"{'':13}" + " ".join(details))
    # Mask only what looks like a URL: mask_url on JSON text would eat 'a": "b@c'.
    return _URL.sub(lambda m: utils.mask_url(m.group(0)), "\n".join(lines))
