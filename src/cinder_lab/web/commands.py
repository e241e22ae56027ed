"""The page's command box: the client's commands, typed on the page, run in the server.

Lab-only. In the single-process mode the services are threads of the web
server on its in-process broker, so a ``cinder-lab`` client started in another
terminal has a broker of its own and nothing it sends can reach them. The box
runs the same calls the client makes without ``[api] endpoint``
(``volume/api.py``, ``backup/api.py``, the ``services`` table) in the server's
process, so the casts leave from there, as from ``cinder-api``, and travel the
page. A line is split like a shell's (``shlex``) and parsed by argparse against
a fixed list of commands; nothing is ever run by a shell. ``config`` is the
note's change of ``cinder.conf``: it sets one host option and restarts the
services that read it, as an operator would.
"""

from __future__ import annotations

import argparse
import shlex
import threading
from collections.abc import Callable
from pathlib import Path

from cinder_lab import context, exception, memory_tap, utils
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab

MAX_LINE = 300  # characters in one typed command
WAIT = 10.0  # seconds a create waits for its row to leave "creating"
CONFIG_OPTIONS = {"DEFAULT": ("host",), "backend": ("host", "backend_host")}


class CommandError(exception.CinderLabException):
    """A typed command the box refuses: one line, nothing changed."""

    message = "%(reason)s"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print and exit the server
        raise CommandError(reason=f"{self.prog}: {message}")


class OwnLab:
    """The web server's own in-process services: stopped for a story, started again after."""

    def __init__(self, config_files: list[str], lab: Lab | None = None) -> None:
        self.config_files = list(config_files)
        self.lab = lab
        self.overrides: list[tuple[str, str | None]] = []  # (option, section) set by `config`

    def start(self) -> None:
        self.lab = Lab()
        self.lab.start_configured()

    def clear_overrides(self) -> None:
        """The box's ``config`` changes undone (the files were never written)."""
        for option, group in self.overrides:
            CONF.clear_override(option, group=group)
        self.overrides.clear()

    def stop(self) -> None:
        """Before a story: its own config replaces the server's; the box's changes go."""
        self.clear_overrides()
        if self.lab is not None:
            self.lab.close()
            self.lab = None

    def restore(self) -> None:
        """After a story: the server's config, database and services again, live."""
        config.parse_args([a for f in self.config_files for a in ("--config-file", f)])
        db.dispose_engine()
        memory_tap.reset()  # the story's queues and exchanges go with its services
        self.start()


def _parser() -> tuple[_Parser, dict[str, Callable]]:
    root = _Parser(prog="cinder-lab", add_help=False)
    sub = root.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    p = sub.add_parser("create", add_help=False)
    p.add_argument("size", metavar="SIZE")
    p.add_argument("--name")
    p.add_argument("--volume-type")
    sub.add_parser("backup-create", add_help=False).add_argument("volume", metavar="VOLUME")
    for name in ("service-disable", "service-enable"):
        p = sub.add_parser(name, add_help=False)
        p.add_argument("host", metavar="HOST")
        p.add_argument("binary", metavar="BINARY")
        if name == "service-disable":
            p.add_argument("--reason")
    sub.add_parser("list", add_help=False)
    sub.add_parser("backup-list", add_help=False)
    p = sub.add_parser("config", add_help=False)
    p.add_argument("section", metavar="SECTION")
    p.add_argument("option", metavar="OPTION")
    p.add_argument("value", metavar="VALUE", nargs="?")
    p.add_argument("--unset", action="store_true")
    return root, sub.choices


class CommandBox:
    """Parses and runs one typed line at a time against the server's own lab."""

    def __init__(self, own: OwnLab, busy: Callable[[], str | None] = lambda: None) -> None:
        self.own = own
        self.busy = busy  # the running story's name, if any
        self._lock = threading.Lock()

    @staticmethod
    def known() -> list[str]:
        return list(_parser()[1])

    def run(self, line: object) -> dict:
        """``{"command", "output"}``; CommandError (one line, nothing changed) when refused."""
        args = self.parse(line)
        story = self.busy()
        if story:
            raise CommandError(reason=f"story {story!r} is running: stop it first")
        if self.own.lab is None:
            raise CommandError(reason="the lab's services are not running (a story is ending)")
        with self._lock:  # one command at a time: a restart must not meet a create
            output = getattr(self, "_" + args.command.replace("-", "_"))(args)
        return {"command": line.strip(), "output": output}

    def parse(self, line: object) -> argparse.Namespace:
        if not isinstance(line, str) or not line.strip():
            raise CommandError(reason="type a command, e.g. create 1")
        if len(line) > MAX_LINE or not line.isprintable():
            raise CommandError(reason=f"a command is one printable line of at most {MAX_LINE}")
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise CommandError(reason=f"cannot split the line: {e}") from None
        if words[0] == "cinder-lab":
            words = words[1:]
        root, known = _parser()
        if not words or words[0] not in known:
            got = words[0] if words else "(nothing)"
            raise CommandError(reason=f"unknown command {got!r} (known: {', '.join(known)})")
        return root.parse_args(words)

    # -- the commands ---------------------------------------------------------------

    def _create(self, args: argparse.Namespace) -> list[str]:
        from cinder_lab.volume import api as volume_api

        ctxt = context.get_admin_context()
        vol = volume_api.API().create(ctxt, args.size, args.name, args.volume_type)
        utils.wait_until(lambda: db.volume_get(vol.id).status != "creating", WAIT)
        vol = db.volume_get(vol.id)
        return [f"volume {vol.id}: {vol.status}, host {vol.host}"]

    def _backup_create(self, args: argparse.Namespace) -> list[str]:
        from cinder_lab.backup import api as backup_api

        db.volume_get(args.volume)  # an unknown id: VolumeNotFound, nothing sent
        bak = backup_api.API().create(context.get_admin_context(), args.volume)
        utils.wait_until(lambda: db.backup_get(bak.id).status != "creating", WAIT)
        bak = db.backup_get(bak.id)
        return [f"backup {bak.id}: {bak.status}, host {bak.host}"]

    def _toggle(self, args: argparse.Namespace, disable: bool) -> list[str]:
        row = db.service_get_by_args(args.host, args.binary)
        reason = getattr(args, "reason", None)
        row = db.service_update(row.id, {"disabled": disable, "disabled_reason": reason})
        return [f"{row.binary} {row.host}: {utils.service_status(row)}"]

    def _service_disable(self, args: argparse.Namespace) -> list[str]:
        return self._toggle(args, True)

    def _service_enable(self, args: argparse.Namespace) -> list[str]:
        return self._toggle(args, False)

    def _list(self, _args: argparse.Namespace) -> list[str]:
        rows = db.volume_get_all()
        return [f"{v.id}  {v.status:<9} {v.host}" for v in rows] or ["no volumes"]

    def _backup_list(self, _args: argparse.Namespace) -> list[str]:
        rows = db.backup_get_all()
        return [f"{b.id}  {b.status:<9} {b.host}" for b in rows] or ["no backups"]

    def _config(self, args: argparse.Namespace) -> list[str]:
        """Set (or unset) one host option and restart the services that read it."""
        section, option = args.section.strip("[]"), args.option
        if section == "DEFAULT":
            allowed, group = CONFIG_OPTIONS["DEFAULT"], None
        elif section in CONF.enabled_backends:
            allowed, group = CONFIG_OPTIONS["backend"], section
        else:
            known = ", ".join(["DEFAULT", *CONF.enabled_backends])
            raise CommandError(reason=f"config: no section [{section}] here (known: {known})")
        if option not in allowed:
            raise CommandError(
                reason=f"config: [{section}] {option} is not one the box sets "
                f"(it sets {', '.join(allowed)})"
            )
        if args.unset == (args.value is not None):
            raise CommandError(reason="config: give a VALUE, or --unset")
        if args.value is not None:
            try:
                config.check_host(args.value, f"[{section}] {option}")
            except exception.ConfigError as e:
                raise CommandError(reason=f"config: {e}") from None
            CONF.set_override(option, args.value, group=group)
            self.own.overrides.append((option, group))
        else:
            CONF.clear_override(option, group=group)
        return self._restart(section) + [f"[{section}] {option} = {args.value or '(unset)'}"]

    def _restart(self, section: str) -> list[str]:
        lab = self.own.lab
        if section == "DEFAULT":
            lab.stop_all()
            started = lab.start_configured()
        else:
            for s in [s for s in lab.services if s.binary == "cinder-volume"]:
                if s.host.endswith(f"@{section}"):
                    lab.stop(s)
            started = lab.start_volume([section])
            lab.wait_for_backends(started)
        return [f"restarted {s.binary} {s.host}" for s in started]


def config_files() -> list[str]:
    """The files the server's CONF was read from, for ``OwnLab.restore``."""
    return [str(Path(f)) for f in CONF.config_file or []]
