"""Database functions the services call; mirrors cinder/db/api.py (one function per query).

Status changes that race (two backups of one volume, a replayed message) go
through ``*_conditional_update``: one ``UPDATE ... WHERE status = expected``,
atomic on SQLite and MariaDB alike, as Cinder's ``conditional_update`` is.
Strings longer than their column are refused (names, hosts) or clipped with
``...`` (human-readable reasons only): MariaDB's strict mode would refuse them,
and a clipped host would route and count wrongly.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, update

from cinder_lab import exception, utils
from cinder_lab.db import models
from cinder_lab.db import statements as st
from cinder_lab.db.engine import database_gone, dispose_engine, get_engine, session

__all__ = ["database_gone", "dispose_engine", "get_engine"]

# -- services -----------------------------------------------------------------


def service_create(values: dict) -> models.Service:
    """Insert a services row."""
    with session() as s:
        row = models.Service(**st.fit(models.Service, values))
        s.add(row)
    return row


def service_get_by_args(host: str, binary: str) -> models.Service:
    """The row for one binary on one host, or HostBinaryNotFound.

    MySQL compares case-insensitively, so the host is matched again in Python,
    as Kilo's cinder.db.sqlalchemy.api.service_get_by_args does: ``maqi-kilo`` is not ``MAQI-KILO``.
    """
    with session() as s:
        query = select(models.Service).filter_by(host=host, binary=binary)
        query = query.where(st.live(models.Service))
        rows = s.scalars(query).all()
    for row in rows:
        if row.host == host:
            return row
    raise exception.HostBinaryNotFound(host=host, binary=binary)


def service_get_all(topic: str | None = None, disabled: bool | None = None) -> list[models.Service]:
    """Every services row, optionally only one topic or one disabled state."""
    query = st.of().SERVICES[topic is not None, disabled is not None]
    with session() as s:
        return list(s.scalars(query, {"_topic": topic, "_disabled": disabled}))


def service_update(service_id: int, values: dict) -> models.Service:
    """Update one services row by id."""
    with session() as s:
        row = s.get(models.Service, service_id)
        if row is None or row.deleted:
            raise exception.ServiceNotFound(service_id=service_id)
        for key, value in st.fit(type(row), values).items():
            setattr(row, key, value)
    return row


def service_heartbeat(service_id: int, availability_zone: str | None = None) -> None:
    """One report_state: bump report_count and updated_at, and follow a changed zone;
    ServiceNotFound if the row was deleted (or soft-deleted)."""
    with session() as s:
        row = s.get(models.Service, service_id)
        if row is None or row.deleted:
            raise exception.ServiceNotFound(service_id=service_id)
        row.report_count = (row.report_count or 0) + 1
        row.updated_at = utils.utcnow()
        if availability_zone is not None and row.availability_zone != availability_zone:
            row.availability_zone = availability_zone


# -- volumes ------------------------------------------------------------------


def volume_create(values: dict) -> models.Volume:
    """Insert a volume row with a fresh UUID."""
    values = {"id": str(uuid.uuid4()), **values}
    with session() as s:
        row = models.Volume(**st.fit(models.Volume, values))
        s.add(row)
    return row


def volume_get(volume_id: str) -> models.Volume:
    """One volume, or VolumeNotFound."""
    with session() as s:
        row = s.execute(st.of().VOLUME, {"_id": volume_id}).scalar_one_or_none()
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


def volume_get_all() -> list[models.Volume]:
    """Every volume, oldest first."""
    with session() as s:
        return list(s.scalars(select(models.Volume).order_by(models.Volume.created_at)))


def volume_get_all_by_host(host: str) -> list[models.Volume]:
    """The volumes of ``host`` (``host@backend``): ``host`` itself or ``host#pool``,
    as cinder.db.sqlalchemy.api.volume_get_all_by_host matches them."""
    model = models.Volume
    query = select(model).where(or_(model.host == host, model.host.like(f"{host}#%")))
    with session() as s:
        return list(s.scalars(query))


def volume_update(volume_id: str, values: dict) -> models.Volume:
    """Update one volume row."""
    with session() as s:
        row = s.get(models.Volume, volume_id)
        if row is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        for key, value in st.fit(type(row), values).items():
            setattr(row, key, value)
    return row


def volume_conditional_update(volume_id: str, values: dict, expected_status: str) -> bool:
    """Update the volume only if its status is still ``expected_status``; True if it was.

    One ``UPDATE ... WHERE id = :id AND status = :expected``: of two racing
    requests exactly one wins, on SQLite and MariaDB alike.
    """
    return _conditional_update(models.Volume, volume_id, values, expected_status)


def _conditional_update(
    model: type[models.Base], row_id: str, values: dict, expected_status: str
) -> bool:
    with get_engine().begin() as conn:
        return st.conditional_update(conn, model, row_id, values, expected_status)


def volume_allocated_gb(host: str) -> int:
    """Sum of the sizes of live volumes placed on one ``host@backend#pool``."""
    with session() as s:
        total = s.scalar(
            select(func.coalesce(func.sum(models.Volume.size), 0)).where(
                models.Volume.host == host, models.Volume.status != "error"
            )
        )
    return int(total or 0)


# -- backups ------------------------------------------------------------------


def backup_create(values: dict) -> models.Backup:
    """Insert a backup row with a fresh UUID."""
    values = {"id": str(uuid.uuid4()), **values}
    with session() as s:
        row = models.Backup(**st.fit(models.Backup, values))
        s.add(row)
    return row


def backup_get(backup_id: str) -> models.Backup:
    """One backup, or BackupNotFound."""
    with session() as s:
        row = s.execute(st.of().BACKUP, {"_id": backup_id}).scalar_one_or_none()
    if row is None:
        raise exception.BackupNotFound(backup_id=backup_id)
    return row


def backup_create_for_volume(
    volume_id: str, volume_values: dict, values: dict, expected: str = "available"
) -> models.Backup | None:
    """Move the volume from ``expected`` to ``volume_values`` and insert its backup, in
    one transaction; None (and nothing inserted) if the volume was no longer ``expected``.

    Cinder's API reads the status, then updates the volume and creates the
    backup in two more steps, so two racing requests can both pass; the lab's
    one guarded commit lets exactly one through.
    """
    with get_engine().begin() as conn:
        if not st.conditional_update(conn, models.Volume, volume_id, volume_values, expected):
            return None
        return st.insert(conn, models.Backup, {"id": str(uuid.uuid4()), **values})


def backup_get_with_volume(backup_id: str) -> tuple[models.Backup, models.Volume | None]:
    """One backup and its volume (None if that is gone) in one query, or BackupNotFound."""
    with session() as s:
        found = s.execute(st.of().BACKUP_WITH_VOLUME, {"_id": backup_id}).first()
    if found is None:
        raise exception.BackupNotFound(backup_id=backup_id)
    return found[0], found[1]


def backup_get_all_by_host(host: str) -> list[models.Backup]:
    """The backups whose ``host`` is ``host``."""
    with session() as s:
        return list(s.scalars(select(models.Backup).filter_by(host=host)))


def backup_get_all() -> list[models.Backup]:
    """Every backup, oldest first."""
    with session() as s:
        return list(s.scalars(select(models.Backup).order_by(models.Backup.created_at)))


def backup_update(backup_id: str, values: dict) -> models.Backup:
    """Update one backup row."""
    with session() as s:
        row = s.get(models.Backup, backup_id)
        if row is None:
            raise exception.BackupNotFound(backup_id=backup_id)
        for key, value in st.fit(type(row), values).items():
            setattr(row, key, value)
    return row


def backup_conditional_update(backup_id: str, values: dict, expected_status: str) -> bool:
    """Update the backup only if its status is still ``expected_status``; True if it was."""
    return _conditional_update(models.Backup, backup_id, values, expected_status)


# -- workers ------------------------------------------------------------------


def worker_create(values: dict) -> models.Worker:
    """Record that a service took a request it has not finished yet."""
    with get_engine().begin() as conn:
        return st.insert(conn, models.Worker, values)


def worker_get_all(service_id: int) -> list[models.Worker]:
    """The unfinished requests of one service."""
    with session() as s:
        return list(s.scalars(select(models.Worker).filter_by(service_id=service_id)))


def worker_touch(owner: str) -> None:
    """Renew the lease of every request ``owner`` is working on (with its heartbeat)."""
    query = update(models.Worker).where(models.Worker.owner == owner)
    with session() as s:
        s.execute(query.values(updated_at=utils.utcnow()))


def worker_delete_for(service_id: int | None, resource_id: str) -> None:
    """Forget every request of one service on one resource: one DELETE."""
    params = {"_service_id": service_id, "_resource_id": resource_id}
    with get_engine().begin() as conn:
        conn.execute(st.of().WORKERS_DELETE, params)


def worker_destroy_for_resource(resource_type: str, resource_id: str) -> int:
    """Forget every request on one resource, whoever took it; how many there were.

    Cinder's ``worker_destroy`` as ``os-reset_status`` uses it: a reset status
    makes the cleanup a restart would do useless. Kilo had no workers table: 0.
    """
    if models.classes().Worker is None:
        return 0
    with session() as s:
        rows = s.scalars(
            select(models.Worker).filter_by(resource_type=resource_type, resource_id=resource_id)
        ).all()
        for row in rows:
            s.delete(row)
    return len(rows)


def worker_delete(worker_id: int) -> None:
    """The request is handed on or finished: forget it."""
    with session() as s:
        row = s.get(models.Worker, worker_id)
        if row is not None:
            s.delete(row)
