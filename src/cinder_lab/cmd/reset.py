"""``cinder-lab reset-state`` and ``backup-reset-state``; mirror python-cinderclient's.

The operator's way out of a record left in a transient status (``creating``,
``backing-up``) by a process that died between writing it and sending its
message. Each sends Cinder's ``os-reset_status`` action to cinder-lab-api with
``[api] endpoint``, else applies the same checks here, against the database.
Like cinderclient, several ids may be given; the command fails only when every
one failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from cliff import command

from cinder_lab import context, exception
from cinder_lab.cmd import api_client
from cinder_lab.cmd.common import LabMixin


def reset(collection: str, item_id: str, args: dict) -> None:
    """One ``os-reset_status``, over HTTP or in this process; CinderLabException if refused."""
    api = api_client.configured()
    if api:
        api.reset_status(collection, item_id, args)
        return
    # Here, not at the top: the API's modules load Starlette, which other commands skip.
    from cinder_lab.api import errors
    from cinder_lab.api.contrib import admin_actions

    apply = admin_actions.reset_volume if collection == "volumes" else admin_actions.reset_backup
    try:
        apply(context.get_admin_context(), item_id, args)
    except errors.Fault as e:
        raise exception.CinderLabException(e.message) from None


def reset_each(
    ids: list[str], collection: str, args: dict, accepted: str | None, out: TextIO
) -> None:
    """Reset every id; report each failure in one line, and fail if none was reset."""
    failures = []
    for item_id in ids:
        try:
            reset(collection, item_id, args)
        except exception.CinderLabException as e:
            failures.append(f"Reset state for {item_id} failed: {e}")
            continue
        if accepted:
            out.write(accepted % item_id + "\n")
    if len(failures) == len(ids):  # every one failed: one error line that says why
        if len(ids) == 1:
            raise exception.CinderLabException(failures[0])
        why = "; ".join(failures)
        raise exception.CinderLabException(
            f"Unable to reset the state for the specified entity(s): {why}"
        )
    for line in failures:  # some were reset: say which were not, exit 0 as cinderclient does
        print(line, file=sys.stderr)


class ResetState(LabMixin, command.Command):
    """Set a volume's (or backup's) status in the database, with no regard to the real one."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("entity", metavar="ENTITY", nargs="+", help="volume (or backup) id")
        parser.add_argument("--type", choices=("volume", "backup"), default="volume")
        parser.add_argument("--state", help="the status to write (default: unchanged)")
        parser.add_argument("--attach-status", help="attached or detached (checked, not kept)")
        parser.add_argument("--reset-migration-status", action="store_true")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        body = {"status": args.state} if args.state else {}
        if args.type == "volume":
            if args.attach_status:
                body["attach_status"] = args.attach_status
            if args.reset_migration_status:
                body["migration_status"] = "none"
        reset_each(args.entity, f"{args.type}s", body, None, self.app.stdout)
        return 0


class BackupResetState(LabMixin, command.Command):
    """Set a backup's status (available or error) in the database."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("backup", metavar="BACKUP", nargs="+", help="backup id")
        parser.add_argument("--state", default="available", help="available or error")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        accepted = "Request to update backup '%s' has been accepted."
        reset_each(args.backup, "backups", {"status": args.state}, accepted, self.app.stdout)
        return 0


COMMANDS: dict[str, type[command.Command]] = {
    "reset-state": ResetState,
    "backup-reset-state": BackupResetState,
}
