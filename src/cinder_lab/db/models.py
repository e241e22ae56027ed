"""Tables; a trimmed copy of cinder/db/sqlalchemy/models.py (services, volumes, backups)."""

from __future__ import annotations

import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cinder_lab import utils

# MySQL's DATETIME drops microseconds unless asked; SQLite keeps them. Keep both alike.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Timestamps every Cinder table carries."""

    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utils.utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        Timestamp, nullable=True, onupdate=utils.utcnow
    )


class Service(Base):
    """One row per running binary and host: what ``service-list`` shows."""

    __tablename__ = "services"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    # Since Liberty: what each service speaks, for automatic RPC pinning (NULL in Kilo).
    rpc_current_version: Mapped[str | None] = mapped_column(String(36), nullable=True)
    object_current_version: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Volume(Base):
    """A volume; ``host`` is ``host@backend#pool`` once the scheduler placed it."""

    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    volume_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # When the scheduler placed it (both releases' volume_update_db set it with the host).
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    status_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # current: the status a backup (or other action) returns the volume to.
    previous_status: Mapped[str | None] = mapped_column(String(255), nullable=True)


class Backup(Base):
    """A backup; ``host`` is the cinder-backup host that must serve it."""

    __tablename__ = "backups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    # The cinder-volume host that answered the manager's get_backup_device call.
    volume_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)


class Worker(Base):
    """A request a service acked but has not finished; mirrors Cinder's ``workers`` table.

    RPC is at-most-once: a service killed after the ack loses the message. The
    row tells that service, when it restarts, which resources it must clean up.
    """

    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(255))
    service_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Which process took it (host:pid:start), so a second process with the same
    # host never cleans up work that a live one is doing. NULL: an older lab's row.
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
