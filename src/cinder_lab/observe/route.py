"""How a request would travel, explained without sending anything.

Lab-only. For a volume (or a bare host string) it shows ``extract_host`` at
each level, the RPC target the rpcapi module would build, the exchange,
routing key and queue, and who consumes that queue now. When the route is
dead it says why, with the checks ``backup/api.py`` makes before it casts
(no cinder-backup row for that host, disabled, down, another availability
zone) and what the broker would do (no such queue: dropped; no consumer:
the message waits). The backup's route follows ``lab_release``
(``observe/backup_route.py``).
"""

from __future__ import annotations

import re

from cinder_lab import utils
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.observe.backup_route import explain_backup
from cinder_lab.observe.hops import Route, control_exchange, hop, row_text, service_reasons
from cinder_lab.observe.topology import Topology
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils

__all__ = ["LOOKS_LIKE_AN_ID", "UUID", "Route", "control_exchange", "explain", "service_reasons"]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# Hex digits and dashes, long enough: a volume id with a typo, not a host name.
LOOKS_LIKE_AN_ID = re.compile(r"^(?=.*-)[0-9a-f-]{8,}$", re.I)


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
        explain_backup(route, volume, plain, backend, zone, topo, note)
    route.add("verdict", route.verdict)
    return route


def _volume_route(route: Route, backend: str, topo: Topology | None, note: str) -> None:
    route.add("rpcapi", "volume/rpcapi.py: _get_cctxt(extract_host(volume.host)), per lab_release")
    target = volume_rpcapi.backend_target(backend)
    fate = hop(route, "", target.topic, target.server, topo, note)
    rows = db.service_get_all(topic=CONF.volume_topic)
    row = next((r for r in rows if r.host == backend), None)
    route.add("services row", row_text(row))
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
