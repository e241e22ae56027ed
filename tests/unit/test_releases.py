"""Issue 10: each release's messages, exactly as Cinder sends them, in one process.

Kilo (2015.1.4) and today's Cinder differ in method arguments, versions,
context keys, routing keys and in who talks to whom for a backup. Each test
records every publish on the in-process broker and compares.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cinder_lab import context, memory_tap, rpc
from cinder_lab.backup import api as backup_api
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status as wait
from tests.releases import (
    BACKEND,
    CONTEXT_KEYS,
    EXPECTED,
    check_filter_properties,
    context_keys,
    requests,
)


@pytest.fixture(params=["kilo", "current"])
def release(request: pytest.FixtureRequest, memory_conf: object) -> Iterator[str]:
    """Run the test under each release (the config's ``lab_release``)."""
    CONF.set_override("lab_release", request.param)
    rpc.reset_version_caps()
    yield request.param
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


@pytest.fixture
def lab_of(release: str) -> Iterator[Lab]:
    """Every service of the maqi-kilo config, speaking ``release``."""
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1)
    yield lab
    lab.close()


@pytest.fixture
def published() -> Iterator[list]:
    events: list = []
    unsubscribe = memory_tap.subscribe(events.append)
    yield events
    unsubscribe()


def test_create_volume_messages(lab_of, release, published):
    ctxt = context.get_admin_context()
    vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
    assert (vol.status, vol.host) == ("available", f"{BACKEND}#ceph")
    assert requests(published) == EXPECTED[release]["create"]
    assert context_keys(published) == {CONTEXT_KEYS[release]}
    assert vol.scheduled_at is not None  # set with the host, by the scheduler
    to_backend = next(e for e in published if e.routing_key.startswith("cinder-volume"))
    check_filter_properties(release, to_backend.message["args"])
    if release == "current":
        # The first create_volume (a capability report may be published before it).
        first = next(e for e in published if e.message.get("method") == "create_volume")
        volume = first.message["args"]["volume"]
        assert volume["versioned_object.name"] == "Volume"
        assert volume["versioned_object.namespace"] == "cinder"
        assert volume["versioned_object.version"] == "1.9"


def test_create_backup_messages(lab_of, release, published):
    ctxt = context.get_admin_context()
    vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
    published.clear()
    backup = wait(db.backup_get, backup_api.API().create(ctxt, vol.id).id)
    assert (backup.status, backup.host, backup.volume_host) == ("available", "maqi-kilo", BACKEND)
    assert wait(db.volume_get, vol.id, busy="backing-up").status == "available"
    # Kilo read the volume through its own driver: one cast, no message to cinder-volume.
    assert requests(published) == EXPECTED[release]["backup"]
    if release == "kilo":
        return
    replies = [e for e in published if e.kind == "reply"]
    assert len(replies) == 3
    device_ask = next(e for e in published if e.message.get("method") == "get_backup_device")
    assert device_ask.message["_context_message_resource_type"] == "VOLUME_BACKUP"
    assert device_ask.message["args"]["backup"]["versioned_object.name"] == "Backup"


def test_services_rows_say_what_they_speak(lab_of, release):
    rows = {(r.binary, r.host): r for r in db.service_get_all()}
    volume = rows[("cinder-volume", BACKEND)]
    backup = rows[("cinder-backup", "maqi-kilo")]
    if release == "kilo":
        assert (volume.rpc_current_version, backup.rpc_current_version) == (None, None)
    else:
        assert (volume.rpc_current_version, backup.rpc_current_version) == ("3.20", "2.4")
        assert rows[("cinder-scheduler", "maqi-kilo")].rpc_current_version == "3.12"


def test_current_volume_service_runs_the_second_server(lab_of, release):
    bindings = {(ex, key, q) for ex, key, q in memory_tap.bindings()}
    second = (
        "openstack",
        f"cinder-volume.{BACKEND}.maqi-kilo",
        f"cinder-volume.{BACKEND}.maqi-kilo",
    )
    consumers = memory_tap.consumers()
    if release == "kilo":
        assert second not in bindings
        assert consumers[f"cinder-volume.{BACKEND}"] == 1
    else:
        assert second in bindings
        # Kilo's server queue is also the second server's topic queue: two consumers.
        assert consumers[f"cinder-volume.{BACKEND}"] == 2
        assert memory_tap.exchanges()[f"cinder-volume.{BACKEND}_fanout"] == "fanout"


@pytest.mark.parametrize("release", ["current"], indirect=True)
def test_pinned_below_3_17_the_device_comes_back_as_a_reply(lab_of, release, published):
    ctxt = context.get_admin_context()
    vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
    row = db.service_get_by_args(BACKEND, "cinder-volume")
    db.service_update(row.id, {"rpc_current_version": "3.16"})  # an older cinder-volume
    rpc.reset_version_caps()
    lab_of.stop(lab_of.find("cinder-backup", "maqi-kilo"))
    lab_of.start_backup()  # a new process pins itself at start
    published.clear()
    backup = wait(db.backup_get, backup_api.API().create(ctxt, vol.id).id)
    assert backup.status == "available"
    kinds = [(k, m, v) for k, m, _rk, v, _a in requests(published) if m == "get_backup_device"]
    assert kinds == [("call", "get_backup_device", "3.2")]
    assert not [e for e in published if e.message.get("method") == "continue_backup"]


@pytest.mark.parametrize("release", ["current"], indirect=True)
def test_unanswered_device_request_ends_the_backup_in_error(lab_of, release):
    ctxt = context.get_admin_context()
    vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
    # The volume service stops consuming: today's get_backup_device cast waits unanswered.
    lab_of.stop(lab_of.find("cinder-volume", BACKEND))
    backup = backup_api.API().create(ctxt, vol.id)
    backup = wait(db.backup_get, backup.id, timeout=CONF.rpc_response_timeout + 20)
    assert backup.status == "error"
    assert backup.fail_reason.startswith(f"no answer from cinder-volume {BACKEND} (queue ")
    assert wait(db.volume_get, vol.id, busy="backing-up").status == "available"
