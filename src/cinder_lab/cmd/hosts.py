"""``cinder-lab get-pools`` and ``extract-host``: where a host string routes.

``get-pools`` mirrors python-cinderclient's ``get-pools``; ``extract-host`` is
the lab's own: ``volume_utils.extract_host`` at each level, and the queues.
"""

from __future__ import annotations

import argparse

from cliff import command, lister, show

from cinder_lab import context
from cinder_lab.cmd.common import LabMixin, connect
from cinder_lab.common.config import CONF
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils


class GetPools(LabMixin, lister.Lister):
    """Ask a scheduler (an RPC call) which pools it learned from the fanout reports."""

    def take_action(self, args: argparse.Namespace) -> tuple:
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
        host = volume_utils.check_host_string(args.host)
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
            volume_rpcapi.backend_queue(host),
            f"{CONF.backup_topic}.{plain}",
        )
        return fields, values


COMMANDS: dict[str, type[command.Command]] = {
    "get-pools": GetPools,
    "extract-host": ExtractHost,
}
