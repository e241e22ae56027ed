"""``cinder-lab topology``, ``trace`` and ``route``: see the routing.

Lab-only commands (python-cinderclient has none like them). Against a broker
they read RabbitMQ's management API and firehose; on ``kombu+memory://`` the
broker lives inside one process, so ``topology`` and ``trace`` start the
config's services in this process first, as ``make demo`` does.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import prettytable
from cliff import command, show

from cinder_lab import exception, memory_tap, rpc, utils
from cinder_lab.cmd.common import LabMixin, positive_seconds
from cinder_lab.common.config import CONF
from cinder_lab.observe import graph, route, sequence, topology, trace
from cinder_lab.observe.management import ManagementAPI, ManagementError
from cinder_lab.volume import volume_utils


def _table(columns: list[str], rows: list[tuple]) -> str:
    t = prettytable.PrettyTable(columns)
    t.align = "l"
    for row in rows:
        t.add_row(row)
    return t.get_string()


@contextmanager
def inprocess_lab() -> Iterator[object]:
    """The config's services as threads of this process (single-process mode)."""
    from cinder_lab.lab import Lab

    # The services' own logs would drown the picture; keep warnings of the lab only.
    logging.getLogger("oslo.messaging").setLevel(logging.ERROR)
    logging.getLogger("cinder_lab").setLevel(logging.WARNING)
    memory_tap.install()
    lab = Lab()
    try:
        lab.start_configured()
        yield lab
    finally:
        lab.close()


def _svc(s: topology.ServiceInfo | None) -> str:
    return f"{s.binary} {s.host}" if s else "-"


def _queue_rows(topo: topology.Topology) -> list[tuple]:
    return [
        (
            q.name + ("  <- NO CONSUMER" if q.dead_end else ""),
            q.messages,
            q.consumers,
            _svc(q.service) if q.kind == "server" else q.kind,
            f"{q.service.status}, {q.service.state}" if q.service else "-",
        )
        for q in topo.queues
    ]


def _consumer_rows(topo: topology.Topology) -> list[tuple]:
    return [
        (
            c.queue,
            c.process or "?",
            c.pid or "?",
            _svc(c.service),
            c.service.id if c.service else "-",
            c.service.status if c.service else "-",
            c.service.state if c.service else "-",
        )
        for c in topo.consumers
    ]


def topology_text(topo: topology.Topology) -> str:
    """The four listings, then the dead ends, loudly."""
    exchanges = [(e.name or "(default)", e.type) for e in topo.exchanges]
    bindings = [(b.source or "(default)", b.routing_key, b.destination) for b in topo.bindings]
    out = [f"Topology of vhost {topo.vhost!r} ({topo.source})", "", "Exchanges"]
    out.append(_table(["Name", "Type"], exchanges))
    out += ["", "Queues"]
    queue_columns = ["Name", "Messages", "Consumers", "Its name points to", "Row state"]
    queue_rows, consumer_rows = _queue_rows(topo), _consumer_rows(topo)
    consumer_columns = ["Queue", "Process", "PID", "Service", "Row", "Status", "State"]
    if len(topo.nodes()) > 1:
        # A cluster: where each queue (its leader) and each consumer's connection live.
        queue_columns.append("Node (leader)")
        queue_rows = [(*r, q.node or "-") for r, q in zip(queue_rows, topo.queues, strict=True)]
        consumer_columns.append("Connection on")
        consumer_rows = [
            (*r, c.node or "-") for r, c in zip(consumer_rows, topo.consumers, strict=True)
        ]
    out.append(_table(queue_columns, queue_rows))
    out += ["", "Bindings"]
    out.append(_table(["Source", "Routing key", "Destination"], bindings))
    out += ["", "Consumers"]
    out.append(_table(consumer_columns, consumer_rows))
    dead = topo.dead_ends()
    out.append("")
    if not dead:
        out.append("Every queue has a consumer.")
    for q in dead:
        waiting = f"{q.messages} message(s) waiting"
        note = topology.dead_end_note(q)
        out.append(f"!! DEAD END: {q.name}: nobody consumes it, {waiting}; {note}")
    return "\n".join(out)


class Topology(LabMixin, command.Command):
    """Live exchanges, queues, bindings and consumers, and the service behind each consumer."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "-f", "--format", choices=("table", "json"), default="table", help="output format"
        )
        parser.add_argument(
            "--graph",
            choices=("mermaid", "dot", "html"),
            help="print the graph exchange -> queue -> consumer -> service instead",
        )
        parser.add_argument("--all", action="store_true", help="include RabbitMQ's amq.* objects")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        if rpc.is_in_process(CONF):
            print(
                "single-process mode (kombu+memory://): the broker lives in one process; "
                "starting this config's services here to show it",
                file=sys.stderr,
            )
            with inprocess_lab():
                topo = topology.snapshot(None, show_all=args.all)
        else:
            topo = topology.snapshot(ManagementAPI.from_conf(CONF), show_all=args.all)
        if args.graph == "mermaid":
            text = graph.mermaid(topo)
        elif args.graph == "dot":
            text = graph.dot(topo)
        elif args.graph == "html":
            text = graph.html_page(topo)
        elif args.format == "json":
            text = json.dumps(topo.to_dict(), indent=2) + "\n"
        else:
            text = topology_text(topo) + "\n"
        self.app.stdout.write(text)
        return 0


class Trace(LabMixin, command.Command):
    """Every RPC message as it passes: routed queues (or DROPPED), kind, method, consumer."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--count", type=int, metavar="N", help="stop after N messages")
        parser.add_argument(
            "--timeout", type=positive_seconds, metavar="S", help="stop after S seconds"
        )
        parser.add_argument(
            "-f",
            "--format",
            choices=("text", "json"),
            default="text",
            help="text, or json: one JSON object per message and line",
        )
        parser.add_argument(
            "--sequence",
            action="store_true",
            help="when the trace ends, print each request's messages as a sequence: "
            "sender --> consumer, in publish order",
        )
        return parser

    def _emit(self, args: argparse.Namespace, nodes: bool = False) -> object:
        def emit(ev: trace.TraceEvent) -> None:
            if args.sequence:
                self.events.append(ev)
                return
            if args.format == "json":
                self.app.stdout.write(json.dumps(ev.to_dict(), sort_keys=True) + "\n")
            else:
                self.app.stdout.write(trace.format_event(ev, nodes) + "\n")
            self.app.stdout.flush()

        return emit

    def take_action(self, args: argparse.Namespace) -> int:
        if args.count is not None and args.count < 1:
            raise exception.InvalidInput(reason="--count must be at least 1")
        if args.sequence and args.format == "json":
            raise exception.InvalidInput(reason="--sequence prints text: leave out -f json")
        self.events: list[trace.TraceEvent] = []
        # A signal ends the trace at its next poll, so the firehose is put back as it was.
        stop = utils.stop_event()
        bound = _bound_text(args.count, args.timeout)
        if args.sequence:
            bound += "; the sequence of each request is printed then"
        self._follow(args, stop, bound)
        if args.sequence:
            self.app.stdout.write(sequence.format_sequence(self.events) + "\n")
        return 0

    def _follow(self, args: argparse.Namespace, stop: threading.Event, bound: str) -> None:
        """Trace until ``--count``, ``--timeout`` or a signal, in-process or on the broker."""
        if rpc.is_in_process(CONF):
            print(
                "single-process mode: tracing the in-process broker while this config's "
                f"services run here{bound}",
                file=sys.stderr,
            )
            with trace.MemoryTap() as tap, inprocess_lab():
                correlator = trace.Correlator(trace.memory_resolver())
                trace.run(
                    tap.records(), correlator, self._emit(args), args.count, args.timeout, stop
                )
            return
        api = ManagementAPI.from_conf(CONF)
        others = ManagementAPI.other_nodes(CONF, api)
        with trace.Firehose(api, trace.amqp_connection(CONF), others) as hose:
            state = "was already on; left on" if hose.was_on else "turned on; off on exit"
            where = f" on {', '.join(hose.nodes)}" if len(hose.nodes) > 1 else ""
            print(
                f"tracing vhost {api.vhost!r} through the firehose ({state}){where}{bound}",
                file=sys.stderr,
            )
            for node in hose.untraced:
                print(
                    f"warning: node {node} is not traced: no management API of it was reached "
                    "(set [management] node_urls); what passes through it is not shown",
                    file=sys.stderr,
                )
            cluster = len(hose.nodes) + len(hose.untraced) > 1
            correlator = trace.Correlator(trace.rabbit_resolver(api))
            trace.run(
                hose.records(),
                correlator,
                self._emit(args, cluster),
                args.count,
                args.timeout,
                stop,
            )


def _bound_text(count: int | None, timeout: float | None) -> str:
    """When the trace ends, as its header says it."""
    limits = [f"{count} message(s)" if count else "", f"{timeout:g} s" if timeout else ""]
    limits = [limit for limit in limits if limit]
    return f" (until {' or '.join(limits)})" if limits else " (until Ctrl-C)"


class Route(LabMixin, show.ShowOne):
    """Explain, without sending anything, how a backup (or volume) request would travel."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "target", metavar="VOLUME_ID|HOST_STRING", help="a volume id or host@backend#pool"
        )
        parser.add_argument(
            "--action",
            choices=("backup", "volume"),
            default="backup",
            help="a backup request (default) or a volume request",
        )
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple:
        if not route.UUID.match(args.target):
            if route.LOOKS_LIKE_AN_ID.match(args.target):
                raise exception.InvalidInput(
                    reason=f"{args.target!r} is not a volume id (a UUID is 36 characters, "
                    "8-4-4-4-12 hex digits) nor a host string"
                )
            volume_utils.check_host_string(args.target)  # fails before anything else
        topo, note = None, ""
        if rpc.is_in_process(CONF):
            note = "single-process mode: the broker lives inside a running lab process"
        else:
            try:
                topo = topology.snapshot(ManagementAPI.from_conf(CONF))
            except ManagementError as e:
                note = str(e)
        explained = route.explain(args.target, args.action, topo, note)
        names, values = zip(*explained.fields, strict=True)
        return names, values


COMMANDS = {"topology": Topology, "trace": Trace, "route": Route}
