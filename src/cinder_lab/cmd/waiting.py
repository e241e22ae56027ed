"""What ``create --wait`` and ``backup-create --wait`` say when the wait ends badly.

The lab's own: python-cinderclient has no ``--wait``. A request that is still
``creating`` waits in a queue; the message names that queue (the same rule
``volume/rpcapi.py`` routes by), whether anything consumes it (the broker's
own count) and whether the service behind it is up.
"""

from __future__ import annotations

from cinder_lab import exception, service, utils
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils


def consumers_of(queue: str) -> str:
    """``'no consumer'``, ``'2 consumers'``, or ``''`` when the broker cannot tell."""
    count = service.queue_consumers(queue)
    if count is None:
        return ""
    return "no consumer" if count == 0 else f"{count} consumer{'s' if count > 1 else ''}"


def service_says(binary: str, host: str) -> str:
    """``cinder-volume maqi-kilo@ceph is up`` / ``is down (last heartbeat 73 s ago)`` / no row."""
    try:
        row = db.service_get_by_args(host, binary)
    except exception.HostBinaryNotFound:
        return f"no {binary} {host} has ever started"
    if utils.service_is_up(row):
        return f"{binary} {host} is up"
    last = row.updated_at or row.created_at
    ago = f" (last heartbeat {(utils.utcnow() - last).total_seconds():.0f} s ago)" if last else ""
    return f"{binary} {host} is down{ago}"


def _queue_part(queue: str) -> str:
    consumers = consumers_of(queue)
    return f"its queue {queue}" + (f" has {consumers}" if consumers else "")


def volume_waits(volume: models.Volume) -> str:
    """Where a ``creating`` volume's request waits: its backend's queue, else the scheduler's."""
    if volume.host:
        backend = volume_utils.extract_host(volume.host)
        where = [_queue_part(volume_rpcapi.backend_queue(volume.host))]
        where.append(service_says("cinder-volume", backend))
    else:
        where = [_queue_part(CONF.scheduler_topic), _schedulers_up()]
    return "; ".join(where) + f"; see cinder-lab route {volume.id}"


def _schedulers_up() -> str:
    up = [s for s in db.service_get_all() if s.binary == "cinder-scheduler"]
    up = [s for s in up if utils.service_is_up(s)]
    return f"{len(up)} cinder-scheduler up" if up else "no cinder-scheduler is up"


def backup_waits(backup: models.Backup) -> str:
    """Where a ``creating`` backup's request waits, and for what.

    The scheduler's queue until it picks a host (today's Cinder), then
    ``cinder-backup.<host>``. Today's backup manager, once it has taken the
    backup (it records its driver in ``service``), has cast
    ``get_backup_device`` and waits, with no deadline, for ``continue_backup``:
    that message waits in the volume backend's queue until its service serves it.
    """
    volume = _volume_or_none(backup.volume_id)
    asked_volume = not config.is_kilo() and backup.service and volume is not None and volume.host
    if asked_volume:
        backend = volume_utils.extract_host(volume.host)
        where = [
            "waiting for continue_backup: its get_backup_device cast waits in "
            + _queue_part(volume_rpcapi.backend_queue(volume.host)),
            service_says("cinder-volume", backend),
            "Cinder sets no deadline: it goes on when that service serves the queue",
        ]
    elif not backup.host:
        where = [_queue_part(CONF.scheduler_topic), _schedulers_up()]
    else:
        where = [_queue_part(f"{CONF.backup_topic}.{backup.host}")]
        where.append(service_says("cinder-backup", backup.host))
        if volume is not None and volume.host and not config.is_kilo():
            backend = volume_utils.extract_host(volume.host)
            where.append(f"then {volume_rpcapi.backend_queue(volume.host)}")
            where.append(service_says("cinder-volume", backend))
    return "; ".join(where) + f"; see cinder-lab route {backup.volume_id} --action backup"


def _volume_or_none(volume_id: str) -> models.Volume | None:
    try:
        return db.volume_get(volume_id)
    except exception.CinderLabException:
        return None


def failure(
    kind: str, obj: object, reason: str | None, timeout: float, busy: set[str]
) -> exception.CinderLabException:
    """The one line a failed ``--wait`` ends with: what is true now, and where to look."""
    obj_id, status = obj.id, obj.status
    if status in busy:
        waits = volume_waits(obj) if kind == "volume" else backup_waits(obj)
        text = f"{kind} {obj_id} still {status} after {timeout:g} s: {waits}"
    else:
        text = f"{kind} {obj_id} ended {status}: {reason or '(no reason recorded)'}"
    return exception.CinderLabException(text)
