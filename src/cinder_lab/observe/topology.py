"""The live routing topology and which service each consumer is.

Lab-only: it answers the note's question "which consumer serves which
queue?". The broker lists exchanges, queues, bindings and consumers; the lab
adds who each consumer is. oslo.messaging names every connection
``<script>:<pid>:<uuid>`` (client property ``connection_name``), and a queue's
name tells its topic and server (``cinder-backup.maqi-kilo`` is topic
``cinder-backup``, server ``maqi-kilo``), which names a ``services`` row.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field

from cinder_lab import memory_tap, utils
from cinder_lab.db import api as db
from cinder_lab.observe.management import ManagementAPI
from cinder_lab.observe.names import parse_connection_name, parse_queue, service_key


@dataclass
class ServiceInfo:
    """A ``services`` row as ``service-list`` shows it."""

    id: int
    binary: str
    host: str
    zone: str
    status: str  # enabled / disabled
    state: str  # up / down
    updated_at: str | None

    def label(self) -> str:
        """``cinder-backup maqi-kilo (enabled, up)``."""
        return f"{self.binary} {self.host} ({self.status}, {self.state})"


@dataclass
class Exchange:
    """An exchange and its type (topic, fanout, direct)."""

    name: str
    type: str


@dataclass
class Queue:
    """A queue, with the service its name points to (None for reply and tap queues)."""

    name: str
    messages: int
    consumers: int
    kind: str = "other"  # topic, server, fanout, reply, other
    topic: str | None = None
    server: str | None = None
    service: ServiceInfo | None = None
    # In a RabbitMQ cluster: the node the queue (a quorum queue's leader) lives on,
    # and a quorum queue's replicas.
    node: str | None = None
    members: list[str] = field(default_factory=list)

    @property
    def dead_end(self) -> bool:
        """Nobody consumes it: what is routed here waits (or piles up) unseen."""
        return self.consumers == 0


@dataclass
class Binding:
    """Exchange ``source`` routes ``routing_key`` to queue ``destination``."""

    source: str
    routing_key: str
    destination: str


@dataclass
class Consumer:
    """One consumer of one queue, and the process and service behind it."""

    queue: str
    tag: str
    connection: str
    process: str | None = None
    pid: int | None = None
    service: ServiceInfo | None = None
    node: str | None = None  # the broker node its connection is on


@dataclass
class Topology:
    """Everything one vhost (or the in-process broker) holds right now."""

    source: str
    vhost: str
    exchanges: list[Exchange] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)

    def queue(self, name: str) -> Queue | None:
        """The queue called ``name``, or None when the broker has none."""
        return next((q for q in self.queues if q.name == name), None)

    def consumers_of(self, queue: str) -> list[Consumer]:
        """Every consumer of ``queue``."""
        return [c for c in self.consumers if c.queue == queue]

    def dead_ends(self) -> list[Queue]:
        """The queues nobody consumes."""
        return [q for q in self.queues if q.dead_end]

    def nodes(self) -> list[str]:
        """The broker nodes seen: more than one in a cluster."""
        seen = {q.node for q in self.queues} | {c.node for c in self.consumers}
        return sorted(n for n in seen if n)

    def without_amq(self) -> Topology:
        """Hide RabbitMQ's own ``amq.*`` objects and the nameless default exchange."""

        def own(name: str) -> bool:
            return bool(name) and not name.startswith("amq.")

        return Topology(
            source=self.source,
            vhost=self.vhost,
            exchanges=[e for e in self.exchanges if own(e.name)],
            queues=[q for q in self.queues if not q.name.startswith("amq.")],
            bindings=[b for b in self.bindings if own(b.source)],
            consumers=[c for c in self.consumers if not c.queue.startswith("amq.")],
        )

    def to_dict(self) -> dict:
        """The topology as ``topology -f json`` prints it."""
        return asdict(self)


def dead_end_note(q: Queue) -> str:
    """Why nobody consumes ``q``, as far as its name and services row tell."""
    if q.kind == "server":
        if q.service is None:
            return f"no services row {q.topic} {q.server}"
        return f"its service {q.service.binary} {q.service.host} is {q.service.state}"
    if q.kind == "fanout":
        return "a stale fanout queue of a process that is gone"
    if q.kind == "reply":
        return "the reply queue of a caller that is gone"
    if q.kind == "topic":
        return f"no {q.topic} service is running"
    return "not a queue of the lab"


def service_rows() -> dict[tuple[str, str], ServiceInfo]:
    """``(topic, host) -> ServiceInfo`` for every services row."""
    rows = {}
    for s in db.service_get_all():
        rows[(s.topic, s.host)] = ServiceInfo(
            id=s.id,
            binary=s.binary,
            host=s.host,
            zone=s.availability_zone,
            status=utils.service_status(s),
            state=utils.service_state(s),
            updated_at=s.updated_at.isoformat(timespec="seconds") if s.updated_at else None,
        )
    return rows


UNKNOWN = "?"  # a consumer's connection the management API has not reported yet


def attach_services(topo: Topology, rows: dict[tuple[str, str], ServiceInfo]) -> Topology:
    """Name the service behind every queue and consumer.

    A connection (or in-process channel) that consumes a server queue ``T.S``
    is service ``(T, S)``, and so are its other consumers (``T``,
    ``T_fanout_<hex>``). A reply queue belongs to the process: when that pid
    runs a single service, it is that one.
    """
    for q in topo.queues:
        q.kind, q.topic, q.server = parse_queue(q.name)
        if q.kind == "server":
            q.service = rows.get(service_key(q.topic, q.server))
    by_connection: dict[str, ServiceInfo] = {}
    for c in topo.consumers:
        kind, topic, server = parse_queue(c.queue)
        key = service_key(topic, server)
        # A consumer the API lists before its channel details names no connection yet.
        if kind == "server" and key in rows and c.connection != UNKNOWN:
            by_connection[c.connection] = rows[key]
    by_pid: dict[int, set[int]] = {}
    services_by_id: dict[int, ServiceInfo] = {}
    for c in topo.consumers:
        c.service = by_connection.get(c.connection) if c.connection != UNKNOWN else None
        if c.service is not None and c.pid is not None:
            by_pid.setdefault(c.pid, set()).add(c.service.id)
            services_by_id[c.service.id] = c.service
    for c in topo.consumers:
        if c.service is None and c.pid is not None and len(by_pid.get(c.pid, ())) == 1:
            c.service = services_by_id[next(iter(by_pid[c.pid]))]
    return topo


def from_management(api: ManagementAPI) -> Topology:
    """The vhost as RabbitMQ's management API lists it."""
    connections = api.connections()
    conns = {
        c["name"]: (c.get("client_properties") or {}).get("connection_name") for c in connections
    }
    conn_nodes = {c["name"]: c.get("node") for c in connections}
    topo = Topology(source=f"rabbitmq {utils.mask_url(api.url)}", vhost=api.vhost)
    topo.exchanges = sorted(
        (Exchange(e["name"], e["type"]) for e in api.exchanges()), key=lambda e: e.name
    )
    topo.queues = sorted(
        (
            Queue(
                q["name"],
                int(q.get("messages") or 0),
                int(q.get("consumers") or 0),
                node=q.get("leader") or q.get("node"),
                members=sorted(q.get("members") or []),
            )
            for q in api.queues()
        ),
        key=lambda q: q.name,
    )
    topo.bindings = sorted(
        (
            Binding(b["source"], b["routing_key"], b["destination"])
            for b in api.bindings()
            if b.get("destination_type") == "queue"
        ),
        key=lambda b: (b.source, b.routing_key, b.destination),
    )
    for c in api.consumers():
        details = c.get("channel_details") or {}
        conn = details.get("connection_name") or UNKNOWN
        process, pid = parse_connection_name(conns.get(conn))
        consumer = Consumer(c["queue"]["name"], c.get("consumer_tag", ""), conn, process, pid)
        consumer.node = conn_nodes.get(conn)
        topo.consumers.append(consumer)
    topo.consumers.sort(key=lambda c: (c.queue, c.pid or 0, c.tag))
    # Consumer events reach the management API at once; a queue's own counter only
    # with its next statistics emission (every few seconds): count the consumers.
    for q in topo.queues:
        q.consumers = len(topo.consumers_of(q.name))
    return topo


def from_memory() -> Topology:
    """The in-process broker of ``kombu+memory://``: every consumer is this process."""
    pid, process = os.getpid(), os.path.basename(sys.argv[0])
    counts = memory_tap.consumers()
    topo = Topology(source="in-process kombu+memory://", vhost="/")
    topo.exchanges = [Exchange(n, t) for n, t in sorted(memory_tap.exchanges().items())]
    topo.queues = [
        Queue(name, messages, counts.get(name, 0))
        for name, messages in sorted(memory_tap.queues().items())
    ]
    topo.bindings = [Binding(ex, key, q) for ex, key, q in memory_tap.bindings()]
    topo.consumers = [
        Consumer(queue, tag, f"channel-{chan:x}", process, pid)
        for chan, tag, queue in memory_tap.consumer_list()
    ]
    topo.consumers.sort(key=lambda c: (c.queue, c.connection, c.tag))
    return topo


def snapshot(api: ManagementAPI | None = None, show_all: bool = False) -> Topology:
    """The topology with services attached: from ``api``, or the in-process broker."""
    topo = from_management(api) if api is not None else from_memory()
    if not show_all:
        topo = topo.without_amq()
    return attach_services(topo, service_rows())
