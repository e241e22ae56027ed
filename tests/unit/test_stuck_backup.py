"""A backup sent to a cinder-backup that stopped for good (today's release), in one process.

Cinder's scheduler picks a backup host from its services' capability reports
alone (HostManager._list_backup_services: no up check, and it never drops a
report), so after the only cinder-backup stops, a new backup is still cast to
``cinder-backup.<its host>`` and waits there: the backup stays ``creating``,
its volume ``backing-up``. The lab does the same, and shows where it waits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cinder_lab import context, rpc, utils
from cinder_lab.api.contrib import admin_actions
from cinder_lab.backup import api as backup_api
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.observe import route, topology
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status


@pytest.fixture
def current_lab(memory_conf: object) -> Iterator[Lab]:
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1)
    yield lab
    lab.close()
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


def test_a_backup_for_a_stopped_cinder_backup_waits_in_its_queue(current_lab):
    ctxt = context.get_admin_context()
    vol = wait_status(db.volume_get, volume_api.API().create(ctxt, 1).id)
    assert vol.status == "available"
    current_lab.stop(current_lab.find("cinder-backup", "maqi-kilo"))
    bak = backup_api.API().create(ctxt, vol.id)
    # The scheduler chose the stopped host from its last report, and cast on.
    assert utils.wait_until(lambda: db.backup_get(bak.id).host == "maqi-kilo", 10)
    topo = topology.snapshot(None)
    waiting = topo.queue("cinder-backup.maqi-kilo")
    assert utils.wait_until(
        lambda: topology.snapshot(None).queue("cinder-backup.maqi-kilo").messages == 1, 10
    )
    assert waiting is not None and waiting.consumers == 0
    assert "cinder-backup.maqi-kilo" in [q.name for q in topology.snapshot(None).dead_ends()]
    assert (db.backup_get(bak.id).status, db.volume_get(vol.id).status) == (
        "creating",
        "backing-up",
    )
    explained = route.explain(vol.id, "backup", topology.snapshot(None), "in process")
    fields = dict(explained.fields)
    assert fields["backup in flight"] == f"{bak.id} (creating, host maqi-kilo)"
    assert fields["its queue now"] == "1 message(s) waiting, 0 consumer(s)"
    assert explained.verdict.startswith(f"STUCK: backup {bak.id}'s create_backup waits in")
    # The operator's way out, as in Cinder: both records, each reset on its own.
    admin_actions.reset_backup(ctxt, bak.id, {"status": "error"})
    admin_actions.reset_volume(ctxt, vol.id, {"status": "available"})
    assert (db.backup_get(bak.id).status, db.volume_get(vol.id).status) == ("error", "available")
    # A cinder-backup started again on that host takes the waiting cast and changes nothing.
    current_lab.start_backup()
    assert utils.wait_until(
        lambda: topology.snapshot(None).queue("cinder-backup.maqi-kilo").messages == 0, 10
    )
    assert (db.backup_get(bak.id).status, db.volume_get(vol.id).status) == ("error", "available")
