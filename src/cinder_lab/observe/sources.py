"""Where the trace's records come from: RabbitMQ's firehose, or the in-process tap.

Lab-only. With tracing on for a vhost, RabbitMQ copies every publish to
exchange ``amq.rabbitmq.trace`` with routing key ``publish.<exchange>`` and
headers ``routed_queues`` (empty: the message was dropped), and every
delivery with ``deliver.<queue>`` and the consuming ``connection``. In the
single-process mode ``memory_tap`` gives the same two streams. Both become
``Raw`` records for ``observe.correlate``.
"""

from __future__ import annotations

import datetime
import itertools
import queue as queue_mod
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from oslo_config import cfg

from cinder_lab import memory_tap, rpc
from cinder_lab.observe import envelope
from cinder_lab.observe.management import ManagementAPI, ManagementError

FIREHOSE = "amq.rabbitmq.trace"


@dataclass
class Raw:
    """A publish or a delivery, as the broker reports it."""

    what: str  # publish / deliver
    exchange: str
    routing_key: str
    queues: list[str]
    envelope: dict
    who: str | None  # the connection (RabbitMQ) or channel (in-process) that did it
    # When it was published: the broker's stamp when it gives one, else when the tap got it.
    time: datetime.datetime = field(default_factory=datetime.datetime.now)
    node: str | None = None  # the broker node that saw it (its connection's node)
    order: int = 0  # the broker's publish order, as the tap received the copies
    # In-process only: sent while serving an RPC message (True) or not (False: the API).
    serving: bool | None = None


# Tap queues; a tap of a trace that turned the firehose on (or took that over) is OWNED.
TAP = "cinder-lab-trace."
OWNED = "cinder-lab-trace.on."


def published_at(properties: dict) -> datetime.datetime | None:
    """The publish time a firehose copy carries, if any: RabbitMQ 3.10 adds none.

    The copy's ``properties`` are the publisher's: its AMQP ``timestamp`` (oslo.messaging
    sets none), or the ``timestamp_in_ms`` header RabbitMQ 3.12+ adds with
    ``message_interceptors.incoming.set_header_timestamp``. Without either, the
    order the copies reach the tap is the broker's order (one node routes and
    copies each publish in turn) and the time is when the tap read it.
    """
    headers = properties.get("headers") or {}
    stamp = headers.get("timestamp_in_ms")
    if isinstance(stamp, int):
        return datetime.datetime.fromtimestamp(stamp / 1000)
    stamp = properties.get("timestamp")
    if isinstance(stamp, datetime.datetime):  # py-amqp reads a table's timestamp as naive UTC
        return stamp.replace(tzinfo=datetime.UTC).astimezone().replace(tzinfo=None)
    if isinstance(stamp, int | float):
        return datetime.datetime.fromtimestamp(stamp)
    return None


class Firehose:
    """RabbitMQ's firehose for one vhost: on while in use, back as it was on exit.

    It binds an exclusive, auto-deleted queue to ``amq.rabbitmq.trace`` with
    ``publish.#`` and ``deliver.#``; closing the connection deletes it. In a
    cluster the trace exchange is shared but its switch is per node: ``others``
    are the other nodes' management APIs, and a node none of them reaches is
    listed in ``untraced`` (its publishes and deliveries are not seen).
    """

    def __init__(
        self,
        api: ManagementAPI,
        connect: Callable[[], object],
        others: Sequence[ManagementAPI] = (),
    ) -> None:
        self.api = api
        self.others = list(others)
        self.connect = connect
        self.was_on = False
        self.nodes: dict[str, ManagementAPI] = {}  # node -> its API: the nodes traced
        self.untraced: list[str] = []
        self._switched: list[ManagementAPI] = []
        self.conn = None
        self.queue = f"{TAP}{uuid.uuid4().hex[:12]}"
        self._inbox: queue_mod.SimpleQueue = queue_mod.SimpleQueue()
        self._known: set[str] = set()
        self._order = itertools.count(1)

    def __enter__(self) -> Firehose:
        self.was_on = self.api.tracing()
        try:
            self._find_nodes()
            self._switch_on()
            if self._switched:
                self.queue = self.queue.replace(TAP, OWNED, 1)
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

    def _find_nodes(self) -> None:
        """Which node each management API answers for; a node's second API is not needed."""
        self.nodes = {self.api.node(): self.api}
        for other in self.others:
            try:
                self.nodes.setdefault(other.node(), other)
            except ManagementError:
                continue  # a node that is down or has no API: listed as untraced below
        try:
            running = self.api.running_nodes()
        except ManagementError:
            running = []  # a user without the monitoring tag may not list nodes
        self.untraced = [n for n in running if n not in self.nodes]

    def _switch_on(self) -> None:
        """Tracing on where it is off; where another cinder-lab trace owns it, share that."""
        owned = any(q.startswith(OWNED) for q in self._taps())
        for api in self.nodes.values():
            if not (self.was_on if api is self.api else api.tracing()):
                api.set_tracing(True)
                self._switched.append(api)
            elif owned:
                # Another cinder-lab trace turned it on: whoever leaves last turns it off.
                self._switched.append(api)

    @property
    def switched(self) -> bool:
        """True when this trace turns tracing off again on exit (if it leaves last)."""
        return bool(self._switched)

    def _taps(self) -> set[str]:
        """The queues bound to the firehose now: every trace's tap, ours included."""
        return {b["destination"] for b in self.api.bindings() if b.get("source") == FIREHOSE}

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
        # Off only when no other trace still taps it: two traces at once must not blind
        # each other.
        if self._switched and not self._taps() - {self.queue}:
            for api in self._switched:
                try:
                    api.set_tracing(False)
                except ManagementError:
                    continue  # a node that went away since: its switch went with it
        self._switched = []

    def _exists(self, name: str) -> bool:
        if name not in self._known and self.api.queue(name) is not None:
            self._known.add(name)
        return name in self._known

    def _to_raw(self, message: object) -> Raw | None:
        headers = message.headers or {}
        key = message.delivery_info.get("routing_key", "")
        exchange = headers.get("exchange_name", "")
        keys = headers.get("routing_keys") or [""]
        body = envelope.decode(message.body)
        who, node = headers.get("connection"), headers.get("node")
        who = who.decode() if isinstance(who, bytes) else who
        node = node.decode() if isinstance(node, bytes) else node
        if key.startswith("publish."):
            routed = [q.decode() if isinstance(q, bytes) else q for q in headers["routed_queues"]]
            if not exchange:
                # The default exchange reports its routing key as routed even when no
                # such queue exists (e.g. the reply queue of a caller that is gone).
                routed = [q for q in routed if q == self.queue or self._exists(q)]
            when = published_at(headers.get("properties") or {})
            raw = Raw("publish", exchange, keys[0], routed, body, who, node=node)
            raw.order = next(self._order)
            raw.time = when or raw.time
            return raw
        if key.startswith("deliver."):
            return Raw("deliver", exchange, key[len("deliver.") :], [], body, who, node=node)
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
            raw = Raw("publish", ev.exchange, ev.routing_key, routed, ev.envelope, None)
            raw.time, raw.order, raw.serving = ev.time or raw.time, ev.order, ev.serving
            self._inbox.put(raw)

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
        """Publishes and deliveries as they come; None when ``poll`` passed with nothing."""
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
