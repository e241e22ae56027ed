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

from sqlalchemy import Connection, bindparam, func, select, update

from cinder_lab import exception, utils
from cinder_lab.db import models
from cinder_lab.db.engine import dispose_engine, get_engine, session

__all__ = ["dispose_engine", "get_engine"]

# The hot paths' statements, built once: building and hashing a statement for
# SQLAlchemy's cache costs several times what SQLite takes to run it.
_VOLUME = select(models.Volume).where(models.Volume.id == bindparam("_id"))
_BACKUP = select(models.Backup).where(models.Backup.id == bindparam("_id"))
_BACKUP_WITH_VOLUME = (
    select(models.Backup, models.Volume)
    .outerjoin(models.Volume, models.Volume.id == models.Backup.volume_id)
    .where(models.Backup.id == bindparam("_id"))
)
# SET takes whichever columns the call passes.
_CONDITIONAL_UPDATE = {
    model: model.__table__.update().where(
        model.__table__.c.id == bindparam("_id"),
        model.__table__.c.status == bindparam("_expected"),
    )
    for model in (models.Volume, models.Backup)
}
_WORKERS = models.Worker.__table__
# NULL-safe, as filter_by(service_id=None) is: a manager without a service row has None.
_WORKERS_DELETE = _WORKERS.delete().where(
    _WORKERS.c.service_id.is_not_distinct_from(bindparam("_service_id")),
    _WORKERS.c.resource_id == bindparam("_resource_id"),
)

# Free text: clipped to fit. Every other string column is refused when too long.
CLIPPED = {"status_reason", "fail_reason", "disabled_reason"}


def _fit(model: type[models.Base], values: dict) -> dict:
    """Clip a reason to its column's length; refuse any other string that does not fit."""
    fitted = dict(values)
    for key, value in values.items():
        length = getattr(model.__table__.c[key].type, "length", None)
        if not (isinstance(value, str) and length and len(value) > length):
            continue
        if key not in CLIPPED:
            raise exception.InvalidInput(
                reason=f"{model.__tablename__}.{key} is {len(value)} characters, "
                f"longer than the column's {length}"
            )
        fitted[key] = value[: length - 3] + "..."
    return fitted


# -- services -----------------------------------------------------------------


def service_create(values: dict) -> models.Service:
    """Insert a services row."""
    with session() as s:
        row = models.Service(**_fit(models.Service, values))
        s.add(row)
    return row


def service_get_by_args(host: str, binary: str) -> models.Service:
    """The row for one binary on one host, or HostBinaryNotFound.

    MySQL compares case-insensitively, so the host is matched again in Python,
    as Kilo's cinder.db.sqlalchemy.api.service_get_by_args does: ``maqi-kilo`` is not ``MAQI-KILO``.
    """
    with session() as s:
        rows = s.scalars(select(models.Service).filter_by(host=host, binary=binary)).all()
    for row in rows:
        if row.host == host:
            return row
    raise exception.HostBinaryNotFound(host=host, binary=binary)


def service_get_all(topic: str | None = None, disabled: bool | None = None) -> list[models.Service]:
    """Every services row, optionally only one topic or one disabled state."""
    query = select(models.Service).order_by(models.Service.binary, models.Service.host)
    if topic is not None:
        query = query.filter_by(topic=topic)
    if disabled is not None:
        query = query.filter_by(disabled=disabled)
    with session() as s:
        return list(s.scalars(query))


def service_update(service_id: int, values: dict) -> models.Service:
    """Update one services row by id."""
    with session() as s:
        row = s.get(models.Service, service_id)
        if row is None:
            raise exception.ServiceNotFound(service_id=service_id)
        for key, value in _fit(type(row), values).items():
            setattr(row, key, value)
    return row


def service_heartbeat(service_id: int) -> None:
    """One report_state: bump report_count and updated_at."""
    with session() as s:
        row = s.get(models.Service, service_id)
        if row is None:
            raise exception.ServiceNotFound(service_id=service_id)
        row.report_count = (row.report_count or 0) + 1
        row.updated_at = utils.utcnow()


# -- volumes ------------------------------------------------------------------


def volume_create(values: dict) -> models.Volume:
    """Insert a volume row with a fresh UUID."""
    values = {"id": str(uuid.uuid4()), **values}
    with session() as s:
        row = models.Volume(**_fit(models.Volume, values))
        s.add(row)
    return row


def volume_get(volume_id: str) -> models.Volume:
    """One volume, or VolumeNotFound."""
    with session() as s:
        row = s.execute(_VOLUME, {"_id": volume_id}).scalar_one_or_none()
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


def volume_get_all() -> list[models.Volume]:
    """Every volume, oldest first."""
    with session() as s:
        return list(s.scalars(select(models.Volume).order_by(models.Volume.created_at)))


def volume_update(volume_id: str, values: dict) -> models.Volume:
    """Update one volume row."""
    with session() as s:
        row = s.get(models.Volume, volume_id)
        if row is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        for key, value in _fit(type(row), values).items():
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
        return _conditional_update_in(conn, model, row_id, values, expected_status)


def _conditional_update_in(
    conn: Connection, model: type[models.Base], row_id: str, values: dict, expected_status: str
) -> bool:
    """The conditional UPDATE inside the caller's transaction."""
    params = {**_fit(model, values), "updated_at": utils.utcnow()}
    params.update(_id=row_id, _expected=expected_status)
    return conn.execute(_CONDITIONAL_UPDATE[model], params).rowcount == 1


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
        row = models.Backup(**_fit(models.Backup, values))
        s.add(row)
    return row


def backup_get(backup_id: str) -> models.Backup:
    """One backup, or BackupNotFound."""
    with session() as s:
        row = s.execute(_BACKUP, {"_id": backup_id}).scalar_one_or_none()
    if row is None:
        raise exception.BackupNotFound(backup_id=backup_id)
    return row


def backup_create_for_volume(
    volume_id: str, volume_values: dict, values: dict
) -> models.Backup | None:
    """Move the volume from ``available`` to ``volume_values`` and insert its backup, in
    one transaction; None (and nothing inserted) if the volume was not ``available``.

    Cinder's API does the two in two steps; one commit is the same outcome, sooner.
    """
    values = {"id": str(uuid.uuid4()), **values}
    with session() as s:
        if not _conditional_update_in(
            s.connection(), models.Volume, volume_id, volume_values, "available"
        ):
            return None
        row = models.Backup(**_fit(models.Backup, values))
        s.add(row)
    return row


def backup_get_with_volume(backup_id: str) -> tuple[models.Backup, models.Volume | None]:
    """One backup and its volume (None if that is gone) in one query, or BackupNotFound."""
    with session() as s:
        found = s.execute(_BACKUP_WITH_VOLUME, {"_id": backup_id}).first()
    if found is None:
        raise exception.BackupNotFound(backup_id=backup_id)
    return found[0], found[1]


def backup_finish(backup_id: str, values: dict, volume_id: str, volume_status: str) -> bool:
    """A ``creating`` backup takes ``values`` and its ``backing-up`` volume ``volume_status``,
    in one transaction; False (and the volume untouched) if the backup was not ``creating``."""
    with get_engine().begin() as conn:
        if not _conditional_update_in(conn, models.Backup, backup_id, values, "creating"):
            return False
        volume_back = {"status": volume_status}
        _conditional_update_in(conn, models.Volume, volume_id, volume_back, "backing-up")
    return True


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
        for key, value in _fit(type(row), values).items():
            setattr(row, key, value)
    return row


def backup_conditional_update(backup_id: str, values: dict, expected_status: str) -> bool:
    """Update the backup only if its status is still ``expected_status``; True if it was."""
    return _conditional_update(models.Backup, backup_id, values, expected_status)


# -- workers ------------------------------------------------------------------


def worker_create(values: dict) -> models.Worker:
    """Record that a service took a request it has not finished yet."""
    with session() as s:
        row = models.Worker(**values)
        s.add(row)
    return row


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
        conn.execute(_WORKERS_DELETE, params)


def worker_delete(worker_id: int) -> None:
    """The request is handed on or finished: forget it."""
    with session() as s:
        row = s.get(models.Worker, worker_id)
        if row is not None:
            s.delete(row)
