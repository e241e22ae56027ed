"""Tables, one set per release; mirrors cinder/db/sqlalchemy/models.py (2015.1.4) and
cinder/db/models.py (today).

``services`` has every column of its release, with Cinder's defaults: Kilo's
row has ``modified_at`` and no version columns; today's adds ``uuid`` (set
when the row is created), ``cluster_name``, the two ``*_current_version``
columns, ``replication_status`` (``not-capable``), ``active_backend_id`` and
``frozen``, and its ``updated_at`` is set at creation (Kilo's stays NULL until
the first heartbeat). ``volumes``, ``backups`` and ``workers`` keep the part
of Cinder's columns the lab's story uses, under Cinder's names, plus the few
columns of the lab's own named in ``LAB_ONLY`` (docs/releases.md lists them).
Kilo has no ``workers`` table (it arrived in Newton) and no
``volumes.previous_status`` (Liberty).

``models.Service`` (and ``Volume``, ``Backup``, ``Worker``) is the class of
the configured ``lab_release``; ``classes(release)`` names one explicitly.
"""

from __future__ import annotations

import datetime
import uuid
from types import SimpleNamespace

from sqlalchemy import Boolean, DateTime, Integer, MetaData, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cinder_lab import utils
from cinder_lab.common import config

# MySQL's DATETIME drops microseconds unless asked; SQLite keeps them. Keep both alike.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# Columns Cinder never had, per table: what the lab records for the learner.
LAB_ONLY = {
    "volumes": {"volume_type", "status_reason"},
    "backups": {"volume_host"},
    "workers": {"owner"},
}


class _CinderBase:
    """CinderBase: oslo.db's timestamps and Cinder's soft delete, on every table."""

    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utils.utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        Timestamp, nullable=True, onupdate=utils.utcnow
    )
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    deleted: Mapped[bool | None] = mapped_column(Boolean, default=False, nullable=True)


class _ServiceColumns(_CinderBase):
    """One row per running binary and host: what ``service-list`` shows."""

    __tablename__ = "services"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    binary: Mapped[str | None] = mapped_column(String(255), nullable=True)
    topic: Mapped[str | None] = mapped_column(String(255), nullable=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool | None] = mapped_column(Boolean, default=False, nullable=True)
    # Cinder's model default is 'cinder', never used: a service always writes its
    # storage_availability_zone ('nova' by default), as the lab's rows made by hand do.
    availability_zone: Mapped[str | None] = mapped_column(
        String(255), default="nova", nullable=True
    )
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # When an operator last enabled or disabled it (updated_at is the heartbeat's).
    modified_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)


class _VolumeColumns(_CinderBase):
    """A volume; ``host`` is ``host@backend#pool`` once the scheduler placed it."""

    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Cinder's column is display_name; the lab's code calls it ``name``.
    name: Mapped[str | None] = mapped_column("display_name", String(255), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str | None] = mapped_column(String(255), nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The API always sets it; the default (the lab's, client-side) serves rows made by hand.
    availability_zone: Mapped[str | None] = mapped_column(
        String(255), default="nova", nullable=True
    )
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    # Lab only: the type's name (Cinder keeps volume_type_id into volume_types).
    volume_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Lab only: why a volume ended ``error`` (Cinder writes a user message instead).
    status_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)


class _BackupColumns(_CinderBase):
    """A backup; ``host`` is the cinder-backup host that must serve it."""

    __tablename__ = "backups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36))
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Empty until the backup manager sets it (Kilo when it finishes, today when it starts).
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str | None] = mapped_column(String(255), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    service: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Lab only: the cinder-volume host the data was read from.
    volume_host: Mapped[str | None] = mapped_column(String(255), nullable=True)


class KiloBase(DeclarativeBase):
    """Cinder 2015.1.4's schema."""

    metadata = MetaData()


class CurrentBase(DeclarativeBase):
    """Today's schema."""

    metadata = MetaData()


class KiloService(_ServiceColumns, KiloBase):
    """Kilo's services row: no version columns, no uuid."""


class KiloVolume(_VolumeColumns, KiloBase):
    """Kilo's volumes row: no previous_status (it arrived in Liberty)."""


class KiloBackup(_BackupColumns, KiloBase):
    """Kilo's backups row."""


class CurrentService(_ServiceColumns, CurrentBase):
    """Today's services row; ``updated_at`` is set when the row is created."""

    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        Timestamp, nullable=True, default=utils.utcnow, onupdate=utils.utcnow
    )
    # objects.Service.create gives every new row a uuid (Newton on).
    uuid: Mapped[str | None] = mapped_column(
        String(36), nullable=True, unique=True, default=lambda: str(uuid.uuid4())
    )
    cluster_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Since Liberty: what each service speaks, for automatic RPC pinning.
    rpc_current_version: Mapped[str | None] = mapped_column(String(36), nullable=True)
    object_current_version: Mapped[str | None] = mapped_column(String(36), nullable=True)
    replication_status: Mapped[str | None] = mapped_column(
        String(36), default="not-capable", nullable=True
    )
    active_backend_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    frozen: Mapped[bool | None] = mapped_column(Boolean, default=False, nullable=True)


class CurrentVolume(_VolumeColumns, CurrentBase):
    """Today's volumes row."""

    # The status a backup (or other action) returns the volume to (Liberty on).
    previous_status: Mapped[str | None] = mapped_column(String(255), nullable=True)


class CurrentBackup(_BackupColumns, CurrentBase):
    """Today's backups row."""


class CurrentWorker(_CinderBase, CurrentBase):
    """A request a service acked but has not finished; Cinder's ``workers`` (Newton on).

    RPC is at-most-once: a service killed after the ack loses the message. The
    row tells that service, when it restarts, which resources it must clean up.
    """

    __tablename__ = "workers"
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        Timestamp, nullable=True, default=utils.utcnow, onupdate=utils.utcnow
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(255))
    service_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    race_preventer: Mapped[int] = mapped_column(Integer, default=0)
    # Lab only: which process took it (host:pid:start), so a second process with
    # the same host never cleans up work that a live one is doing.
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)


_CLASSES = {
    "kilo": SimpleNamespace(
        Base=KiloBase, Service=KiloService, Volume=KiloVolume, Backup=KiloBackup, Worker=None
    ),
    "current": SimpleNamespace(
        Base=CurrentBase,
        Service=CurrentService,
        Volume=CurrentVolume,
        Backup=CurrentBackup,
        Worker=CurrentWorker,
    ),
}
RELEASES = tuple(_CLASSES)
Base = _CinderBase  # for type hints: every model class of either release


def classes(release: str | None = None) -> SimpleNamespace:
    """The model classes of ``release`` (the configured one by default)."""
    return _CLASSES[release or config.release()]


def metadata(release: str | None = None) -> MetaData:
    """Every table of ``release``."""
    return classes(release).Base.metadata


def __getattr__(name: str) -> type:
    """``models.Service``, ``Volume``, ``Backup``, ``Worker``: the configured release's class."""
    if name in ("Service", "Volume", "Backup", "Worker"):
        found = getattr(classes(), name)
        if found is None:
            raise RuntimeError(f"lab_release = {config.release()} has no {name} table")
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
