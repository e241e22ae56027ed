"""Fault: cinder-backup restarted while 1,000 create_backup casts wait in its queue.

``cinder-backup.<host>`` is not auto-delete: casts sent while the service is
down wait there for the restarted server. Nothing may be lost, nothing served twice.
"""

from __future__ import annotations

from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from tests.faults.conftest import Sent, backup_statuses, prepare_backups
from tests.procs import wait_until
from tests.services import all_up

CASTS = 1000
QUEUE = "cinder-backup.maqi-kilo"


def test_backup_restart_with_1000_queued_casts_loses_none(rabbit_lab, report):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    rabbit_lab.start("cinder-lab-volume", conf)
    backup = rabbit_lab.start("cinder-lab-backup", conf)
    wait_until(all_up(("cinder-volume", "maqi-kilo@ceph"), ("cinder-backup", "maqi-kilo")))
    assert rabbit_lab.stop(backup) == 0

    # The casts of 1,000 backup-create requests, sent while nobody consumes.
    pairs = prepare_backups(CASTS)
    rpc.init(CONF)
    try:
        api = backup_rpcapi.BackupAPI()
        ctxt = context.get_admin_context()
        for backup_id, _volume_id in pairs:
            api.create_backup(ctxt, Sent(backup_id, "maqi-kilo"))
    finally:
        rpc.cleanup()
    waiting = rabbit_lab.vhost.queues()[QUEUE]
    assert (waiting["messages"], waiting["consumers"]) == (CASTS, 0)

    restarted = rabbit_lab.start("cinder-lab-backup", conf)
    wait_until(lambda: "creating" not in backup_statuses(), timeout=180, what="every backup served")
    statuses = backup_statuses()
    served = statuses.get("available", 0)
    report(
        "backup restarted under 1,000 queued casts", sent=CASTS, served=served, lost=CASTS - served
    )
    assert statuses == {"available": CASTS}
    assert all(db.volume_get(v).status == "available" for _, v in pairs[:: CASTS // 10])
    assert rabbit_lab.stop(restarted) == 0
    # Served exactly once: one "done" line per backup.
    assert restarted.output().count(" done by maqi-kilo") == CASTS
    assert rabbit_lab.vhost.queues()[QUEUE]["messages"] == 0
