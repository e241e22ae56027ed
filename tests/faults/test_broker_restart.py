"""Fault: the broker restarted under load, on a throwaway RabbitMQ node (never the shared one).

200 create_backup casts wait in ``cinder-backup.maqi-kilo`` (cinder-backup is
stopped) when the broker restarts. With oslo.messaging's defaults the queue is
not durable and RabbitMQ forgets it and its messages: all of them are lost.
With ``amqp_durable_queues`` (durable classic queues) or ``rabbit_quorum_queue``
(quorum queues, always durable) the queue and its persistent messages come
back and every cast is served; the restarted cinder-backup has first reset each
``creating`` backup to ``error`` (Cinder's ``init_host``), so each served cast
ends at the manager's status check. Either way the running services reconnect
by themselves and serve new requests.
"""

from __future__ import annotations

import json
import types

import pytest

from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from tests.broker import require
from tests.faults import rabbit_node
from tests.faults.conftest import Sent, backup_statuses, prepare_backups
from tests.integration.conftest import RabbitLab
from tests.procs import run_cli, wait_until
from tests.services import all_up, rows

# One throwaway node (one name, fixed ports), booted and rebooted: `make test` runs these
# cases on their own after the parallel run, so a loaded machine does not starve its start.
pytestmark = pytest.mark.serial

CASTS = 200
QUEUE = "cinder-backup.maqi-kilo"
ABORTED = "Create backup aborted, expected backup status creating but got error."
# Reconnect within a couple of seconds of the broker's return (defaults back off to 30 s).
FAST_RECONNECT = """
[oslo_messaging_rabbit]
rabbit_retry_interval = 1
rabbit_retry_backoff = 1
rabbit_interval_max = 2
kombu_reconnect_delay = 0.5
"""
SETTINGS = {
    "defaults": "",
    "amqp_durable_queues": "amqp_durable_queues = true\n",
    "rabbit_quorum_queue": "rabbit_quorum_queue = true\n",
}


@pytest.fixture(scope="module")
def node():
    why = rabbit_node.can_run()
    require(why is None, f"{why} (sudo make test)")
    rabbit_node.stop_leftover()
    n = rabbit_node.RabbitNode()
    try:
        n.start()
        yield n
    finally:
        n.destroy()


@pytest.fixture
def lab_on_node(node, tmp_path):
    labs: list[RabbitLab] = []

    def make(vhost: str) -> RabbitLab:
        node.ctl("add_vhost", vhost)
        node.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        lab = RabbitLab(
            tmp_path, types.SimpleNamespace(url=node.url(vhost)), f"sqlite:///{tmp_path}/lab.sqlite"
        )
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        leftover = list(lab.procs)
        codes = lab.stop_all()
        assert all(c == 0 for c in codes.values()), codes
        for proc in leftover:
            assert "Traceback" not in proc.output(), proc.output()
    db.dispose_engine()


@pytest.mark.slow
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_broker_restart_with_queued_casts(node, lab_on_node, report, setting):
    lab = lab_on_node(f"restart-{setting}")
    conf = lab.conf(
        "kilo",
        "maqi-kilo",
        {"ceph": "ceph"},
        extra_default=FAST_RECONNECT + SETTINGS[setting] + "[DEFAULT]\n",
    )
    volume = lab.start("cinder-lab-volume", conf)
    scheduler = lab.start("cinder-lab-scheduler", conf)
    backup = lab.start("cinder-lab-backup", conf)
    wait_until(
        all_up(
            ("cinder-volume", "maqi-kilo@ceph"),
            ("cinder-backup", "maqi-kilo"),
            ("cinder-scheduler", "maqi-kilo"),
        )
    )
    assert lab.stop(backup) == 0

    pairs = prepare_backups(CASTS)
    rpc.init(CONF)
    try:
        api = backup_rpcapi.BackupAPI()
        for backup_id, _volume_id in pairs:
            api.create_backup(context.get_admin_context(), Sent(backup_id, "maqi-kilo"))
    finally:
        rpc.cleanup()
    vhost = f"restart-{setting}"
    # (quorum queues report their length a few seconds late)
    wait_until(lambda: node.queues(vhost)[QUEUE] == CASTS, timeout=30, what="casts queued")

    node.restart()
    survived = 0
    if QUEUE in node.queues(vhost):
        # A durable queue came back; a quorum queue reports its length once recovered.
        wait_until(lambda: node.queues(vhost)[QUEUE] > 0, timeout=20, what="queue recovered")
        survived = node.queues(vhost)[QUEUE]

    # The restarted cinder-backup first resets every creating backup of its host to
    # error (Cinder's init_host); each surviving cast then meets that status check.
    lab.start("cinder-lab-backup", conf)
    # Until the backup service has declared its queue again and drained it.
    wait_until(
        lambda: node.queues(vhost).get(QUEUE, -1) == 0,
        timeout=60,
        what="cinder-backup's queue declared and drained",
    )
    wait_until(
        lambda: sum(b.fail_reason == ABORTED for b in db.backup_get_all()) == survived,
        timeout=60,
        what="every surviving cast served",
    )
    assert backup_statuses() == {"error": CASTS}
    served = sum(b.fail_reason == ABORTED for b in db.backup_get_all())
    report(
        f"broker restarted, {setting}",
        sent=CASTS,
        survived_restart=survived,
        served=served,
        lost=CASTS - served,
    )

    # The services that never stopped reconnected: a new volume goes through
    # scheduler and volume service, and their rows are up.
    out = run_cli(conf, "create", "1", "--wait", "--wait-timeout", "60", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "available"
    assert all(rows().values())
    assert volume.proc.poll() is None and scheduler.proc.poll() is None

    if setting == "defaults":
        assert (survived, served) == (0, 0)
    else:
        assert (survived, served) == (CASTS, CASTS)
