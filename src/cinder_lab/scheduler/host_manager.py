"""What the scheduler knows about backends; mirrors cinder/scheduler/host_manager.py.

Filled only by the fanout casts ``update_service_capabilities`` that every
volume service sends: a scheduler that missed them knows no pool.
"""

from __future__ import annotations

import math
import random
import threading

from cinder_lab import exception, utils
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.volume import volume_utils


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
    clean = []
    for pool in pools:
        require(isinstance(pool, dict), "a pool is not a mapping")
        pool_name = pool.get("pool_name")
        require(
            isinstance(pool_name, str) and pool_name and not set(pool_name) & set("@# "),
            f"pool_name {pool_name!r} is not a name",
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
        with self._lock:
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
        with self._lock:
            self.service_states[host] = report

    def get_pools(self) -> list[dict]:
        """Every known pool as ``{'name': 'host@backend#pool', 'capabilities': ...}``."""
        with self._lock:
            states = dict(self.service_states)
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
        services = {
            s.host: s
            for s in db.service_get_all(topic=CONF.volume_topic, disabled=False)
            if utils.service_is_up(s) and s.availability_zone == zone
        }
        candidates = []
        for pool in self.get_pools():
            caps = pool["capabilities"]
            if volume_utils.extract_host(pool["name"]) not in services:
                continue
            if volume_type and caps["volume_backend_name"] != volume_type:
                continue
            free = caps["total_capacity_gb"] - db.volume_allocated_gb(pool["name"])
            if free >= size:
                candidates.append((free, pool["name"], pool))
        # Capacity weigher: most free space wins; the name breaks ties.
        candidates.sort(key=lambda c: (-c[0], c[1]))
        return [c[2] for c in candidates]
