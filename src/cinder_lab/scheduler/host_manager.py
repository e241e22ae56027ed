"""What the scheduler knows about backends; mirrors cinder/scheduler/host_manager.py.

Filled only by the fanout casts ``update_service_capabilities`` that every
volume service sends: a scheduler that missed them knows no pool.

What it shows and uses follows Cinder master's ``_update_backend_state_map``:
only the backends whose ``cinder-volume`` row is up and enabled; a report
stays while its row exists (a down backend that comes back is usable at once)
and is dropped once its row is gone. Backup reports are Cinder's too: used
alone, never aged out, which is why a stopped cinder-backup is still chosen.
Each report is bounded (the lab's own: Cinder takes any size), so a forged one
cannot make every later scheduling slow.
"""

from __future__ import annotations

import logging
import math
import random
import threading

from cinder_lab import exception, utils
from cinder_lab.common import names
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.volume import volume_utils

LOG = logging.getLogger(__name__)

# The lab's bounds on what the scheduler keeps (Cinder has none): pools in one
# report, and backends (or backup hosts) remembered at once.
MAX_POOLS_PER_REPORT = 256
MAX_REPORTS = 1024


def _number(value: object) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(value) and value >= 0


def checked_capabilities(host: object, capabilities: object) -> dict:
    """A capability report as the scheduler stores it, or InvalidMessage.

    One malformed fanout must not poison every later scheduling, so the report
    is checked whole before it replaces the backend's last one.
    """

    def require(ok: object, reason: str) -> None:
        if not ok:
            raise exception.InvalidMessage(reason=f"capabilities of {host!r}: {reason}")

    require(isinstance(host, str) and "@" in host and "#" not in host, "not a host@backend")
    volume_utils.check_host_string(host)
    require(isinstance(capabilities, dict), "not a mapping")
    name = capabilities.get("volume_backend_name")
    require(name is None or isinstance(name, str), "volume_backend_name is not a string")
    pools = capabilities.get("pools")
    require(isinstance(pools, list), "pools is not a list")
    require(len(pools) <= MAX_POOLS_PER_REPORT, f"{len(pools)} pools, over {MAX_POOLS_PER_REPORT}")
    clean = []
    for pool in pools:
        require(isinstance(pool, dict), "a pool is not a mapping")
        pool_name = pool.get("pool_name")
        require(
            isinstance(pool_name, str) and pool_name and not set(pool_name) & set("@# "),
            f"pool_name {pool_name!r} is not a name",
        )
        require(
            len(volume_utils.append_host(host, pool_name)) <= names.HOST_COLUMN_LENGTH,
            f"{host}#{pool_name[:20]}... is longer than the host column",
        )
        total, free = pool.get("total_capacity_gb"), pool.get("free_capacity_gb", 0)
        require(_number(total) and _number(free), f"pool {pool_name}: capacities are not numbers")
        clean.append({"pool_name": pool_name, "total_capacity_gb": total, "free_capacity_gb": free})
    return {"volume_backend_name": name, "pools": clean}


class HostManager:
    """Capabilities per ``host@backend``, and the pools that can take a volume."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.service_states: dict[str, dict] = {}
        # Today: what each cinder-backup reported (never pruned, as in Cinder).
        self.backup_service_states: dict[str, dict] = {}

    def update_backup_capabilities(self, host: object, capabilities: object) -> None:
        """Store a backup service's report: is it working, in which zone."""
        ok = isinstance(host, str) and isinstance(capabilities, dict)
        if not ok or not isinstance(capabilities.get("availability_zone"), str):
            raise exception.InvalidMessage(reason=f"backup capabilities of {host!r} malformed")
        volume_utils.check_host_string(host)
        with self._lock:
            if host not in self.backup_service_states:
                self._require_room(self.backup_service_states, host)
            self.backup_service_states[host] = {
                "backend_state": bool(capabilities.get("backend_state")),
                "availability_zone": capabilities["availability_zone"],
            }

    def get_backup_host(self, volume: object, zone: str) -> str:
        """The cinder-backup for a volume's backup; mirrors HostManager.get_backup_host.

        ``backup_use_same_host``: only an up, enabled one on the volume's own host
        (Kilo's API rule, moved here). Otherwise any that reported itself working
        in the zone, from the reports alone, as Cinder does.
        """
        volume_host = volume_utils.extract_host(volume.host, "host")
        if CONF.backup_use_same_host:
            for row in db.service_get_all(topic=CONF.backup_topic, disabled=False):
                if row.host == volume_host and row.availability_zone == zone:
                    if utils.service_is_up(row):
                        return row.host
            raise exception.ServiceNotFound(service_id="cinder-backup")
        with self._lock:
            hosts = sorted(
                h
                for h, caps in self.backup_service_states.items()
                if caps["backend_state"] and caps["availability_zone"] == zone
            )
        if not hosts:
            raise exception.ServiceNotFound(service_id="cinder-backup")
        return random.choice(hosts)

    def update_service_capabilities(self, host: str, capabilities: dict) -> None:
        """Store the latest report of one backend, once it is checked."""
        report = checked_capabilities(host, capabilities)
        if host not in self.service_states and len(self.service_states) >= MAX_REPORTS:
            self.active_backends()  # drops the reports of backends whose row is gone
        with self._lock:
            if host not in self.service_states:
                self._require_room(self.service_states, host)
            self.service_states[host] = report

    @staticmethod
    def _require_room(states: dict, host: str) -> None:
        if len(states) >= MAX_REPORTS:
            raise exception.InvalidMessage(
                reason=f"capabilities of {host!r}: the scheduler already holds "
                f"{len(states)} reports, the most it keeps"
            )

    def active_backends(self, zone: str | None = None) -> dict:
        """The up, enabled cinder-volume rows by host (in ``zone``, if given); mirrors
        _update_backend_state_map, and like Cinder's "Removing non-active backend" it
        forgets what a backend with no services row at all reported."""
        rows = db.service_get_all(topic=CONF.volume_topic)
        with self._lock:
            known = {r.host for r in rows}
            for host in [h for h in self.service_states if h not in known]:
                LOG.info("Removing the capability report of %s: it has no services row.", host)
                del self.service_states[host]
        return {
            r.host: r
            for r in rows
            if not r.disabled
            and utils.service_is_up(r)
            and (zone is None or r.availability_zone == zone)
        }

    def get_pools(self, active: dict | None = None) -> list[dict]:
        """The pools of up, enabled backends as ``{'name': 'host@backend#pool',
        'capabilities': ...}``; as Cinder's get_pools, a down backend's are not listed."""
        active = self.active_backends() if active is None else active
        with self._lock:
            states = {h: caps for h, caps in self.service_states.items() if h in active}
        pools = []
        for host, caps in sorted(states.items()):
            for pool in caps.get("pools", []):
                pools.append(
                    {
                        "name": volume_utils.append_host(host, pool["pool_name"]),
                        "capabilities": {
                            "volume_backend_name": caps.get("volume_backend_name"),
                            **pool,
                        },
                    }
                )
        return pools

    def usable_pools(self, size: int, volume_type: str | None, zone: str) -> list[dict]:
        """Pools whose service is up, enabled, in ``zone`` and with room; best first.

        ``volume_type`` names a ``volume_backend_name`` (the lab's volume types are
        just that extra spec).
        """
        candidates = []
        for pool in self.get_pools(self.active_backends(zone)):
            caps = pool["capabilities"]
            if volume_type and caps["volume_backend_name"] != volume_type:
                continue
            free = caps["total_capacity_gb"] - db.volume_allocated_gb(pool["name"])
            if free >= size:
                candidates.append((free, pool["name"], pool))
        # Capacity weigher: most free space wins; the name breaks ties.
        candidates.sort(key=lambda c: (-c[0], c[1]))
        return [c[2] for c in candidates]
