"""``cinder-lab scenario list|run``: the note's story and its failures, checked."""

from __future__ import annotations

import argparse
import logging

from cliff import command, lister

from cinder_lab import exception
from cinder_lab.cmd.common import LabMixin
from cinder_lab.scenarios import SCENARIOS, base


class ScenarioList(LabMixin, lister.Lister):
    """List the scenarios."""

    def take_action(self, args: argparse.Namespace) -> tuple:
        return ("Name", "What it shows"), [(n, s.summary) for n, s in SCENARIOS.items()]


class ScenarioRun(LabMixin, command.Command):
    """Run a scenario: one process on kombu+memory:// unless --transport-url names a broker."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="see `cinder-lab scenario list`")
        parser.add_argument(
            "--transport-url",
            metavar="URL",
            help="run against this broker (e.g. rabbit://guest:guest@127.0.0.1:5672/lab)",
        )
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        scenario = SCENARIOS.get(args.name)
        if scenario is None:
            raise exception.CinderLabException(
                f"no scenario {args.name!r}; try one of: {', '.join(SCENARIOS)}"
            )
        for noisy in ("oslo.messaging", "oslo_messaging", "kombu", "amqp", "cinder_lab"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)

        def out(line: str) -> None:
            self.app.stdout.write(line + "\n")
            self.app.stdout.flush()

        out(f"== scenario {scenario.name}: {scenario.summary}")
        failed = base.run(scenario, args.transport_url, out)
        if failed:
            raise base.ScenarioFailed(name=scenario.name, failed=len(failed), first=failed[0])
        out(f"== {scenario.name}: every check held")
        return 0


COMMANDS = {"scenario list": ScenarioList, "scenario run": ScenarioRun}
