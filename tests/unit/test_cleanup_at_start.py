"""init_host cleanup in one process: what a killed run left half done ends in a clear state.

Today a ``workers`` row is what a volume or scheduler service leaves behind when
it dies between the ack and the end of a request; these tests write such rows
by hand, then start the services, which must fail exactly those resources and
leave queued work alone. The backup service keeps no such rows in either
release: it resets every ``creating`` backup of its host, queued or not. Kilo
had no ``workers`` table at all: its volume service resets every ``creating``
volume of its backend, and its scheduler cleans up nothing.
"""

import pytest

from cinder_lab import context
from cinder_lab.backup.manager import INCOMPLETE
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db.engine import release_of
from cinder_lab.lab import Lab
from tests.procs import wait_until


@pytest.fixture
def current(memory_conf):
    CONF.set_override("lab_release", "current")
    yield memory_conf
    CONF.clear_override("lab_release")


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


def _started_and_stopped() -> Lab:
    lab = Lab()
    lab.start_all()
    lab.stop_all()
    return lab


def test_restart_today_fails_what_the_dead_run_had_taken(current):
    lab = _started_and_stopped()
    volume_service = _service_id("cinder-volume", "maqi-kilo@ceph")
    scheduler = _service_id("cinder-scheduler", "maqi-kilo")

    # As a killed run leaves them: acked requests with a workers row...
    taken_vol = db.volume_create({"size": 1, "status": "creating", "host": "maqi-kilo@ceph#ceph"})
    scheduling = db.volume_create({"size": 1, "status": "creating"})
    # ...and requests still waiting in their queues: no workers row.
    queued_vol = db.volume_create({"size": 1, "status": "creating", "host": "maqi-kilo@ceph#ceph"})
    source = db.volume_create(
        {
            "size": 1,
            "status": "backing-up",
            "previous_status": "in-use",
            "host": "maqi-kilo@ceph#ceph",
        }
    )
    taken_bak = db.backup_create(
        {"volume_id": source.id, "status": "creating", "host": "maqi-kilo"}
    )
    queued_bak = db.backup_create(
        {"volume_id": source.id, "status": "creating", "host": "maqi-kilo"}
    )
    _worker("Volume", taken_vol.id, volume_service)
    _worker("Volume", scheduling.id, scheduler)

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
        assert db.volume_get(queued_vol.id).status == "creating"
        # The backup service resets every creating backup of its host, queued ones too,
        # and returns the volume to the status it had before the backup.
        for bak in (taken_bak, queued_bak):
            got = db.backup_get(bak.id)
            assert (got.status, got.fail_reason) == ("error", INCOMPLETE)
        assert db.volume_get(source.id).status == "in-use"
        for service_id in (volume_service, scheduler):
            assert db.worker_get_all(service_id) == []
    finally:
        lab.close()


def test_restart_in_kilo_resets_by_status_and_keeps_no_workers(memory_conf):
    lab = _started_and_stopped()
    assert release_of(db.get_engine()) == "kilo"
    creating = db.volume_create({"size": 1, "status": "creating", "host": "maqi-kilo@ceph#ceph"})
    scheduling = db.volume_create({"size": 1, "status": "creating"})
    source = db.volume_create({"size": 1, "status": "backing-up", "host": "maqi-kilo@ceph#ceph"})
    bak = db.backup_create({"volume_id": source.id, "status": "creating", "host": "maqi-kilo"})

    lab.start_all()
    try:
        # Kilo's volume init_host: every creating volume of the backend, queued or not.
        assert db.volume_get(creating.id).status == "error"
        # Kilo's scheduler had no cleanup: a volume it never placed stays creating.
        assert db.volume_get(scheduling.id).status == "creating"
        got = db.backup_get(bak.id)
        assert (got.status, got.fail_reason) == ("error", INCOMPLETE)
        # Kilo's reset matched only volumes on the plain host: this one stays backing-up.
        assert db.volume_get(source.id).status == "backing-up"
    finally:
        lab.close()


def test_finished_requests_leave_no_workers_row(current):
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
