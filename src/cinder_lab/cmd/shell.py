"""The client's commands; mirrors python-cinderclient's shell (service-list, create, ...).

Without ``[api] endpoint`` commands call the same ``volume/api.py`` and
``backup/api.py`` that cinder-api would, so the casts leave from here (the
single-process mode needs no server). With it, they send Cinder's v3 requests
to cinder-lab-api (``cmd/api_client.py``) and the casts leave from there.
"""

from __future__ import annotations

import argparse
from typing import Any

from cliff import command, lister, show

from cinder_lab import context, utils
from cinder_lab.cmd import api_client
from cinder_lab.cmd.common import LabMixin, connect, positive_seconds
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.volume import volume_utils


def _ts(value: object) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def wait_while(get: object, obj_id: str, busy: set[str], timeout: float) -> object:
    """The row once its status leaves ``busy`` (or as it is when ``timeout`` passes)."""
    quick = min(timeout, 1.0)
    # Most requests are done in tens of ms: every 10 ms for a second, then every 0.1 s.
    if not utils.wait_until(lambda: get(obj_id).status not in busy, quick, interval=0.01):
        utils.wait_until(lambda: get(obj_id).status not in busy, timeout - quick, interval=0.1)
    return get(obj_id)


def source() -> Any:
    """Where the commands read: cinder-lab-api when ``[api] endpoint`` is set, else the
    database (both answer ``volume_get``, ``backup_get_all``, ``service_get_all``...)."""
    return api_client.configured() or db


# -- services -----------------------------------------------------------------

SERVICE_COLUMNS = (
    "Binary",
    "Host",
    "Zone",
    "Status",
    "State",
    "Updated_at",
    "Disabled Reason",
)


def service_row(s: models.Service) -> tuple:
    """A services row as ``cinder service-list`` prints it."""
    return (
        s.binary,
        s.host,
        s.availability_zone,
        utils.service_status(s),
        utils.service_state(s),
        _ts(s.updated_at),
        s.disabled_reason or "-",
    )


class ServiceList(LabMixin, lister.Lister):
    """List services: binary, host, zone, status, state (up/down), last heartbeat."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--binary", help="only this binary")
        parser.add_argument("--host", help="only this host")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        rows = [
            service_row(s)
            for s in source().service_get_all()
            if (not args.binary or s.binary == args.binary)
            and (not args.host or s.host == args.host)
        ]
        return SERVICE_COLUMNS, rows


class _ServiceToggle(LabMixin, show.ShowOne):
    disable = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("host", metavar="HOST")
        parser.add_argument("binary", metavar="BINARY")
        if self.disable:
            parser.add_argument("--reason", help="why (shown in service-list)")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        reason = getattr(args, "reason", None) if self.disable else None
        api = api_client.configured()
        if api:
            return SERVICE_COLUMNS, service_row(
                api.service_set(args.host, args.binary, self.disable, reason)
            )
        row = db.service_get_by_args(args.host, args.binary)
        row = db.service_update(row.id, {"disabled": self.disable, "disabled_reason": reason})
        return SERVICE_COLUMNS, service_row(row)


class ServiceDisable(_ServiceToggle):
    """Disable a service: the scheduler and backup API stop choosing it."""

    disable = True


class ServiceEnable(_ServiceToggle):
    """Enable a service again."""


# -- volumes ------------------------------------------------------------------

VOLUME_FIELDS = (
    "id",
    "name",
    "size",
    "status",
    "os-vol-host-attr:host",
    "availability_zone",
    "volume_type",
    "status_reason",
    "created_at",
    "updated_at",
)


def volume_fields(v: models.Volume) -> tuple:
    """A volume as ``cinder show`` prints it."""
    return VOLUME_FIELDS, (
        v.id,
        v.name,
        v.size,
        v.status,
        v.host,
        v.availability_zone,
        v.volume_type,
        v.status_reason,
        _ts(v.created_at),
        _ts(v.updated_at),
    )


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait until the request is done")
    parser.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=60.0,
        metavar="S",
        help="give up waiting after S seconds (default 60)",
    )


class VolumeCreate(LabMixin, show.ShowOne):
    """Create a volume: API -> scheduler (cast) -> cinder-volume.host@backend (cast)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("size", metavar="SIZE", help="size in GB")
        parser.add_argument("--name", help="volume name")
        parser.add_argument("--volume-type", help="a volume_backend_name; only its pools qualify")
        _add_wait(parser)
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        from cinder_lab.volume import api as volume_api

        volume_api.parse_size(args.size)  # fail before connecting
        api = api_client.configured()
        if api:
            volume = api.volume_create(args.size, args.name, args.volume_type)
        else:
            connect()
            ctxt = context.get_admin_context()
            volume = volume_api.API().create(ctxt, args.size, args.name, args.volume_type)
        if args.wait:
            volume = wait_while(source().volume_get, volume.id, {"creating"}, args.wait_timeout)
            if volume.status != "available":
                self.app.stdout.write(f"volume {volume.id} is {volume.status}\n")
                # Here, not at the top: it loads the RPC modules, which service-list must not.
                from cinder_lab.cmd import waiting

                raise waiting.failure(
                    "volume", volume, volume.status_reason, args.wait_timeout, {"creating"}
                )
        return volume_fields(volume)


class VolumeList(LabMixin, lister.Lister):
    """List volumes with their host@backend#pool."""

    def take_action(self, args: argparse.Namespace) -> tuple:
        cols = ("ID", "Status", "Name", "Size", "Volume Type", "Host")
        rows = [
            (v.id, v.status, v.name, v.size, v.volume_type, v.host)
            for v in source().volume_get_all()
        ]
        return cols, rows


class VolumeShow(LabMixin, show.ShowOne):
    """Show one volume, with its host at each level (extract_host: host, backend, pool)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="VOLUME", help="volume id")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        volume = source().volume_get(args.volume)
        fields, values = volume_fields(volume)
        # A volume not yet placed (still with the scheduler, or stuck before it) has no host.
        levels = [
            volume_utils.extract_host(volume.host, lv) if volume.host else None
            for lv in ("host", "backend", "pool")
        ]
        at = fields.index("os-vol-host-attr:host") + 1
        names = ("level host", "level backend", "level pool")
        return fields[:at] + names + fields[at:], values[:at] + tuple(levels) + values[at:]


# -- backups ------------------------------------------------------------------

BACKUP_FIELDS = (
    "id",
    "volume_id",
    "status",
    "host",
    "availability_zone",
    "volume_host",
    "fail_reason",
    "created_at",
    "updated_at",
)


def backup_fields(b: models.Backup) -> tuple:
    """A backup as ``cinder backup-show`` prints it."""
    return BACKUP_FIELDS, (
        b.id,
        b.volume_id,
        b.status,
        b.host,
        b.availability_zone,
        b.volume_host,
        b.fail_reason,
        _ts(b.created_at),
        _ts(b.updated_at),
    )


class BackupCreate(LabMixin, show.ShowOne):
    """Back up a volume: cast create_backup to cinder-backup.<extract_host(host, 'host')>."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="VOLUME", help="volume id")
        _add_wait(parser)
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        from cinder_lab.backup import api as backup_api

        api = api_client.configured()
        if api:
            backup = api.backup_create(args.volume)
        else:
            db.volume_get(args.volume)  # an unknown id fails before connecting
            connect()
            backup = backup_api.API().create(context.get_admin_context(), args.volume)
        if args.wait:
            backup = wait_while(source().backup_get, backup.id, {"creating"}, args.wait_timeout)
            if backup.status != "available":
                self.app.stdout.write(f"backup {backup.id} is {backup.status}\n")
                # Here, not at the top: it loads the RPC modules, which service-list must not.
                from cinder_lab.cmd import waiting

                raise waiting.failure(
                    "backup", backup, backup.fail_reason, args.wait_timeout, {"creating"}
                )
        return backup_fields(backup)


class BackupList(LabMixin, lister.Lister):
    """List backups and the cinder-backup host each one went to."""

    def take_action(self, args: argparse.Namespace) -> tuple:
        cols = ("ID", "Volume ID", "Status", "Host", "Zone")
        rows = [
            (b.id, b.volume_id, b.status, b.host, b.availability_zone)
            for b in source().backup_get_all()
        ]
        return cols, rows


class BackupShow(LabMixin, show.ShowOne):
    """Show one backup."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("backup", metavar="BACKUP", help="backup id")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        return backup_fields(source().backup_get(args.backup))


COMMANDS: dict[str, type[command.Command]] = {
    "service-list": ServiceList,
    "service-disable": ServiceDisable,
    "service-enable": ServiceEnable,
    "create": VolumeCreate,
    "list": VolumeList,
    "show": VolumeShow,
    "backup-create": BackupCreate,
    "backup-list": BackupList,
    "backup-show": BackupShow,
}
