"""``cinder-lab``: the client, built on cliff like OpenStack's command-line tools.

Tables by default, ``-f json`` (or yaml, value, csv) on every command that
prints a record or a list.
"""

from __future__ import annotations

import argparse
import logging
import sys

from cliff import app, commandmanager
from oslo_config import cfg
from sqlalchemy.exc import SQLAlchemyError

from cinder_lab import exception, rpc
from cinder_lab.cmd import common, hosts, observe, scenario, shell, web
from cinder_lab.common import config

# The command registry, in one place: every command module exports COMMANDS.
COMMAND_MODULES = (shell, hosts, scenario, observe, web)


def commands() -> dict[str, type]:
    """Every ``cinder-lab`` command name and its cliff class."""
    found: dict[str, type] = {}
    for module in COMMAND_MODULES:
        found.update(module.COMMANDS)
    return found


class CinderLab(app.App):
    """The ``cinder-lab`` application."""

    def __init__(self) -> None:
        manager = commandmanager.CommandManager("cinder_lab.client")
        for name, cls in commands().items():
            manager.add_command(name, cls)
        super().__init__(
            description="cinder-lab client: Cinder's service, volume and backup "
            "commands over the lab's RPC routing.",
            version="0.1.0",
            command_manager=manager,
            deferred_help=True,
        )

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

    def get_fuzzy_matches(self, cmd: str) -> list[str]:
        # cliff prints suggestions over several lines on stdout; the lab wants one error line.
        return []

    def configure_logging(self) -> None:
        super().configure_logging()
        for handler in logging.getLogger().handlers:
            handler.addFilter(common.MaskSecrets())
        for noisy in ("oslo.messaging", "oslo_messaging", "amqp", "kombu", "stevedore"):
            logging.getLogger(noisy).setLevel(logging.ERROR)

    def initialize_app(self, argv: list[str]) -> None:
        args: list[str] = []
        for path in self.options.config_file:
            args += ["--config-file", path]
        config.parse_args(args)

    def run_subcommand(self, argv: list[str]) -> int:
        try:
            return super().run_subcommand(argv)
        finally:
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
