"""The route of a backup request, in the configured release (``lab_release``).

Lab-only. Kilo (2015.1.4): backup/api.py checks for an up cinder-backup on
``extract_host(volume.host, 'host')`` and casts ``create_backup`` to it; that
process reads the volume through its own driver for the volume's backend (no
RPC to cinder-volume). Today: the API casts to any cinder-scheduler, which
picks the backup host (``backup_use_same_host`` or any reporting one); that
cinder-backup casts ``get_backup_device`` to the volume's backend, gets
``continue_backup`` back, and calls ``initialize_connection``,
``terminate_connection`` and ``remove_export``.
"""

from __future__ import annotations

from cinder_lab import utils
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.observe.hops import Route, broker, hop, row_text, service_reasons
from cinder_lab.observe.topology import Topology
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils

NOT_FOUND = "Service not found for creating backup."


def usable_backups(plain: str | None, zone: str | None) -> tuple[list, list[str]]:
    """Up, enabled cinder-backup rows (on ``plain`` only, unless None) and why others are not."""
    rows = db.service_get_all(topic=CONF.backup_topic)
    candidates = [r for r in rows if plain is None or r.host == plain]
    reasons: list[str] = []
    if not candidates:
        others = ", ".join(repr(r.host) for r in rows) or "none"
        where = f" with host {plain!r}" if plain is not None else ""
        reasons.append(f"no cinder-backup service{where} (registered: {others})")
    usable = []
    for r in candidates:
        why = service_reasons(r, zone)
        if why:
            reasons.append(f"cinder-backup {r.host}: " + "; ".join(why))
        else:
            usable.append(r)
    return usable, reasons


def reporting_backups(zone: str | None) -> tuple[list, list[str]]:
    """The cinder-backup rows today's scheduler may pick: it reads its services' capability
    reports (HostManager.backup_service_states), never the up check or the disabled flag, so
    every registered one in the zone counts; why the others do not."""
    rows = db.service_get_all(topic=CONF.backup_topic)
    usable = [r for r in rows if zone is None or r.availability_zone == zone]
    reasons = [
        f"cinder-backup {r.host}: availability zone {r.availability_zone!r}, not {zone!r}"
        for r in rows
        if r not in usable
    ]
    if not rows:
        reasons.append("no cinder-backup service has ever reported")
    return usable, reasons


def in_progress(volume: models.Volume) -> str:
    """What the volume's ``creating`` backup waits for, and which queue holds its message.

    Today, once cinder-backup took it (it wrote ``service``), it has cast
    ``get_backup_device`` to the volume's backend and waits, with no deadline,
    for ``continue_backup``; before that its ``create_backup`` waits in the
    scheduler's or the backup host's queue.
    """
    found = [b for b in db.backup_get_all() if b.volume_id == volume.id and b.status == "creating"]
    if not found:
        return "none creating (the volume stays backing-up until an operator resets it)"
    backup = found[-1]
    if not config.is_kilo() and backup.service:
        queue = volume_rpcapi.backend_queue(volume.host)
        backend = volume_utils.extract_host(volume.host)
        return (
            f"backup {backup.id} waits for continue_backup: its get_backup_device cast waits "
            f"in {queue} until cinder-volume {backend} serves it (no deadline)"
        )
    queue = f"{CONF.backup_topic}.{backup.host}" if backup.host else CONF.scheduler_topic
    return f"backup {backup.id} waits: its create_backup cast is in {queue}"


def explain_backup(
    route: Route,
    volume: models.Volume | None,
    plain: str,
    backend: str,
    zone: str | None,
    topo: Topology | None,
    note: str,
) -> None:
    """Add the backup's hops for the configured release to ``route``."""
    route.add("lab_release", config.release())
    route.add(
        "backup services",
        ", ".join(map(row_text, db.service_get_all(topic=CONF.backup_topic))) or "none registered",
    )
    if volume is None:
        route.add("volume zone", f"{zone} (assumed: storage_availability_zone)")
    if volume is not None and volume.status == "backing-up":
        _backup_in_flight(route, volume, topo, note)
    if volume is not None and volume.status != "available":
        route.refuse(
            f"REFUSED by backup/api.py: Invalid volume: volume {volume.id} is "
            f"{volume.status!r}, must be 'available'"
        )
    if config.is_kilo():
        _kilo(route, plain, backend, zone, topo, note)
    else:
        _current(route, plain, backend, zone, topo, note)


def _gone_backups(route: Route, usable: list, chosen: str) -> None:
    """The operator trap: a down cinder-backup the scheduler may still choose."""
    gone = [r.host for r in usable if not utils.service_is_up(r)]
    if not gone:
        return
    route.add(
        "trap",
        f"cinder-backup {', '.join(gone)} is down, yet a scheduler that heard it before it "
        "stopped keeps its report (Cinder never drops one) and may pick it: the cast then "
        f"waits in {CONF.backup_topic}.<host>, the backup stays 'creating' and its volume "
        "'backing-up'. Way out: backup-reset-state --state error, reset-state --state "
        "available; restart the schedulers so they forget it.",
    )
    if chosen in gone:
        route.refuse(
            f"STUCK: {CONF.backup_topic}.{chosen} waits for a cinder-backup that is down; "
            "the backup stays 'creating'"
        )


def _backup_in_flight(route: Route, volume: models.Volume, topo, note: str) -> None:
    """Where the unfinished backup of a ``backing-up`` volume is: its row, and the queue
    its message waits in when nobody consumes it (a stopped or gone cinder-backup)."""
    route.add("backup in progress", in_progress(volume))
    for b in db.backup_get_all():
        if b.volume_id != volume.id or b.status != "creating":
            continue
        route.add("backup in flight", f"{b.id} (creating, host {b.host or 'not chosen yet'})")
        if b.host:
            queue = f"{CONF.backup_topic}.{b.host}"
            row = next(
                (r for r in db.service_get_all(topic=CONF.backup_topic) if r.host == b.host), None
            )
            route.add("its services row", row_text(row))
            if broker(route, "its ", queue, topo, note) == "waits":
                route.refuse(
                    f"STUCK: backup {b.id}'s create_backup waits in {queue}, which nobody "
                    "consumes; the backup stays 'creating' and the volume 'backing-up' "
                    "(backup-reset-state --state error, then reset-state --state available)"
                )


def _kilo(route: Route, plain: str, backend: str, zone: str | None, topo, note: str) -> None:
    topic = CONF.backup_topic
    route.add("rpcapi", "backup/rpcapi.py: _get_cctxt(server=extract_host(host, 'host'))")
    usable, reasons = usable_backups(plain, zone)
    route.add("backup/api.py check", "passes" if usable else "FAILS: " + " | ".join(reasons))
    if not usable:
        route.refuse(
            "REFUSED by backup/api.py: Service cinder-backup could not be found. ("
            + " | ".join(reasons)
            + ")"
        )
    fate = hop(route, "", topic, plain, topo, note)
    if fate == "dropped":
        route.refuse(f"DROPPED: no queue {topic}.{plain}; the cast would vanish")
    elif fate == "waits":
        route.refuse(f"WAITS: nobody consumes {topic}.{plain}")
    section = backend.partition("@")[2] or "default"
    route.add(
        "then",
        f"backup/manager.py reads the volume through its own driver for [{section}], "
        f"no RPC: needs [{section}] in {plain}'s enabled_backends (not in the database), "
        f"else BackupFailedToGetVolumeBackend",
    )
    if route.ok:
        route.verdict = (
            f"OK: cinder-backup {plain} would take the cast and read the volume locally "
            f"(needs [{section}] in the backup host's enabled_backends)"
        )


def _current(route: Route, plain: str, backend: str, zone: str | None, topo, note: str) -> None:
    later = f"FAILS LATER: the API accepts, the backup ends 'error' ({NOT_FOUND})"
    route.add("rpcapi", "backup/api.py -> scheduler/rpcapi.py: cast create_backup to any scheduler")
    fate = hop(route, "", CONF.scheduler_topic, None, topo, note)
    if fate == "dropped":
        route.refuse(f"DROPPED: no queue {CONF.scheduler_topic}; the backup stays 'creating'")
    elif fate == "waits":
        route.refuse(f"WAITS: nobody consumes {CONF.scheduler_topic}; the backup stays 'creating'")
    same = CONF.backup_use_same_host
    if same:
        usable, reasons = usable_backups(plain, zone)
        rule = f"an up one on {plain!r} (backup_use_same_host)"
    else:
        usable, reasons = reporting_backups(zone)
        rule = "any whose last capability report said it works (up or down: reports only)"
    route.add("scheduler picks", f"{rule}: " + (", ".join(r.host for r in usable) or "NONE"))
    if not usable:
        route.refuse(f"{later}: " + " | ".join(reasons))
        return
    chosen = sorted(r.host for r in usable)[0]
    if len(usable) > 1:
        route.add("chosen", f"{chosen} (the scheduler picks at random; shown: the first)")
    fate = hop(route, "to backup: ", CONF.backup_topic, chosen, topo, note)
    _gone_backups(route, usable, chosen)
    if fate in ("dropped", "waits"):
        route.refuse(f"{fate.upper()}: nobody consumes {CONF.backup_topic}.{chosen}")
    target = volume_rpcapi.backend_target(backend)
    route.add("then", "backup/manager.py casts get_backup_device (3.17) to the volume's backend")
    vfate = hop(route, "to volume: ", target.topic, target.server, topo, note)
    queue = f"{target.topic}.{target.server}"
    vrow = next((r for r in db.service_get_all(topic=CONF.volume_topic) if r.host == backend), None)
    route.add("to volume: services row", row_text(vrow))
    route.add(
        "then",
        f"cinder-volume casts continue_backup to {CONF.backup_topic}.{chosen}; the backup "
        f"calls initialize_connection, terminate_connection, remove_export on {queue}",
    )
    if vfate in ("dropped", "waits") or vrow is None or not utils.service_is_up(vrow):
        route.refuse(
            f"STUCK LATER: nobody would take get_backup_device on {queue} "
            "(a cast: no error comes back; the backup stays 'creating')"
        )
    if route.ok:
        route.verdict = (
            f"OK: a scheduler picks cinder-backup {chosen}, which casts get_backup_device "
            f"to {queue}, gets continue_backup back and reads over three calls"
        )
