"""The pieces of a route explanation: one hop, one services row, the broker's view.

Lab-only; ``observe/route.py`` and ``observe/backup_route.py`` assemble them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import oslo_messaging as messaging
import oslo_messaging.opts

from cinder_lab import utils
from cinder_lab.common.config import CONF
from cinder_lab.db import models
from cinder_lab.observe.topology import Topology


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


def row_text(row: models.Service | None) -> str:
    """A services row in one line (``none`` for no row)."""
    if row is None:
        return "none"
    return (
        f"{row.binary} {row.host} (id {row.id}, zone {row.availability_zone}, "
        f"{utils.service_status(row)}, {utils.service_state(row)}, last heartbeat {_age(row)})"
    )


def broker(route: Route, prefix: str, queue: str, topo: Topology | None, note: str) -> str:
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


def hop(
    route: Route, prefix: str, topic: str, server: str | None, topo: Topology | None, note: str
) -> str:
    """Add one cast or call's target, exchange, routing key and queue; returns its fate."""
    exchange = control_exchange()
    # oslo's rabbit driver names a server queue topic.server; no server: the topic queue.
    key = f"{topic}.{server}" if server else topic
    route.add(f"{prefix}target", f"Target(topic={topic!r}, server={server!r}, fanout=False)")
    route.add(f"{prefix}exchange", f"{exchange} (topic)")
    route.add(f"{prefix}routing key", key)
    route.add(f"{prefix}queue", key)
    return broker(route, prefix, key, topo, note)
