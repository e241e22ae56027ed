"""``cinder-lab scenario list|run``: the note's story and its failures, checked."""

from __future__ import annotations

import argparse
import json
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
        parser.add_argument(
            "-f",
            "--format",
            choices=("text", "json"),
            default="text",
            help="text as it runs (the default), or one JSON document of steps, lines and checks",
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

        as_json = args.format == "json"
        if not as_json:
            out(f"== scenario {scenario.name}: {scenario.summary}")
        stage = base.run_stage(
            scenario, args.transport_url, (lambda _line: None) if as_json else out
        )
        failed = stage.failures()
        if as_json:
            doc = {"scenario": scenario.name, "summary": scenario.summary, **stage.transcript()}
            out(json.dumps(doc, indent=2))
        if failed:
            raise base.ScenarioFailed(name=scenario.name, failed=len(failed), first=failed[0])
        if not as_json:
            out(f"== {scenario.name}: every check held")
        return 0


COMMANDS = {"scenario list": ScenarioList, "scenario run": ScenarioRun}
