"""init_host cleanup in one process: what a killed run left half done ends in a clear state.

A ``workers`` row is what a service leaves behind when it dies between the ack
and the end of a request; these tests write such rows by hand, then start the
services, which must fail exactly those resources and leave queued work alone.
"""

from cinder_lab import context
from cinder_lab.backup.manager import INCOMPLETE
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from tests.procs import wait_until


def _service_id(binary, host):
    return db.service_get_by_args(host, binary).id


def _worker(resource_type, resource_id, service_id):
    db.worker_create(
        {
            "resource_type": resource_type,
            "resource_id": resource_id,
            "status": "creating",
            "service_id": service_id,
        }
    )


def test_restart_fails_only_what_the_dead_run_had_taken(memory_conf):
    lab = Lab()
    lab.start_all()
    ids = {
        ("cinder-backup", "maqi-kilo"): None,
        ("cinder-volume", "maqi-kilo@ceph"): None,
        ("cinder-scheduler", "maqi-kilo"): None,
    }
    for key in ids:
        ids[key] = _service_id(*key)
    lab.stop_all()

    # As a killed run leaves them: acked requests with a workers row...
    taken_vol = db.volume_create({"size": 1, "status": "creating", "host": "maqi-kilo@ceph#ceph"})
    scheduling = db.volume_create({"size": 1, "status": "creating"})
    source = db.volume_create({"size": 1, "status": "backing-up", "host": "maqi-kilo@ceph#ceph"})
    taken_bak = db.backup_create(
        {"volume_id": source.id, "status": "creating", "host": "maqi-kilo"}
    )
    _worker("Volume", taken_vol.id, ids[("cinder-volume", "maqi-kilo@ceph")])
    _worker("Volume", scheduling.id, ids[("cinder-scheduler", "maqi-kilo")])
    _worker("Backup", taken_bak.id, ids[("cinder-backup", "maqi-kilo")])
    # ...and a request still waiting in its queue: no workers row, must survive.
    queued = db.backup_create({"volume_id": source.id, "status": "creating", "host": "maqi-kilo"})

    lab.start_all()
    try:
        vol = db.volume_get(taken_vol.id)
        assert (vol.status, vol.status_reason) == (
            "error",
            "creation interrupted: cinder-volume maqi-kilo@ceph restarted during it",
        )
        vol = db.volume_get(scheduling.id)
        assert vol.status == "error"
        assert vol.status_reason.startswith("scheduling interrupted: cinder-scheduler maqi-kilo")
        bak = db.backup_get(taken_bak.id)
        assert (bak.status, bak.fail_reason) == ("error", INCOMPLETE)
        assert db.volume_get(source.id).status == "available"
        assert db.backup_get(queued.id).status == "creating"
        for service_id in ids.values():
            assert db.worker_get_all(service_id) == []
    finally:
        lab.close()


def test_finished_requests_leave_no_workers_row(memory_conf):
    from cinder_lab.backup import api as backup_api
    from cinder_lab.volume import api as volume_api
    from tests.unit.test_inprocess_routing import wait

    lab = Lab()
    lab.start_all()
    try:
        lab.wait_for_pools(1)
        ctxt = context.get_admin_context()
        vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
        bak = wait(db.backup_get, backup_api.API().create(ctxt, vol.id).id)
        assert (vol.status, bak.status) == ("available", "available")
        # The row goes in the method's last step, just after the status: poll briefly.
        wait_until(
            lambda: not any(db.worker_get_all(s.id) for s in db.service_get_all()),
            timeout=5,
            interval=0.05,
            what="the workers rows of finished requests to go",
        )
    finally:
        lab.close()
