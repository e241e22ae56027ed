"""The client's commands; mirrors python-cinderclient's shell (service-list, create, ...).

The lab has no REST API: commands call the same ``volume/api.py`` and
``backup/api.py`` that cinder-api would, so the casts leave from here.
"""

from __future__ import annotations

import argparse
import sys
import time
import types

from cliff import command, lister, show
from sqlalchemy.exc import SQLAlchemyError

from cinder_lab import context, exception, rpc, utils
from cinder_lab.backup import api as backup_api
from cinder_lab.cmd import common
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.volume import api as volume_api
from cinder_lab.volume import volume_utils


def _one_line_error(self: argparse.ArgumentParser, message: str) -> None:
    # argparse prints the whole usage first; the lab wants one line.
    print(f"{self.prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def one_line_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report bad arguments on one line."""
    parser.error = types.MethodType(_one_line_error, parser)  # type: ignore[method-assign]
    return parser


def _ts(value: object) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None  # type: ignore[attr-defined]


def connect() -> None:
    """Create the transport and check the broker answers, before any row is written."""
    if not rpc.initialized():
        rpc.init(CONF)
        rpc.check_broker(CONF)


def wait_for(get: object, obj_id: str, busy: set[str], timeout: float) -> object:
    """Poll a row until its status leaves ``busy`` (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    row = get(obj_id)  # type: ignore[operator]
    while row.status in busy and time.monotonic() < deadline:
        time.sleep(0.2)
        row = get(obj_id)  # type: ignore[operator]
    return row


class LabMixin:
    """One-line errors for every command: bad arguments and failures alike."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return one_line_parser(super().get_parser(prog_name))  # type: ignore[misc]

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)  # type: ignore[misc]
        except exception.CinderLabException as e:
            # cliff logs str(err) as is: keep it one short, printable, masked line.
            raise exception.CinderLabException(common.one_line(e)) from None
        except SQLAlchemyError as e:
            url = utils.mask_url(CONF.database.connection)
            raise exception.CinderLabException(
                f"database {url}: {common.one_line(e.orig or e)}"
            ) from None
        except Exception as e:
            # cliff prints str(err); keep it to one masked line.
            raise exception.CinderLabException(
                f"{type(e).__name__}: {common.one_line(e)}"
            ) from None


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
        "disabled" if s.disabled else "enabled",
        "up" if utils.service_is_up(s) else "down",
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
            for s in db.service_get_all()
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
        row = db.service_get_by_args(args.host, args.binary)
        reason = getattr(args, "reason", None) if self.disable else None
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
        type=float,
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
        volume_api.parse_size(args.size)  # fail before connecting
        connect()
        ctxt = context.get_admin_context()
        volume = volume_api.API().create(ctxt, args.size, args.name, args.volume_type)
        if args.wait:
            volume = wait_for(db.volume_get, volume.id, {"creating"}, args.wait_timeout)
            if volume.status != "available":
                self.app.stdout.write(f"volume {volume.id} is {volume.status}\n")
                raise exception.CinderLabException(
                    f"volume {volume.id} ended {volume.status}: {volume.status_reason}"
                )
        return volume_fields(volume)


class VolumeList(LabMixin, lister.Lister):
    """List volumes with their host@backend#pool."""

    def take_action(self, args: argparse.Namespace) -> tuple:
        cols = ("ID", "Status", "Name", "Size", "Volume Type", "Host")
        rows = [
            (v.id, v.status, v.name, v.size, v.volume_type, v.host) for v in db.volume_get_all()
        ]
        return cols, rows


class VolumeShow(LabMixin, show.ShowOne):
    """Show one volume, with its host at each level."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="VOLUME", help="volume id")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        return volume_fields(db.volume_get(args.volume))


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
        db.volume_get(args.volume)  # an unknown id fails before connecting
        connect()
        backup = backup_api.API().create(context.get_admin_context(), args.volume)
        if args.wait:
            backup = wait_for(db.backup_get, backup.id, {"creating"}, args.wait_timeout)
            if backup.status != "available":
                raise exception.CinderLabException(
                    f"backup {backup.id} ended {backup.status}: {backup.fail_reason}"
                )
        return backup_fields(backup)


class BackupList(LabMixin, lister.Lister):
    """List backups and the cinder-backup host each one went to."""

    def take_action(self, args: argparse.Namespace) -> tuple:
        cols = ("ID", "Volume ID", "Status", "Host", "Zone")
        rows = [
            (b.id, b.volume_id, b.status, b.host, b.availability_zone) for b in db.backup_get_all()
        ]
        return cols, rows


class BackupShow(LabMixin, show.ShowOne):
    """Show one backup."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("backup", metavar="BACKUP", help="backup id")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        return backup_fields(db.backup_get(args.backup))


# -- scheduler and host strings ------------------------------------------------


class GetPools(LabMixin, lister.Lister):
    """Ask a scheduler (an RPC call) which pools it learned from the fanout reports."""

    def take_action(self, args: argparse.Namespace) -> tuple:
        from cinder_lab.scheduler import rpcapi as scheduler_rpcapi

        connect()
        pools = scheduler_rpcapi.SchedulerAPI().get_pools(context.get_admin_context())
        cols = ("Name", "Backend", "Pool", "Total GB", "Free GB")
        rows = [
            (
                p["name"],
                volume_utils.extract_host(p["name"]),
                volume_utils.extract_host(p["name"], "pool"),
                p["capabilities"]["total_capacity_gb"],
                p["capabilities"]["free_capacity_gb"],
            )
            for p in pools
        ]
        return cols, rows


class ExtractHost(LabMixin, show.ShowOne):
    """Show extract_host(HOST) at each level, and where each kind of request goes."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("host", metavar="HOST_STRING", help="e.g. HostA@BackendB#PoolC")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        host = args.host
        if not host or any(c.isspace() for c in host) or host.count("#") > 1:
            raise exception.InvalidHost(reason=f"{host!r} is not host[@backend][#pool]")
        backend = volume_utils.extract_host(host)
        plain = volume_utils.extract_host(host, "host")
        fields = (
            "host string",
            "level host",
            "level backend",
            "level pool",
            "level pool (default_pool_name=True)",
            "volume RPC queue",
            "backup RPC queue",
        )
        values = (
            host,
            plain,
            backend,
            volume_utils.extract_host(host, "pool"),
            volume_utils.extract_host(host, "pool", True),
            f"{CONF.volume_topic}.{backend}",
            f"{CONF.backup_topic}.{plain}",
        )
        return fields, values


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
    "get-pools": GetPools,
    "extract-host": ExtractHost,
}


def _scenario_commands() -> dict[str, type[command.Command]]:
    from cinder_lab.cmd import scenario

    return {"scenario list": scenario.ScenarioList, "scenario run": scenario.ScenarioRun}


COMMANDS.update(_scenario_commands())

# The observation commands live in their own module, which imports LabMixin from here.
from cinder_lab.cmd import observe  # noqa: E402

COMMANDS.update(observe.COMMANDS)
