"""What the live page shows, kept current by two threads.

Lab-only. A poller takes a topology snapshot (as ``cinder-lab topology`` does:
the management API, or the in-process broker) and the ``services`` table a few
times a second and publishes them when they change; a tracer follows every
message (as ``cinder-lab trace`` does: RabbitMQ's firehose, or the in-process
broker's tap) and publishes each one with the path it took through the graph:
exchange -> queue -> consumer -> services row, or only the exchange when the
broker dropped it.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator

from cinder_lab import utils
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.observe import envelope, graph_page, sequence, sources, topology, trace
from cinder_lab.observe.management import ManagementAPI
from cinder_lab.web.hub import Hub

LOG = logging.getLogger(__name__)
KEEP_ENVELOPES = 500  # publishes whose envelope waits for its trace event
KEEP_CALLERS = 100  # reply queues whose caller the graph names
STEADY = 2.0  # seconds a consumer the management API stops listing stays on the graph
TAP_QUEUE = sources.TAP  # the firehose tap's own queues


def services() -> list[dict]:
    """The ``services`` table as ``service-list`` shows it, with each heartbeat's age."""
    now = utils.utcnow()
    rows = []
    for s in db.service_get_all():
        last = s.updated_at or s.created_at
        rows.append(
            {
                "id": s.id,
                "binary": s.binary,
                "host": s.host,
                "zone": s.availability_zone,
                "status": "disabled" if s.disabled else "enabled",
                "state": utils.service_state(s),
                "updated_at": s.updated_at.isoformat(timespec="seconds") if s.updated_at else None,
                "age": round((now - last).total_seconds(), 1) if last else None,
            }
        )
    return sorted(rows, key=lambda r: r["id"])


def view(topo: topology.Topology, callers: dict[str, str] | None = None) -> dict:
    """The graph, the services and the dead ends of one snapshot, as the page wants them.

    ``callers``: reply queue -> who made the call that uses it (in use, not a dead end).
    """
    callers = callers or {}
    return {
        "source": topo.source,
        "vhost": topo.vhost,
        "elements": graph_page.elements(topo, callers),
        "services": services(),
        "dead_ends": [
            {"queue": q.name, "messages": q.messages, "note": topology.dead_end_note(q)}
            for q in topo.dead_ends()
            if q.name not in callers
        ],
        "service_down_time": CONF.service_down_time,
        "report_interval": CONF.report_interval,
    }


def _unchanged(a: dict | None, b: dict) -> bool:
    # Heartbeat ages grow every poll; the page counts them on by itself.
    def strip(v: dict) -> str:
        rows = [{k: x for k, x in r.items() if k != "age"} for r in v["services"]]
        return json.dumps({**v, "services": rows}, sort_keys=True)

    return a is not None and strip(a) == strip(b)


def paths(topo: topology.Topology, exchange: str, queues: list[str], took: list[str]) -> list:
    """Node ids a message travelled: one path per routed queue; only the exchange if dropped."""
    start = f"ex:{exchange}"
    if not queues:
        return [[start]]
    out = []
    for name in queues:
        path = [start, f"q:{name}"]
        consumers = topo.consumers_of(name)
        # Several consumers (a topic queue of two backends): the one the tracer says took it.
        named = [
            c
            for c in consumers
            if c.service and any(f"{c.service.binary} {c.service.host} " in t for t in took)
        ]
        pick = (named or consumers or [None])[0]
        if pick is not None and took:
            path.append(f"consumer:{pick.connection}")
            if pick.service is not None:
                path.append(f"svc:{pick.service.id}")
        out.append(path)
    return out


def _mask(value: object) -> object:
    """Passwords out of every URL in a decoded message, at any depth."""
    if isinstance(value, str):
        return utils.mask_url(value) if "://" in value else value
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


class Watcher:
    """The poller and tracer threads of one page server, against a broker or in-process.

    ``api`` is the broker's management API; None means the in-process broker of
    ``kombu+memory://`` (the services must then run in this process).
    """

    def __init__(self, hub: Hub, api: ManagementAPI | None, interval: float = 0.5) -> None:
        self.hub = hub
        self.api = api
        self.interval = interval
        self.stop = threading.Event()
        self.topo: topology.Topology | None = None
        self.current: dict | None = None
        self.error: str | None = None
        self._seq = itertools.count(1)
        self._envelopes: collections.OrderedDict[str, tuple] = collections.OrderedDict()
        self._threads: list[threading.Thread] = []
        self._missing: dict[tuple[str, str], float] = {}  # consumer -> when it went unlisted
        self._refreshing = threading.Lock()
        # Reply queue -> its caller, from the calls seen: the graph names the caller.
        self.callers: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._sequence = sequence.Sequence()  # each message as an arrow of its request

    def start(self) -> Watcher:
        self.refresh()
        for target in (self._poll, self._trace):
            self._threads.append(utils.spawn(target, f"web-{target.__name__[1:]}"))
        return self

    def close(self) -> None:
        """Stop both threads; the tracer turns the firehose back off on its way out."""
        self.stop.set()
        for t in self._threads:
            t.join(timeout=10)

    # -- the topology --------------------------------------------------------------

    def refresh(self) -> dict | None:
        """Take a snapshot now; publish it if anything but heartbeat ages changed."""
        with self._refreshing:  # the poller, the tracer and a request may all ask at once
            return self._refresh()

    def _refresh(self) -> dict | None:
        try:
            topo = self._snapshot()
            current = view(topo, self._callers_of(topo))
        except Exception as e:  # noqa: BLE001 - a story may be switching config; try again
            error = (
                f"{type(e).__name__}: {utils.mask_url(str(e).splitlines()[0] if str(e) else '')}"
            )
            if error != self.error:
                LOG.warning("topology: %s", error)
                self.error = error
                self.hub.publish("status", {"error": error})
            return self.current
        if self.error is not None:
            self.error = None
            self.hub.publish("status", {"error": None})
        self.topo = topo
        if not _unchanged(self.current, current):
            self.hub.publish("topology", current)
        self.current = current
        self.hub.latest["topology"] = current  # a new page gets the ages of now
        return current

    def _callers_of(self, topo: topology.Topology) -> dict[str, str]:
        """The callers of the reply queues that still exist."""
        return {q: who for q, who in list(self.callers.items()) if topo.queue(q) is not None}

    def _note_caller(self, ev: trace.TraceEvent, msg: dict) -> None:
        """A call names its reply queue (``_reply_q``): remember who is waiting on it."""
        reply_q = msg.get("_reply_q")
        if ev.kind != "call" or not isinstance(reply_q, str):
            return
        # On a broker each process has its own connection, so the sender is known; a guess
        # ("[same request id]") is not a name. In-process every service shares one
        # transport and its reply queue: the call's method is what is known.
        who = ev.publisher or ""
        if self.api is None or not who or " [" in who:
            who = f"the caller of {ev.method}"
        self._set_caller(reply_q, who)

    def _set_caller(self, reply_q: str, who: str) -> None:
        self.callers[reply_q] = who
        self.callers.move_to_end(reply_q)
        while len(self.callers) > KEEP_CALLERS:
            self.callers.popitem(last=False)

    def _snapshot(self) -> topology.Topology:
        """As ``topology`` sees it, less this server's own firehose tap queue, and steadier.

        The management API may list a consumer for a moment without its channel's
        connection; it keeps the connection it had in the previous snapshot, so the
        graph does not lose and regain its service box.
        """
        if self.api is None:
            return topology.snapshot(None)
        topo = topology.from_management(self.api).without_amq()
        topo.queues = [q for q in topo.queues if not q.name.startswith(TAP_QUEUE)]
        topo.consumers = [c for c in topo.consumers if not c.queue.startswith(TAP_QUEUE)]
        known = {(c.queue, c.tag): c for c in self.topo.consumers} if self.topo else {}
        for c in topo.consumers:
            old = known.get((c.queue, c.tag))
            if c.connection == topology.UNKNOWN and old and old.connection != topology.UNKNOWN:
                c.connection, c.process, c.pid = old.connection, old.process, old.pid
        self._keep_vanished(topo, known)
        return topology.attach_services(topo, topology.service_rows())

    def _keep_vanished(self, topo: topology.Topology, known: dict) -> None:
        """A consumer the API stops listing while its queue stays is kept for ``STEADY`` s.

        The listing of consumers can miss one for a poll; a consumer really gone
        (its process stopped) leaves the graph that much later.
        """
        now = time.monotonic()
        listed = {(c.queue, c.tag) for c in topo.consumers}
        queues = {q.name for q in topo.queues}
        for key, c in known.items():
            if key in listed or c.queue not in queues:
                self._missing.pop(key, None)
                continue
            since = self._missing.setdefault(key, now)
            if now - since < STEADY:
                topo.consumers.append(c)
        for q in topo.queues:
            q.consumers = len(topo.consumers_of(q.name))

    def _poll(self) -> None:
        while not self.stop.wait(self.interval):
            self.refresh()

    # -- the messages --------------------------------------------------------------

    def _remember(self, records: Iterator) -> Iterator:
        """Keep each publish's decoded envelope until its trace event is emitted."""
        for raw in records:
            if raw is not None and raw.what == "publish":
                msg = envelope.oslo_message(raw.envelope)
                key = msg.get("_unique_id")
                if key:
                    self._envelopes[key] = (raw.envelope.get("oslo.version"), msg)
                if isinstance(msg.get("_reply_q"), str) and msg["_reply_q"] not in self.callers:
                    # At its publish, before the broker lists the queue's consumer.
                    self._set_caller(msg["_reply_q"], f"the caller of {msg.get('method')}")
                    while len(self._envelopes) > KEEP_ENVELOPES:
                        self._envelopes.popitem(last=False)
            yield raw

    def _emit(self, ev: trace.TraceEvent) -> None:
        version, msg = self._envelopes.pop(ev.unique_id or "", (None, {}))
        self._note_caller(ev, msg)
        topo = self.topo
        if topo is None or any(topo.queue(q) is None for q in ev.queues):
            self.refresh()  # a queue born a moment ago (a caller's reply queue)
            topo = self.topo
        data = {
            **ev.to_dict(),
            "seq": next(self._seq),
            "paths": paths(topo, ev.exchange, ev.queues, ev.consumed_by) if topo else [],
            "oslo_version": version,
            "envelope": _mask(msg),
            "arrow": self._sequence.arrow(ev).to_dict(),
        }
        self.hub.publish("message", _mask(data))

    def _trace(self) -> None:
        try:
            if self.api is None:
                with trace.MemoryTap() as tap:
                    correlator = trace.Correlator(trace.memory_resolver(), grace=1.0)
                    records = self._remember(tap.records(poll=0.1))
                    trace.run(records, correlator, self._emit, stop=self.stop)
                return
            others = ManagementAPI.other_nodes(CONF, self.api)
            with trace.Firehose(self.api, trace.amqp_connection(CONF), others) as hose:
                # A delivery's firehose copy may lag its publish on a busy broker: wait
                # longer than ``trace`` before calling a message "waiting in its queue".
                correlator = trace.Correlator(trace.rabbit_resolver(self.api), grace=3.0)
                records = self._remember(hose.records(poll=0.1))
                trace.run(records, correlator, self._emit, stop=self.stop)
        except Exception as e:  # noqa: BLE001 - the page says so instead of going quiet
            LOG.error("tracer stopped: %s", utils.mask_url(str(e)))
            self.hub.publish("status", {"error": f"tracer stopped: {utils.mask_url(str(e))}"})
