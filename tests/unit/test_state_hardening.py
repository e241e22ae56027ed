"""Issue 11, state: no message or race corrupts a record, and every failure ends clear.

Each test sends what a hostile or confused peer could send, through the real
rpcapi or straight onto the in-process broker, and checks the rows after.
"""

from __future__ import annotations

import threading

import oslo_messaging as messaging
import pytest

from cinder_lab import context, exception, rpc, utils
from cinder_lab.backup import api as backup_api
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status as wait


def _cast(topic: str, server: str | None, method: str, **kwargs: object) -> None:
    """A cast with any arguments, as a peer speaking the lab's topics could send it."""
    target = messaging.Target(topic=topic, server=server, version="1.0")  # Kilo's, the default
    client = rpc.get_client(target)
    client.cast(context.get_admin_context(), method, **kwargs)


def _handled(lab: Lab, binary: str, method: str) -> int:
    """How often the running ``binary`` of the lab has run ``method``."""
    return next(s for s in lab.services if s.binary == binary).manager.handled[method]


def _served(lab: Lab, binary: str, method: str, count: int) -> None:
    assert utils.wait_until(lambda: _handled(lab, binary, method) >= count, 10)


def _volume(status: str = "available") -> str:
    vol = wait(db.volume_get, volume_api.API().create(context.get_admin_context(), 1).id)
    assert vol.status == "available"
    if status != "available":
        db.volume_update(vol.id, {"status": status})
    return vol.id


@pytest.mark.parametrize(
    "capabilities",
    ["not a mapping", {"pools": "x"}, {"pools": [{"pool_name": "p"}]}, {"pools": [None]}],
)
def test_malformed_capabilities_do_not_poison_the_scheduler(lab, capabilities):
    before = _handled(lab, "cinder-scheduler", "update_service_capabilities")
    scheduler_rpcapi.SchedulerAPI().update_service_capabilities(
        context.get_admin_context(), "volume", "maqi-kilo@ceph", capabilities
    )
    _served(lab, "cinder-scheduler", "update_service_capabilities", before + 1)
    assert [p["name"] for p in lab.wait_for_pools(1)] == ["maqi-kilo@ceph#ceph"]
    assert db.volume_get(_volume()).status == "available"


@pytest.mark.parametrize("spec", ["x", None, {"volume_type": 5}])
def test_malformed_request_spec_leaves_an_available_volume_alone(lab, spec):
    volume_id = _volume()
    before = _handled(lab, "cinder-scheduler", "create_volume")
    _cast(CONF.scheduler_topic, None, "create_volume", volume_id=volume_id, request_spec=spec)
    _cast(CONF.scheduler_topic, None, "create_volume", volume_id=volume_id, request_spec={})
    _cast(CONF.scheduler_topic, None, "create_volume", volume_id=volume_id, request_spec={})
    _served(lab, "cinder-scheduler", "create_volume", before + 3)
    assert db.volume_get(volume_id).status == "available"


def test_replayed_create_volume_does_not_revive_an_error_volume(lab):
    volume_id = _volume("error")
    before = _handled(lab, "cinder-volume", "create_volume")
    for _ in range(2):
        _cast(CONF.volume_topic, "maqi-kilo@ceph", "create_volume", volume_id=volume_id)
    _cast(CONF.volume_topic, "maqi-kilo@ceph", "create_volume", volume_id=["not", "an", "id"])
    _served(lab, "cinder-volume", "create_volume", before + 3)
    assert db.volume_get(volume_id).status == "error"


def test_a_failing_backup_ends_in_error_and_returns_the_volume(lab):
    volume_id = _volume()
    # Kilo's backup reads through a driver of its own: a backend it lacks is an error.
    db.volume_update(volume_id, {"host": "maqi-kilo@lvm#lvm"})
    bak = wait(db.backup_get, backup_api.API().create(context.get_admin_context(), volume_id).id)
    assert bak.status == "error"
    assert bak.fail_reason == "Volume manager for backend 'lvm' does not exist."
    # The manager returns the volume just after it writes the backup's error: wait for it.
    assert wait(db.volume_get, volume_id, busy="backing-up").status == "available"


def test_a_failing_call_ends_the_backup_in_error_today(memory_conf):
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    lab = Lab()
    try:
        lab.start_all()
        assert lab.wait_for_pools(1)
        volume_id = _volume()
        # The backup manager may only send volume RPC 2.0: its 3.x cast fails before it leaves.
        CONF.set_override("volume", "2.0", group="upgrade_levels")
        bak = backup_api.API().create(context.get_admin_context(), volume_id)
        bak = wait(db.backup_get, bak.id)
        assert utils.wait_until(
            lambda: not any(db.worker_get_all(s.id) for s in db.service_get_all()), 10
        )
    finally:
        CONF.clear_override("volume", group="upgrade_levels")
        lab.close()
        CONF.clear_override("lab_release")
        rpc.reset_version_caps()
    assert bak.status == "error"
    assert bak.fail_reason.startswith("RPCVersionCapError")
    assert db.volume_get(volume_id).status == "available"


@pytest.mark.parametrize("lab_database_url", ["sqlite", "mariadb"], indirect=True)
def test_one_volume_gets_one_backup_at_a_time(lab):
    volume_id = _volume()
    # No backup runs meanwhile: its service stops consuming (its row stays up a while).
    lab.stop(lab.find("cinder-backup", "maqi-kilo"))
    accepted, refused = [], []

    def attempt() -> None:
        try:
            accepted.append(backup_api.API().create(context.get_admin_context(), volume_id))
        except exception.InvalidVolume:
            refused.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(accepted), len(refused)) == (1, 19)
    # Restarted, the backup service resets the waiting backup (it is 'creating' on its
    # host) before it consumes; the cast then finds it 'error' and returns the volume.
    lab.start_backup()
    aborted = "Create backup aborted, expected backup status creating but got error."
    assert utils.wait_until(lambda: db.backup_get(accepted[0].id).fail_reason == aborted, 10)
    assert db.backup_get(accepted[0].id).status == "error"
    assert db.volume_get(volume_id).status == "available"


def test_restart_leaves_a_live_process_work_alone(memory_conf):
    CONF.set_override("lab_release", "current")  # Kilo had no workers rows
    lab = Lab()
    try:
        lab.start_all()
        volume = lab.find("cinder-volume", "maqi-kilo@ceph")
        host, pidns, _pid, _start = utils.process_token().split("|")
        rows = {}
        for owner in (utils.process_token(), f"{host}|{pidns}|999999999|1"):
            vol = db.volume_create({"size": 1, "status": "creating", "host": "maqi-kilo@ceph#ceph"})
            db.worker_create(
                {
                    "resource_type": "Volume",
                    "resource_id": vol.id,
                    "status": "creating",
                    "service_id": volume.service_id,
                    "owner": owner,
                }
            )
            rows[owner] = vol.id
        volume.manager.init_host()  # what a second process with the same host runs at start
        live, dead = rows.values()
        assert db.volume_get(live).status == "creating"
        assert db.volume_get(dead).status == "error"
    finally:
        lab.close()
        CONF.clear_override("lab_release")
