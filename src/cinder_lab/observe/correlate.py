"""Who sent a traced message, where it went, and who took it.

Lab-only. A publish is held until every queue it was routed to was delivered
from (or a grace period passed); the connection names the broker reports are
turned into services with the topology (``observe.topology``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from cinder_lab.observe import envelope, topology
from cinder_lab.observe.management import ManagementAPI
from cinder_lab.observe.names import parse_connection_name, parse_queue
from cinder_lab.observe.sources import Raw


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
    # In a RabbitMQ cluster: the node the sender's connection is on, and each consumer's.
    node: str | None = None
    delivered_on: list[str | None] = field(default_factory=list)
    unique_id: str | None = None
    version: str | None = None  # the RPC API version the sender asked for
    message: dict | None = None  # the whole oslo message: ``trace -f json`` keeps it all
    order: int = 0  # the broker's publish order (``time`` may be equal for two)
    # The request it belongs to: its own request id, or for a reply (which carries no
    # context) its call's.
    request: str | None = None
    # In-process: sent while serving an RPC message, or not (the API); None on RabbitMQ.
    serving: bool | None = None

    @property
    def dropped(self) -> bool:
        """The broker routed it to no queue: it is gone, and the sender was not told."""
        return not self.queues

    def to_dict(self) -> dict:
        """The event as ``trace -f json`` prints it, with ``dropped``."""
        return {**asdict(self), "dropped": self.dropped}


def make_event(raw: Raw) -> TraceEvent:
    """A publish record as an event: its kind and the oslo fields a learner reads."""
    msg = envelope.oslo_message(raw.envelope)
    return TraceEvent(
        time=raw.time.isoformat(timespec="milliseconds"),
        kind=envelope.classify(raw.exchange, raw.routing_key, msg),
        exchange=raw.exchange,
        routing_key=raw.routing_key,
        queues=list(raw.queues),
        method=msg.get("method"),
        args=msg.get("args"),
        request_id=msg.get("_context_request_id"),
        msg_id=msg.get("_msg_id"),
        reply_queue=msg.get("_reply_q"),
        unique_id=msg.get("_unique_id"),
        version=msg.get("version"),
        message=msg,
        node=raw.node,
        order=raw.order,
        request=msg.get("_context_request_id"),
        serving=raw.serving,
    )


REPORTS = ("update_service_capabilities", "notify_service_capabilities")


def _reporter(ev: TraceEvent) -> str | None:
    """A capability report names its sender: ``service_name`` ('volume') and its host."""
    args = ev.args or {}
    host = args.get("host") or args.get("backend")
    if ev.method not in REPORTS or not args.get("service_name") or not host:
        return None
    name = str(args["service_name"])
    return f"{name if name.startswith('cinder-') else 'cinder-' + name} {host}"


def _key(raw: Raw) -> str:
    # oslo stamps every message with a _unique_id; the firehose copies the body as is.
    msg = envelope.oslo_message(raw.envelope)
    return msg.get("_unique_id") or json.dumps(raw.envelope, sort_keys=True)


class Correlator:
    """Holds each publish until its routed queues were delivered from, or ``grace`` passed.

    Who sent and who took a message comes from the connection the broker
    names; when the management API does not list that connection (yet: it
    refreshes every few seconds; or no more: a short-lived client), the lab
    infers it, and says so: a server queue ``T.S`` names its service, a
    message carrying the request id of one a service just took came from that
    service (or from the caller a reply just answered), a reply comes from the
    service that took the call and goes back to the caller, a capability report
    names its service in its arguments.
    """

    def __init__(self, who: Callable[[str | None], str | None], grace: float = 1.0) -> None:
        self.who = who
        self.grace = grace
        self.pending: dict[str, tuple[float, TraceEvent, list]] = {}
        self.calls: dict[str, TraceEvent] = {}  # msg_id -> the call, to explain its reply
        self.by_request: dict[str, str] = {}  # request id -> the service that last took it

    def add(self, raw: Raw) -> None:
        """Hold a publish; note a delivery against the publish it copies."""
        if raw.what == "publish":
            ev = make_event(raw)
            # Resolve the sender now: a short-lived client may be gone a moment later.
            ev.publisher = self.who(raw.who) if raw.who else None
            if ev.kind == "call" and ev.msg_id:
                self.calls[ev.msg_id] = ev
            if ev.kind == "reply" and ev.msg_id and ev.msg_id in self.calls:
                ev.reply_to = self.calls[ev.msg_id].method
                ev.request = self.calls[ev.msg_id].request
            self.pending[_key(raw)] = (time.monotonic(), ev, [])
        else:
            entry = self.pending.get(_key(raw))
            if entry is not None:
                entry[2].append((raw.who, raw.routing_key, raw.node))

    def _consumer(self, ev: TraceEvent, conn: str | None, queue: str) -> str:
        label = self.who(conn)
        kind, topic, server = parse_queue(queue)
        if label and kind == "server" and conn in getattr(self.who, "provisional", ()):
            # Only a service consumes its own server queue: the queue names it, the label its pid.
            return f"{topic} {server} {label[label.find('(pid ') :]}".rstrip()
        if label:
            return label
        if kind == "server":
            return f"{topic} {server} [by its queue name]"
        if kind == "reply" and ev.msg_id in self.calls and self.calls[ev.msg_id].publisher:
            return f"{self.calls[ev.msg_id].publisher.split(' [')[0]} [the caller]"
        return f"connection {conn} [not listed by the broker]"

    def _finish(self, ev: TraceEvent, deliveries: list) -> TraceEvent:
        several = len(ev.queues) > 1
        ev.consumed_by = [
            self._consumer(ev, conn, queue) + (f" from {queue}" if several else "")
            for conn, queue, _node in deliveries
        ]
        ev.delivered_on = [node for _conn, _queue, node in deliveries]
        if ev.publisher is None:
            call = self.calls.get(ev.msg_id or "")
            if ev.kind == "reply" and call is not None and call.consumed_by:
                ev.publisher = f"{call.consumed_by[0].split(' [')[0]} [it took the call]"
            elif ev.request_id in self.by_request and ev.serving is not False:
                # Not when the API (in-process, seen serving nothing) sends again with its id.
                ev.publisher = f"{self.by_request[ev.request_id]} [same request id]"
            elif _reporter(ev):
                ev.publisher = f"{_reporter(ev)} [named in its args]"
        if ev.request_id and ev.consumed_by and ev.kind != "reply":
            self.by_request[ev.request_id] = ev.consumed_by[0].split(" [")[0]
        call = self.calls.get(ev.msg_id or "") if ev.kind == "reply" else None
        if call is not None and call.request_id and call.publisher:
            # The answer hands the request back: the caller sends its next message.
            self.by_request[call.request_id] = call.publisher.split(" [")[0]
        return ev

    def ready(self, flush: bool = False) -> list[TraceEvent]:
        """Events whose fate is known: every routed queue delivered, or waited long enough."""
        now = time.monotonic()
        out = []
        for key, (since, ev, deliveries) in sorted(
            self.pending.items(), key=lambda i: (i[1][1].time, i[1][1].order)
        ):
            done = ev.dropped or len(deliveries) >= len(ev.queues)
            if flush or done or now - since >= self.grace:
                out.append(self._finish(ev, deliveries))
                del self.pending[key]
        return out


class Resolver:
    """Connection (or in-process channel) -> "binary host (pid N)", from a topology snapshot."""

    def __init__(self, snapshot: Callable[[], topology.Topology], names: Callable[[], dict]):
        self._snapshot = snapshot
        self._names = names  # connection -> (script, pid)
        self._cache: dict[str, str] = {}
        # Connections named only by their script: no consumer of theirs was tied to a row yet.
        self.provisional: set[str] = set()
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
                self.provisional.discard(c.connection)
                if c.pid is not None:
                    by_pid.setdefault(c.pid, set()).add(label)
        for conn, (script, pid) in names.items():
            if conn not in self._cache or conn in self.provisional:
                labels = by_pid.get(pid, set()) if pid else set()
                if len(labels) == 1:
                    self._cache[conn] = next(iter(labels))
                    self.provisional.discard(conn)
                else:
                    self._cache[conn] = f"{script or '?'} (pid {pid})"
                    self.provisional.add(conn)

    def __call__(self, conn: str | None) -> str | None:
        """The label of ``conn``, or None when the broker does not list it."""
        if conn is None:
            return None
        since = time.monotonic() - self._last
        if (conn not in self._cache and since > 0.05) or (conn in self.provisional and since > 0.5):
            self._refresh()
        return self._cache.get(conn)


def memory_resolver() -> Resolver:
    """Who an in-process channel is: the service whose server queue it consumes."""

    def names() -> dict:
        return {c.connection: (c.process, c.pid) for c in topology.from_memory().consumers}

    return Resolver(lambda: topology.snapshot(None), names)


def rabbit_resolver(api: ManagementAPI) -> Resolver:
    """Who a RabbitMQ connection is, from the management API's connections and consumers."""

    def names() -> dict:
        return {
            c["name"]: parse_connection_name(
                (c.get("client_properties") or {}).get("connection_name")
            )
            for c in api.connections()
        }

    return Resolver(lambda: topology.snapshot(api), names)
