"""``cinder-lab``: the client, built on cliff like OpenStack's command-line tools.

Tables by default, ``-f json`` (or yaml, value, csv) on every command that
prints a record or a list.

The command registry is lazy, as python-openstackclient's entry points are:
each name maps to ``module:Class`` and only the module of the command that
runs is imported, so ``service-list`` (the database only) never loads
oslo.messaging. The one-line help of ``--help`` comes from the same table
(a test keeps it equal to each class's docstring), and cliff's per-command
plugin hooks and "provided by the ... plugin" epilog, which scan every
installed package's metadata, are skipped: the lab has no plugins.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, TextIO

from cliff import app, commandmanager, help
from oslo_config import cfg
from sqlalchemy.exc import SQLAlchemyError

from cinder_lab import exception
from cinder_lab.cmd import common
from cinder_lab.common import config

# The command registry, in one place: name -> ("module:Class", its docstring's first line).
COMMANDS: dict[str, tuple[str, str]] = {
    "service-list": (
        "cinder_lab.cmd.shell:ServiceList",
        "List services: binary, host, zone, status, state (up/down), last heartbeat.",
    ),
    "service-disable": (
        "cinder_lab.cmd.shell:ServiceDisable",
        "Disable a service: the scheduler and backup API stop choosing it.",
    ),
    "service-enable": ("cinder_lab.cmd.shell:ServiceEnable", "Enable a service again."),
    "create": (
        "cinder_lab.cmd.shell:VolumeCreate",
        "Create a volume: API -> scheduler (cast) -> cinder-volume.host@backend (cast).",
    ),
    "list": ("cinder_lab.cmd.shell:VolumeList", "List volumes with their host@backend#pool."),
    "show": (
        "cinder_lab.cmd.shell:VolumeShow",
        "Show one volume, with its host at each level (extract_host: host, backend, pool).",
    ),
    "backup-create": (
        "cinder_lab.cmd.shell:BackupCreate",
        "Back up a volume: cast create_backup to cinder-backup.<extract_host(host, 'host')>.",
    ),
    "backup-list": (
        "cinder_lab.cmd.shell:BackupList",
        "List backups and the cinder-backup host each one went to.",
    ),
    "backup-show": ("cinder_lab.cmd.shell:BackupShow", "Show one backup."),
    "reset-state": (
        "cinder_lab.cmd.reset:ResetState",
        "Set a volume's (or backup's) status in the database, with no regard to the real one.",
    ),
    "backup-reset-state": (
        "cinder_lab.cmd.reset:BackupResetState",
        "Set a backup's status (available or error) in the database.",
    ),
    "get-pools": (
        "cinder_lab.cmd.hosts:GetPools",
        "Ask a scheduler (an RPC call) which pools it learned from the fanout reports.",
    ),
    "extract-host": (
        "cinder_lab.cmd.hosts:ExtractHost",
        "Show extract_host(HOST) at each level, and where each kind of request goes.",
    ),
    "scenario list": ("cinder_lab.cmd.scenario:ScenarioList", "List the scenarios."),
    "scenario run": (
        "cinder_lab.cmd.scenario:ScenarioRun",
        "Run a scenario: one process on kombu+memory:// unless --transport-url names a broker.",
    ),
    "topology": (
        "cinder_lab.cmd.observe:Topology",
        "Live exchanges, queues, bindings and consumers, and the service behind each consumer.",
    ),
    "trace": (
        "cinder_lab.cmd.observe:Trace",
        "Every RPC message as it passes: routed queues (or DROPPED), kind, method, consumer.",
    ),
    "route": (
        "cinder_lab.cmd.observe:Route",
        "Explain, without sending anything, how a backup (or volume) request would travel.",
    ),
    "web": (
        "cinder_lab.cmd.web:Web",
        "Serve the live view: the routing graph, every message on its path, the services.",
    ),
}

# Command modules whose COMMANDS the table above must match (checked by a test).
COMMAND_MODULES = (
    "cinder_lab.cmd.shell",
    "cinder_lab.cmd.hosts",
    "cinder_lab.cmd.reset",
    "cinder_lab.cmd.scenario",
    "cinder_lab.cmd.observe",
    "cinder_lab.cmd.web",
)


def without_plugins(cls: type) -> type:
    """``cls`` without cliff's plugin lookups: no hook namespace, no distribution epilog."""

    def _load_hooks(self: Any) -> None:
        self._hooks = []

    def get_epilog(self: Any) -> str:
        return getattr(self, "_epilog", None) or ""

    attrs = {"__doc__": cls.__doc__, "__module__": cls.__module__}
    attrs |= {"_load_hooks": _load_hooks, "get_epilog": get_epilog}
    return type(cls.__name__, (cls,), attrs)


def load(target: str) -> type:
    """Import ``module:Class`` and return the class, ready for cliff."""
    module, _, name = target.partition(":")
    # __import__, not importlib.import_module: -X importtime only reports the former.
    return without_plugins(getattr(__import__(module, fromlist=[name]), name))


class LazyEntry:
    """What cliff's CommandManager keeps per name: an object whose ``load()`` gives the class."""

    def __init__(self, name: str, target: str) -> None:
        self.name = name
        self.value = target

    def load(self) -> type:
        return load(self.value)


class LazyCommandManager(commandmanager.CommandManager):
    """cliff's CommandManager over COMMANDS, without stevedore: nothing imported until used."""

    def __init__(self) -> None:
        super().__init__(namespace=None)
        for name, (target, _) in COMMANDS.items():
            self.commands[name] = LazyEntry(name, target)

    def add_command(self, name: str, command_class: type) -> None:
        # cliff's own help and complete commands, without their plugin lookups too.
        super().add_command(name, without_plugins(command_class))


def print_commands(out: TextIO) -> None:
    """The command list of ``--help``, from COMMANDS (nothing imported)."""
    extra = {"help": "print detailed help for another command", "complete": "print bash completion"}
    lines = {name: text.rstrip(".") for name, (_, text) in COMMANDS.items()} | extra
    out.write("\nCommands:\n")
    for name in sorted(lines):
        out.write(f"  {name:<15}  {lines[name]}\n")


class Help(help.HelpCommand):
    """print detailed help for another command"""

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        if parsed_args.cmd:
            return super().take_action(parsed_args)
        self.app.parser.print_help(self.app.stdout)
        print_commands(self.app.stdout)
        return 0


class CinderLab(app.App):
    """The ``cinder-lab`` application."""

    def __init__(self) -> None:
        super().__init__(
            description="cinder-lab client: Cinder's service, volume and backup "
            "commands over the lab's RPC routing.",
            version="0.1.0",
            command_manager=LazyCommandManager(),
            deferred_help=True,
        )
        self.command_manager.add_command("help", Help)

    def build_option_parser(
        self, description: str, version: str, argparse_kwargs: dict | None = None
    ) -> argparse.ArgumentParser:
        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser.add_argument(
            "--config-file",
            action="append",
            default=[],
            metavar="PATH",
            help="a cinder.conf-like file (default: etc/cinder-lab/cinder-lab.conf "
            "or /etc/cinder-lab/cinder-lab.conf)",
        )
        return common.one_line_parser(parser)

    def print_help_if_requested(self) -> None:
        # cliff's HelpAction imports every command and scans installed packages.
        if self.deferred_help and self.options.deferred_help:
            self.parser.print_help(self.stdout)
            print_commands(self.stdout)
            raise help.HelpExit()

    def get_fuzzy_matches(self, cmd: str) -> list[str]:
        # cliff prints suggestions over several lines on stdout; the lab wants one error line.
        return []

    def configure_logging(self) -> None:
        super().configure_logging()
        for handler in logging.getLogger().handlers:
            handler.addFilter(common.MaskSecrets())
        # oslo.service logs its backend choice when a command first imports oslo.messaging.
        noisy = ("oslo.messaging", "oslo_messaging", "oslo_service", "amqp", "kombu", "stevedore")
        for name in noisy:
            logging.getLogger(name).setLevel(logging.ERROR)

    def initialize_app(self, argv: list[str]) -> None:
        args: list[str] = []
        for path in self.options.config_file:
            args += ["--config-file", path]
        config.parse_args(args)

    def run_subcommand(self, argv: list[str]) -> int:
        try:
            return super().run_subcommand(argv)
        finally:
            # Only a command that used RPC loaded it; the others must not import it now.
            rpc = sys.modules.get("cinder_lab.rpc")
            if rpc is not None:
                rpc.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cinder-lab``."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return CinderLab().run(argv)
    except (exception.CinderLabException, SQLAlchemyError, cfg.Error) as e:
        print(f"cinder-lab: error: {common.one_line(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
