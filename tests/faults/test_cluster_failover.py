"""Fault: nodes of a three-node RabbitMQ cluster stopped under 1,000 create_backup casts.

Three throwaway nodes of the test's own (tests/faults/rabbit_node.py), clustered with
``rabbitmqctl join_cluster``; the services get one ``transport_url`` with all three
hosts (oslo.messaging shuffles them and fails over). While the test casts 1,000
``create_backup`` (paced, about 25 a second) the node cinder-backup is connected to
is stopped, then started again, then the node holding the leader of
``cinder-backup.maqi-kilo`` is stopped, then started again.

- ``rabbit_quorum_queue = true``: the queue has a replica on every node; a stopped
  leader is replaced by a follower, and a publish is confirmed (oslo.messaging asks
  for publisher confirms) only once a majority has it. Nothing is lost.
- defaults (classic, non-durable queues): the queue lives on one node only. When
  that node stops, the queue and the casts waiting in it go with it; until
  cinder-backup has reconnected to another node and declared the queue again, the
  topic exchange routes the new casts to no queue and RabbitMQ drops them (they are
  confirmed all the same: confirmed means "routed or dropped", not "queued").
  Those backups stay ``creating``: the lost count.

Routing does not change: the same queue names, bindings and one consumer each.
Whatever is lost is reported (sent / available / error / lost) in the fault counts.
"""

from __future__ import annotations

import json
import re
import threading
import time
import types

import pytest

from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from tests.faults import rabbit_node
from tests.faults.conftest import Sent, backup_statuses, prepare_backups
from tests.faults.test_broker_restart import FAST_RECONNECT
from tests.integration.conftest import RabbitLab
from tests.procs import run_cli, wait_until
from tests.services import all_up, rows

# Nodes stop and start: alone, after the parallel run.
pytestmark = [pytest.mark.serial, pytest.mark.slow]

CASTS = 1000
PACE = 0.04  # seconds between casts: the stops land in the middle of the run
SETTLE = 3  # seconds the statuses must hold still once the queue is empty
QUEUE = "cinder-backup.maqi-kilo"
SETTINGS = {"classic": "", "quorum": "rabbit_quorum_queue = true\n"}
SERVICES = (
    ("cinder-volume", "maqi-kilo@ceph"),
    ("cinder-backup", "maqi-kilo"),
    ("cinder-scheduler", "maqi-kilo"),
)


def node_of(pid: str) -> str:
    """``<name@host.1.2.3>`` -> ``name@host``: the node an Erlang process lives on."""
    return re.match(r"<([^.]+@[^.]+)\.", pid).group(1)


class Broker:
    """What the cluster says about one vhost, asked of a node that is up."""

    def __init__(self, cluster: rabbit_node.RabbitCluster, vhost: str) -> None:
        self.cluster, self.vhost = cluster, vhost

    def ctl(self, *args: str) -> list[dict]:
        node = next(n for n in self.cluster.nodes if n._listening())
        return json.loads(node.ctl(*args, "-p", self.vhost, "--formatter", "json") or "[]")

    def table(self, *args: str) -> list[list[str]]:
        """Rows of the plain table: it prints pids with their node (JSON does not)."""
        node = next(n for n in self.cluster.nodes if n._listening())
        text = node.ctl(*args, "-p", self.vhost, "-s", "--no-table-headers")
        return [line.split("\t") for line in text.splitlines() if line.strip()]

    def consumer_node(self, queue: str) -> str | None:
        found = [
            node_of(pid)
            for name, pid in self.table("list_consumers", "queue_name", "channel_pid")
            if name == queue
        ]
        return found[0] if len(found) == 1 else None

    def leader_node(self, queue: str) -> str | None:
        for name, kind, leader, pid in self.table(
            "list_queues", "name", "type", "leader", "pid", "--online"
        ):
            if name == queue:
                return leader if kind == "quorum" else node_of(pid)
        return None

    def messages(self, queue: str) -> int:
        found = self.ctl("list_queues", "name", "messages")
        return sum(q["messages"] for q in found if q["name"] == queue)


def stop_and_start(cluster, broker: Broker, name: str, log: list[str]) -> None:
    """Stop node ``name``; once cinder-backup consumes again elsewhere, start it again."""
    node = cluster.node(name)
    node.stop()
    log.append(f"stopped {name}")
    wait_until(
        lambda: broker.consumer_node(QUEUE) not in (None, name),
        timeout=60,
        what=f"cinder-backup consuming again after {name} stopped",
    )
    node.start()
    wait_until(lambda: len(cluster.running()) == 3, timeout=60, what="three nodes running")


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_cluster_nodes_stopped_in_the_middle_of_1000_casts(cluster, tmp_path, report, setting):
    vhost = f"cluster-{setting}"
    cluster.nodes[0].ctl("add_vhost", vhost)
    cluster.nodes[0].ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    lab = RabbitLab(
        tmp_path, types.SimpleNamespace(url=cluster.url(vhost)), f"sqlite:///{tmp_path}/lab.sqlite"
    )
    broker = Broker(cluster, vhost)
    try:
        conf = lab.conf(
            "kilo",
            "maqi-kilo",
            {"ceph": "ceph"},
            # Room for the 1,000 prepared volumes and the new one at the end.
            extra_backend="total_capacity_gb = 5000",
            extra_default=FAST_RECONNECT + SETTINGS[setting],
        )
        procs = [lab.start(s, conf) for s in ("cinder-lab-volume", "cinder-lab-scheduler")]
        procs.append(lab.start("cinder-lab-backup", conf))
        wait_until(all_up(*SERVICES), timeout=60)
        wait_until(lambda: broker.consumer_node(QUEUE), timeout=30, what="a consumer")
        pairs = prepare_backups(CASTS)

        sent, failed, log, why = [0], [0], [], set()

        def cast_all():
            api = backup_rpcapi.BackupAPI()
            for backup_id, _volume_id in pairs:
                try:
                    api.create_backup(context.get_admin_context(), Sent(backup_id, "maqi-kilo"))
                    sent[0] += 1
                except Exception as e:  # counted, not raised: the sender was told
                    failed[0] += 1
                    why.add(type(e).__name__)
                time.sleep(PACE)

        rpc.init(CONF)
        sender = threading.Thread(target=cast_all, daemon=True)
        sender.start()
        try:
            wait_until(lambda: sent[0] >= CASTS // 4, timeout=60, what="a quarter sent")
            first = broker.consumer_node(QUEUE)
            stop_and_start(cluster, broker, first, log)
            second = broker.leader_node(QUEUE)
            at_second = sent[0]
            stop_and_start(cluster, broker, second, log)
            sender.join(timeout=300)
            assert not sender.is_alive(), "the casts did not finish"
        finally:
            rpc.cleanup()

        # Until every queued cast is served: the queue is empty and the statuses hold still
        # (Kilo's backup manager makes no call, so nothing waits for a reply timeout).
        def settled():
            before = backup_statuses()
            time.sleep(SETTLE)
            return broker.messages(QUEUE) == 0 and backup_statuses() == before

        wait_until(settled, timeout=240, interval=0, what="the backups settled")
        statuses = backup_statuses()
        # A cast whose sender got an exception (its own node stopping) was never sent: the
        # sender knows. Lost is what was sent, confirmed, and never served.
        lost = statuses.get("creating", 0) - failed[0]
        report(
            f"cluster: services' node {first} and leader's node {second} stopped, {setting}"
            + (f" (send errors: {', '.join(sorted(why))})" if why else ""),
            sent=sent[0],
            failed_to_send=failed[0],
            sent_before_second_stop=at_second,
            available=statuses.get("available", 0),
            error=statuses.get("error", 0),
            lost=lost,
        )

        # The services reconnected: their rows are up, and a new volume goes through.
        assert all(p.proc.poll() is None for p in procs)
        assert all(rows().values())
        out = run_cli(conf, "create", "1", "--wait", "--wait-timeout", "60", "-f", "json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "available"
        assert sent[0] + failed[0] == CASTS
        assert sum(statuses.values()) == CASTS
        if setting == "quorum":
            assert lost == 0, statuses
    finally:
        codes = lab.stop_all()
        db.dispose_engine()
        cluster.nodes[0].ctl("delete_vhost", vhost, check=False)
    assert all(c == 0 for c in codes.values()), codes
