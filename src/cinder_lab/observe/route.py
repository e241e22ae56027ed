"""How a request would travel, explained without sending anything.

Lab-only. For a volume (or a bare host string) it shows ``extract_host`` at
each level, the RPC target the rpcapi module would build, the exchange,
routing key and queue, and who consumes that queue now. When the route is
dead it says why, with the checks ``backup/api.py`` makes before it casts
(no cinder-backup row for that host, disabled, down, another availability
zone) and what the broker would do (no such queue: dropped; no consumer:
the message waits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import oslo_messaging as messaging
import oslo_messaging.opts

from cinder_lab import utils
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.observe.topology import Topology
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass
class Route:
    """Ordered fields of the explanation, and its one-line verdict."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    ok: bool = True
    verdict: str = ""

    def add(self, name: str, value: object) -> None:
        """Append a field (``-`` for None)."""
        self.fields.append((name, "-" if value is None else str(value)))

    def refuse(self, verdict: str) -> None:
        """Mark the route dead; the first reason found is the verdict."""
        if self.ok:
            self.ok, self.verdict = False, verdict


def control_exchange() -> str:
    """The exchange topic queues bind to: ``control_exchange``, 'openstack' in Cinder."""
    messaging.set_transport_defaults(control_exchange="openstack")
    for group, opts in oslo_messaging.opts.list_opts():
        if group in (None, "DEFAULT"):
            CONF.register_opts([o for o in opts if o.name == "control_exchange"])
    return CONF.control_exchange


def _age(row: models.Service) -> str:
    last = row.updated_at or row.created_at
    return f"{(utils.utcnow() - last).total_seconds():.0f} s ago" if last else "never"


def service_reasons(row: models.Service, zone: str | None) -> list[str]:
    """Why ``backup/api.py`` would not pick this row (empty: it would)."""
    reasons = []
    if row.disabled:
        reasons.append(f"disabled ({row.disabled_reason or 'no reason given'})")
    if not utils.service_is_up(row):
        reasons.append(
            f"down: last heartbeat {_age(row)} > service_down_time {CONF.service_down_time} s"
        )
    if zone is not None and row.availability_zone != zone:
        reasons.append(
            f"availability zone mismatch: service in {row.availability_zone!r}, volume in {zone!r}"
        )
    return reasons


def _row_text(row: models.Service | None) -> str:
    if row is None:
        return "none"
    return (
        f"{row.binary} {row.host} (id {row.id}, zone {row.availability_zone}, "
        f"{utils.service_status(row)}, {utils.service_state(row)}, last heartbeat {_age(row)})"
    )


def _broker(route: Route, prefix: str, queue: str, topo: Topology | None, note: str) -> str:
    """Add the broker's view of ``queue``; returns 'dropped', 'waits', 'consumed' or 'unknown'."""
    if topo is None:
        route.add(f"{prefix}queue now", f"unknown ({note})")
        return "unknown"
    q = topo.queue(queue)
    if q is None:
        route.add(f"{prefix}queue now", "NO SUCH QUEUE: the broker would drop the message")
        return "dropped"
    route.add(f"{prefix}queue now", f"{q.messages} message(s) waiting, {q.consumers} consumer(s)")
    consumers = topo.consumers_of(queue)
    if not consumers:
        route.add(f"{prefix}consumer now", "NOBODY: the message would wait in the queue")
        return "waits"
    route.add(
        f"{prefix}consumer now",
        "; ".join(
            f"{c.process or '?'} pid {c.pid}"
            + (f" = {c.service.binary} {c.service.host} ({c.service.state})" if c.service else "")
            for c in consumers
        ),
    )
    return "consumed"


def _hop(
    route: Route, prefix: str, topic: str, server: str, topo: Topology | None, note: str
) -> str:
    exchange = control_exchange()
    key = f"{topic}.{server}"  # oslo's rabbit driver names a server queue topic.server
    route.add(f"{prefix}target", f"Target(topic={topic!r}, server={server!r}, fanout=False)")
    route.add(f"{prefix}exchange", f"{exchange} (topic)")
    route.add(f"{prefix}routing key", key)
    route.add(f"{prefix}queue", key)
    return _broker(route, prefix, key, topo, note)


def explain(
    target: str, action: str = "backup", topo: Topology | None = None, note: str = ""
) -> Route:
    """Explain the route of a backup (or volume) request for a volume id or host string.

    ``topo`` is the broker's topology now (None when it cannot be read; ``note`` says why).
    """
    route = Route()
    volume = None
    if UUID.match(target):
        volume = db.volume_get(target)
        route.add("volume", f"{volume.id} ({volume.status}, zone {volume.availability_zone})")
        host = volume.host
        zone: str | None = volume.availability_zone
    else:
        host = volume_utils.check_host_string(target)
        zone = CONF.storage_availability_zone
    route.add("host string", host)
    if host is None:
        route.add("extract_host", "volume is not assigned to a host")
        route.refuse("REFUSED: Invalid volume: volume is not assigned to a host")
        route.add("verdict", route.verdict)
        return route
    plain = volume_utils.extract_host(host, "host")
    backend = volume_utils.extract_host(host)
    route.add("extract_host(host, 'host')", plain)
    route.add("extract_host(host) (backend)", backend)
    route.add("extract_host(host, 'pool')", volume_utils.extract_host(host, "pool"))

    if action == "volume":
        _volume_route(route, backend, topo, note)
    else:
        _backup_route(route, volume, plain, backend, zone, topo, note)
    route.add("verdict", route.verdict)
    return route


def _volume_route(route: Route, backend: str, topo: Topology | None, note: str) -> None:
    route.add("rpcapi", "volume/rpcapi.py: client.prepare(server=extract_host(volume.host))")
    target = volume_rpcapi.backend_target(backend)
    fate = _hop(route, "", target.topic, target.server, topo, note)
    rows = db.service_get_all(topic=CONF.volume_topic)
    row = next((r for r in rows if r.host == backend), None)
    route.add("services row", _row_text(row))
    queue = volume_rpcapi.backend_queue(backend)
    if fate == "dropped":
        route.refuse(f"DROPPED: no queue {queue} on the broker")
    elif fate == "waits":
        route.refuse(f"WAITS: nobody consumes {queue}; a call would time out")
    if row is None:
        known = ", ".join(r.host for r in rows) or "none"
        route.refuse(f"DEAD: no cinder-volume service {backend} (registered: {known})")
    elif not utils.service_is_up(row):
        route.refuse(f"DEAD: cinder-volume {backend} is down")
    if route.ok:
        route.verdict = f"OK: cinder-volume {backend} would get it"


def _backup_api_check(route: Route, topic: str, plain: str, zone: str | None) -> None:
    """The service check ``backup/api.py`` makes before it casts: one usable row on ``plain``."""
    rows = db.service_get_all(topic=topic)
    same_host = [r for r in rows if r.host == plain]
    route.add("backup services", ", ".join(_row_text(r) for r in rows) or "none registered")
    reasons: list[str] = []
    if not same_host:
        others = ", ".join(repr(r.host) for r in rows) or "none"
        reasons.append(f"no cinder-backup service with host {plain!r} (registered: {others})")
    usable = []
    for r in same_host:
        why = service_reasons(r, zone)
        if why:
            reasons.append(f"cinder-backup {r.host}: " + "; ".join(why))
        else:
            usable.append(r)
    route.add("backup/api.py check", "passes" if usable else "FAILS: " + " | ".join(reasons))
    if not usable:
        route.refuse(
            "REFUSED by backup/api.py: Service cinder-backup could not be found. ("
            + " | ".join(reasons)
            + ")"
        )


def _backup_route(
    route: Route,
    volume: models.Volume | None,
    plain: str,
    backend: str,
    zone: str | None,
    topo: Topology | None,
    note: str,
) -> None:
    topic = CONF.backup_topic
    route.add("rpcapi", "backup/rpcapi.py: client.prepare(server=extract_host(host, 'host'))")
    if volume is None:
        route.add("volume zone", f"{zone} (assumed: storage_availability_zone)")
    if volume is not None and volume.status != "available":
        route.refuse(
            f"REFUSED by backup/api.py: Invalid volume: volume {volume.id} is "
            f"{volume.status!r}, must be 'available'"
        )

    _backup_api_check(route, topic, plain, zone)

    fate = _hop(route, "", topic, plain, topo, note)
    if fate == "dropped":
        route.refuse(f"DROPPED: no queue {topic}.{plain}; the cast would vanish")
    elif fate == "waits":
        route.refuse(f"WAITS: nobody consumes {topic}.{plain}")

    _get_backup_device_hop(route, backend, topo, note)
    if route.ok:
        who = f"cinder-backup {plain}"
        route.verdict = f"OK: {who} would take the cast, then call cinder-volume {backend}"


def _get_backup_device_hop(route: Route, backend: str, topo: Topology | None, note: str) -> None:
    # The second hop: the backup manager calls the volume service that owns the volume.
    route.add("then", "backup/manager.py calls get_backup_device on the volume's backend")
    target = volume_rpcapi.backend_target(backend)
    vfate = _hop(route, "then: ", target.topic, target.server, topo, note)
    vrow = next((r for r in db.service_get_all(topic=CONF.volume_topic) if r.host == backend), None)
    route.add("then: services row", _row_text(vrow))
    if vfate in ("dropped", "waits") or vrow is None or not utils.service_is_up(vrow):
        route.refuse(
            f"FAILS LATER: cinder-volume {backend} would not answer get_backup_device "
            "(MessagingTimeout; the backup ends in error)"
        )
