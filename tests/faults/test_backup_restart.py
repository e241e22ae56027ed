"""Fault: cinder-backup restarted while 1,000 create_backup casts wait in its queue.

``cinder-backup.<host>`` is not auto-delete: casts sent while the service is
down wait there for the restarted server, and each is served once. But Kilo's
``init_host`` first resets every ``creating`` backup of its host to ``error``
("incomplete backup reset on manager restart"), before the server consumes:
each waiting cast then finds its backup ``error``, puts the volume back to
``available`` and ends the backup ``error`` ("expected backup status creating
but got error"). Nothing is lost, nothing is backed up, nothing stays busy.
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
ABORTED = "Create backup aborted, expected backup status creating but got error."


def test_backup_restart_with_1000_queued_casts_resets_them_all(rabbit_lab, report):
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
    wait_until(
        lambda: sum(b.fail_reason == ABORTED for b in db.backup_get_all()) == CASTS,
        timeout=180,
        what="every queued create_backup served",
    )
    statuses = backup_statuses()
    served = restarted.output().count("Create backup started")
    report(
        "backup restarted under 1,000 queued casts",
        sent=CASTS,
        served=served,
        lost=CASTS - served,
        reset=restarted.output().count("Resetting backup"),
    )
    # Reset before the server consumed, then refused by the manager's own status check.
    assert statuses == {"error": CASTS}
    assert restarted.output().count("Resetting backup") == CASTS
    sample = pairs[:: CASTS // 10]
    assert all(db.volume_get(v).status == "available" for _, v in sample)
    assert rabbit_lab.vhost.queues()[QUEUE]["messages"] == 0
    assert rabbit_lab.stop(restarted) == 0
    assert " backup finished" not in restarted.output()
