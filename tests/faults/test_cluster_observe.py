"""``trace`` and ``topology`` on a three-node cluster name the node of everything they show.

The services connect to different nodes on purpose: cinder-volume and
cinder-scheduler to the first, cinder-backup to the second, and the client and
the trace to the third. RabbitMQ switches the firehose on node by node, so the
trace asks every node's management API; a node it cannot reach is named in a
warning, not silently missed.
"""

from __future__ import annotations

import json
import signal
import types

import pytest

from cinder_lab.db import api as db
from tests.faults.rabbit_node import RabbitCluster, RabbitNode
from tests.integration.conftest import RabbitLab
from tests.integration.test_observe_broker import TraceProcess
from tests.procs import run_cli, wait_until
from tests.services import all_up

pytestmark = [pytest.mark.serial, pytest.mark.slow]

VHOST = "cluster-observe"


def mgmt_url(node: RabbitNode) -> str:
    return f"http://127.0.0.1:{node.management_port}/"


def on(node: RabbitNode) -> str:
    """Config lines that put a process on ``node`` alone, reading its management API."""
    return f"transport_url = {node.url(VHOST)}\n[management]\nurl = {mgmt_url(node)}\n"


def tracing(node: RabbitNode) -> bool:
    out = node.ctl("list_vhosts", "name", "tracing", "--formatter", "json")
    return any(v["name"] == VHOST and v["tracing"] for v in json.loads(out))


@pytest.fixture
def lab(cluster: RabbitCluster, tmp_path):
    first = cluster.nodes[0]
    first.ctl("add_vhost", VHOST)
    first.ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    vhost = types.SimpleNamespace(url=first.url(VHOST))
    lab = RabbitLab(tmp_path, vhost, f"sqlite:///{tmp_path}/lab.sqlite")
    try:
        yield lab
    finally:
        codes = lab.stop_all()
        db.dispose_engine()
        first.ctl("delete_vhost", VHOST, check=False)
    assert all(c == 0 for c in codes.values()), codes


def test_trace_and_topology_name_the_node_of_each_hop(cluster: RabbitCluster, lab: RabbitLab):
    n1, n2, n3 = cluster.nodes
    backends = {"ceph": "ceph"}
    volume_conf = lab.conf("volume", "maqi-kilo", backends, extra_default=on(n1))
    backup_conf = lab.conf("backup", "maqi-kilo", backends, extra_default=on(n2))
    others = f"node_urls = {mgmt_url(n1)},{mgmt_url(n2)}\n"
    client = lab.conf("client", "maqi-kilo", backends, extra_default=on(n3) + others)
    lab.start("cinder-lab-volume", volume_conf)
    lab.start("cinder-lab-scheduler", volume_conf)
    lab.start("cinder-lab-backup", backup_conf)
    wait_until(all_up(("cinder-volume", "maqi-kilo@ceph"), ("cinder-backup", "maqi-kilo")))
    out = run_cli(client, "create", "1", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume_id = json.loads(out.stdout)["id"]

    tracer = TraceProcess(client, "--timeout", "60")
    try:
        # One switch per node: the banner names all three, and each node's is on.
        for node in (n1, n2, n3):
            assert node.node in tracer.banner, tracer.banner
        assert [tracing(n) for n in (n1, n2, n3)] == [True, True, True]
        out = run_cli(client, "backup-create", volume_id, "--wait", "-f", "json")
        assert out.returncode == 0, out.stderr

        def cast():
            found = [e for e in tracer.events if e["method"] == "create_backup"]
            return found[0] if found and found[0]["consumed_by"] else None

        create_backup = wait_until(cast, timeout=30, what="create_backup in the trace")
    finally:
        code, err = tracer.stop(signal.SIGTERM)
    assert code == 0, err
    # Sent by the client through the third node, delivered to cinder-backup on the second.
    assert create_backup["node"] == n3.node
    assert create_backup["delivered_on"] == [n2.node]
    assert create_backup["consumed_by"][0].startswith("cinder-backup maqi-kilo ")
    assert [tracing(n) for n in (n1, n2, n3)] == [False, False, False]

    out = run_cli(client, "topology", "-f", "json")
    assert out.returncode == 0, out.stderr
    topo = json.loads(out.stdout)
    (queue,) = [q for q in topo["queues"] if q["name"] == "cinder-backup.maqi-kilo"]
    (consumer,) = [c for c in topo["consumers"] if c["queue"] == "cinder-backup.maqi-kilo"]
    # A classic queue lives on the node of the connection that declared it.
    assert (queue["node"], consumer["node"]) == (n2.node, n2.node)
    (scheduler,) = [c for c in topo["consumers"] if c["queue"] == "cinder-scheduler"]
    assert scheduler["node"] == n1.node


def test_trace_names_a_node_it_cannot_switch_on(cluster: RabbitCluster, lab: RabbitLab):
    n1, n2, n3 = cluster.nodes
    client = lab.conf("client", "maqi-kilo", {}, extra_default=on(n3) + "node_urls =\n")
    out = run_cli(client, "trace", "--timeout", "1")
    assert out.returncode == 0, out.stderr
    for node in (n1, n2):
        assert f"warning: node {node.node} is not traced" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert not any(tracing(n) for n in (n1, n2, n3))
