"""One mechanism for both releases: each rpcapi method's form follows its version cap.

A Kilo client is a client capped at Kilo's versions; today's client pinned by
an old ``services`` row is one capped at that row's version. Each case sends
one message on the in-process broker under one cap and compares what was
published with ``tests/releases.py PINNED`` (written from Cinder's rpcapi
modules at 2015.1.4 and master). Objects follow the oldest
``object_current_version`` the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cinder_lab import context, exception, memory_tap, rpc
from cinder_lab.backup.rpcapi import BackupAPI
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.objects.backup import Backup
from cinder_lab.objects.volume import Volume
from cinder_lab.scheduler.rpcapi import SchedulerAPI
from cinder_lab.volume.rpcapi import VolumeAPI
from tests.releases import BACKEND, PINNED

APIS = {"scheduler": SchedulerAPI, "volume": VolumeAPI, "backup": BackupAPI}
CAPS = {"volume_backend_name": "ceph", "pools": []}


@pytest.fixture
def published(memory_conf: object) -> Iterator[list]:
    """Today's release on kombu+memory://, every publish recorded; no service runs."""
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    rpc.init(CONF)
    events: list = []
    unsubscribe = memory_tap.subscribe(events.append)
    yield events
    unsubscribe()
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


def objects() -> tuple[Volume, Backup]:
    volume = Volume(
        id=str(uuid.uuid4()), host=f"{BACKEND}#ceph", cluster_name=None, size=1, use_quota=True
    )
    backup = Backup(id=str(uuid.uuid4()), host="maqi-kilo", volume_id=volume.id)
    return volume, backup


def send(api: object, method: str) -> None:
    """Call one rpcapi method with the arguments the lab's callers give it."""
    ctxt = context.get_admin_context()
    volume, backup = objects()
    spec = {"volume_id": volume.id, "volume_properties": {"size": 1}}
    args = {
        "create_volume": (volume, spec, {}),
        "create_backup": (backup,),
        "update_service_capabilities": ("volume", BACKEND, CAPS),
        "notify_service_capabilities": ("volume", BACKEND, CAPS),
        "publish_service_capabilities": (),
        "get_backup_device": (backup, volume),
    }[method]
    getattr(api, method)(ctxt, *args)


def wire(event: object) -> tuple:
    msg = event.message
    where = event.exchange if event.exchange.endswith("_fanout") else event.routing_key
    return (msg["method"], where, msg["version"], sorted(msg["args"]))


@pytest.mark.parametrize(("api", "method", "cap", "expected"), PINNED)
def test_each_method_sends_the_form_its_cap_allows(published, api, method, cap, expected):
    client = APIS[api](version_cap=cap)
    if isinstance(expected, str):
        with pytest.raises(getattr(exception, expected)):
            send(client, method)
        assert published == []  # nothing left: the caller logs and goes on
        return
    send(client, method)
    assert [wire(e) for e in published] == [expected]


@pytest.mark.parametrize("release", ["kilo", "current"])
def test_the_release_only_sets_the_caps(memory_conf, release):
    CONF.set_override("lab_release", release)
    try:
        caps = {name: api().version_cap() for name, api in APIS.items()}
    finally:
        CONF.clear_override("lab_release")
        rpc.reset_version_caps()
    if release == "kilo":  # Kilo's caps written in its code (2015.1.4)
        assert caps == {"scheduler": "1.7", "volume": "1.23", "backup": "1.0"}
    else:  # no services row yet: each client assumes peers of its own version
        assert caps == {"scheduler": "3.12", "volume": "3.20", "backup": "2.4"}


def test_upgrade_levels_overrides_the_rows(published):
    CONF.set_override("volume", "1.23", group="upgrade_levels")
    try:
        send(VolumeAPI(), "create_volume")  # today's lab, pinned by hand to Kilo's volume API
    finally:
        CONF.clear_override("volume", group="upgrade_levels")
    assert [wire(e)[1:3] for e in published] == [(f"cinder-volume.{BACKEND}", "1.4")]


def add_row(binary: str, host: str, rpc_version: str | None, obj_version: str | None) -> None:
    db.service_create(
        {
            "host": host,
            "binary": binary,
            "topic": binary,
            "rpc_current_version": rpc_version,
            "object_current_version": obj_version,
        }
    )


def test_an_old_row_pins_the_rpc_and_the_object_versions(published):
    """A cinder-volume row at RPC 3.16 and objects 1.38: the oldest one wins for both."""
    add_row("cinder-volume", BACKEND, "3.20", "1.39")
    add_row("cinder-volume", "old@ceph", "3.16", "1.38")
    api = VolumeAPI()
    assert (api.version_cap(), api.obj_version_cap()) == ("3.16", "1.38")
    send(api, "create_volume")
    volume = published[0].message["args"]["volume"]
    # Cinder's Volume has no obj_make_compatible: 1.8 on the wire, use_quota still in it.
    assert volume["versioned_object.version"] == "1.8"
    assert "use_quota" in volume["versioned_object.data"]
    # Another binary's rows do not pin this one.
    assert SchedulerAPI().obj_version_cap() == "1.39"
    # A server's replies go at the oldest objects version of every service.
    assert rpc.server_obj_version_cap() == "1.38"


def test_a_row_with_no_version_stops_todays_clients(published):
    add_row("cinder-volume", "old-kilo@lvm", None, None)
    with pytest.raises(exception.ServiceTooOld):
        send(VolumeAPI(), "create_volume")
    assert published == []
