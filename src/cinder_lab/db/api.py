"""Database functions the services call; mirrors cinder/db/api.py (one function per query).

The engine comes from ``[database] connection``: a SQLite file by default, any
SQLAlchemy URL (``mysql+pymysql://`` for MariaDB) otherwise. Tables are created
on first use: the lab has no migrations.

MariaDB differs from SQLite in ways the lab absorbs here: several services
create the tables at once (``CREATE TABLE IF NOT EXISTS``), strict mode refuses
strings longer than their column (``_fit`` clips them), and comparisons are
case-insensitive (``service_get_by_args`` compares hosts in Python, as Kilo does).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from cinder_lab import exception, utils
from cinder_lab.common.config import CONF
from cinder_lab.db import models

_LOCK = threading.Lock()
_ENGINE: Engine | None = None


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _wal(dbapi_conn: object, _record: object) -> None:
                # Several service processes write heartbeats to one file.
                cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()

        else:
            # READ COMMITTED: every statement sees what other processes committed,
            # even inside one transaction (InnoDB's default would pin a snapshot).
            engine = create_engine(
                url, pool_pre_ping=True, pool_recycle=3600, isolation_level="READ COMMITTED"
            )
    except (ArgumentError, NoSuchModuleError, ValueError) as e:
        raise exception.ConfigError(
            reason=f"bad [database] connection {utils.mask_url(url)}: {e}"
        ) from None
    create_tables(engine)
    return engine


def create_tables(engine: Engine) -> None:
    """Create the lab's tables unless they exist; safe when several services start at once.

    ``metadata.create_all`` checks, then creates: two processes can both see no
    table and the second fails on MariaDB. ``IF NOT EXISTS`` leaves it to the server.
    """
    with engine.begin() as conn:
        for table in models.Base.metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))


def get_engine() -> Engine:
    """The process's engine for ``[database] connection``, made on first use."""
    global _ENGINE
    with _LOCK:
        url = CONF.database.connection
        if _ENGINE is None or _ENGINE.url.render_as_string(hide_password=False) != url:
            if _ENGINE is not None:
                _ENGINE.dispose()
            _ENGINE = _make_engine(url)
        return _ENGINE


def dispose_engine() -> None:
    """Drop pooled connections; call before fork so children never share one."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is not None:
            _ENGINE.dispose()
        _ENGINE = None


def _fit(model: type[models.Base], values: dict) -> dict:
    """Clip strings to their column's length: MariaDB's strict mode refuses longer ones."""
    fitted = dict(values)
    for key, value in values.items():
        length = getattr(model.__table__.c[key].type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            fitted[key] = value[: length - 3] + "..."
    return fitted


@contextmanager
def _session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session, session.begin():
        yield session


# -- services -----------------------------------------------------------------


def service_create(values: dict) -> models.Service:
    """Insert a services row."""
    with _session() as s:
        row = models.Service(**_fit(models.Service, values))
        s.add(row)
    return row


def service_get_by_args(host: str, binary: str) -> models.Service:
    """The row for one binary on one host, or HostBinaryNotFound.

    MySQL compares case-insensitively, so the host is matched again in Python,
    as Kilo's cinder.db.sqlalchemy.api.service_get_by_args does: ``maqi-kilo`` is not ``MAQI-KILO``.
    """
    with _session() as s:
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
    with _session() as s:
        return list(s.scalars(query))


def service_update(service_id: int, values: dict) -> models.Service:
    """Update one services row by id."""
    with _session() as s:
        row = s.get(models.Service, service_id)
        if row is None:
            raise exception.ServiceNotFound(service_id=service_id)
        for key, value in _fit(type(row), values).items():
            setattr(row, key, value)
    return row


def service_heartbeat(service_id: int) -> None:
    """One report_state: bump report_count and updated_at."""
    with _session() as s:
        row = s.get(models.Service, service_id)
        if row is None:
            raise exception.ServiceNotFound(service_id=service_id)
        row.report_count = (row.report_count or 0) + 1
        row.updated_at = utils.utcnow()


# -- volumes ------------------------------------------------------------------


def volume_create(values: dict) -> models.Volume:
    """Insert a volume row with a fresh UUID."""
    values = {"id": str(uuid.uuid4()), **values}
    with _session() as s:
        row = models.Volume(**_fit(models.Volume, values))
        s.add(row)
    return row


def volume_get(volume_id: str) -> models.Volume:
    """One volume, or VolumeNotFound."""
    with _session() as s:
        row = s.get(models.Volume, volume_id)
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


def volume_get_all() -> list[models.Volume]:
    """Every volume, oldest first."""
    with _session() as s:
        return list(s.scalars(select(models.Volume).order_by(models.Volume.created_at)))


def volume_update(volume_id: str, values: dict) -> models.Volume:
    """Update one volume row."""
    with _session() as s:
        row = s.get(models.Volume, volume_id)
        if row is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        for key, value in _fit(type(row), values).items():
            setattr(row, key, value)
    return row


def volume_allocated_gb(host: str) -> int:
    """Sum of the sizes of live volumes placed on one ``host@backend#pool``."""
    with _session() as s:
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
    with _session() as s:
        row = models.Backup(**_fit(models.Backup, values))
        s.add(row)
    return row


def backup_get(backup_id: str) -> models.Backup:
    """One backup, or BackupNotFound."""
    with _session() as s:
        row = s.get(models.Backup, backup_id)
    if row is None:
        raise exception.BackupNotFound(backup_id=backup_id)
    return row


def backup_get_all() -> list[models.Backup]:
    """Every backup, oldest first."""
    with _session() as s:
        return list(s.scalars(select(models.Backup).order_by(models.Backup.created_at)))


def backup_update(backup_id: str, values: dict) -> models.Backup:
    """Update one backup row."""
    with _session() as s:
        row = s.get(models.Backup, backup_id)
        if row is None:
            raise exception.BackupNotFound(backup_id=backup_id)
        for key, value in _fit(type(row), values).items():
            setattr(row, key, value)
    return row


# -- workers ------------------------------------------------------------------


def worker_create(values: dict) -> models.Worker:
    """Record that a service took a request it has not finished yet."""
    with _session() as s:
        row = models.Worker(**values)
        s.add(row)
    return row


def worker_get_all(service_id: int) -> list[models.Worker]:
    """The unfinished requests of one service."""
    with _session() as s:
        return list(s.scalars(select(models.Worker).filter_by(service_id=service_id)))


def worker_delete(worker_id: int) -> None:
    """The request is handed on or finished: forget it."""
    with _session() as s:
        row = s.get(models.Worker, worker_id)
        if row is not None:
            s.delete(row)
