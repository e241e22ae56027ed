"""Versioned objects: Cinder's names, versions, fields and primitives, built from real rows.

The fingerprints are the hashes Cinder records for these classes in its own
``cinder/tests/unit/objects/test_objects.py`` (master): same fields, same types,
same nullability, same version.
"""

from __future__ import annotations

import hashlib
import json
import queue
from pathlib import Path

import oslo_messaging as messaging
import pytest
from oslo_versionedobjects import exception as ovo_exception

from cinder_lab import context as lab_context
from cinder_lab import memory_tap, objects, rpc
from cinder_lab.db import api as db
from cinder_lab.objects import base
from cinder_lab.objects.backup import Backup
from cinder_lab.objects.backup_device import BackupDeviceInfo
from cinder_lab.objects.volume import Volume

objects.register_all()

CINDER_OBJECT_HASHES = {
    "Backup": "1.7-fffdbcd5da3c30750916fa2cc0e8ffb5",
    "BackupDeviceInfo": "1.0-74b3950676c690538f4bc6796bd0042e",
    "Volume": "1.9-37de6d473e44d3f9f6d946fe93a3cece",
    "RequestSpec": "1.5-2f6efbb86107ee70cc1bb07f4bdb4ec7",
    "VolumeProperties": "1.1-cadac86b2bdc11eb79d1dcea988ff9e8",
    "VolumeType": "1.3-a5d8c3473db9bc3bbcdbab9313acf4d1",
}
ENVELOPE = {
    "versioned_object.name",
    "versioned_object.namespace",
    "versioned_object.version",
    "versioned_object.data",
}
NAME = "versioned_object.name"
DATA = "versioned_object.data"
CHANGES = "versioned_object.changes"


class ObjectContextSerializer(rpc.RequestContextSerializer):
    """cinder.rpc's RequestContextSerializer(CinderObjectSerializer()) for this test only:
    the lab's own one takes no base serializer until the lead wires it."""

    def __init__(self, base_serializer: messaging.Serializer) -> None:
        self._base = base_serializer

    def serialize_entity(self, ctxt: object, entity: object) -> object:
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt: object, entity: object) -> object:
        return self._base.deserialize_entity(ctxt, entity)


def fingerprint(cls: type) -> str:
    """o.vo's ObjectVersionChecker fingerprint (fields and no remotable methods)."""
    relevant = (sorted(cls.fields.items()), [])
    return f"{cls.VERSION}-{hashlib.md5(repr(relevant).encode()).hexdigest()}"


def ctxt() -> lab_context.RequestContext:
    return lab_context.RequestContext(user_id="lab-user", project_id="lab-project")


@pytest.fixture
def rows(memory_conf: Path) -> tuple:
    """A volume and a backup of it, as rows in the lab's SQLite database."""
    volume = db.volume_create(
        {"name": "vol1", "size": 1, "status": "available", "host": "maqi-kilo@ceph#ceph"}
    )
    backup = db.backup_create({"volume_id": volume.id, "status": "creating", "host": "maqi-kilo"})
    return db.volume_get(volume.id), db.backup_get(backup.id)


def test_the_classes_have_cinders_fingerprints():
    registered = base.CinderObjectRegistry.obj_classes()
    assert {name: fingerprint(registered[name][0]) for name in CINDER_OBJECT_HASHES} == (
        CINDER_OBJECT_HASHES
    )
    assert objects.Volume is Volume  # the registry hook, as cinder.objects.Volume


def test_a_volume_from_a_row_has_cinders_primitive(rows):
    row, _ = rows
    primitive = Volume.from_row(row, ctxt()).obj_to_primitive()
    # Freshly loaded: no changes key, as after Cinder's _from_db_object.
    assert set(primitive) == ENVELOPE
    assert primitive[NAME] == "Volume"
    assert primitive["versioned_object.namespace"] == "cinder"
    assert primitive["versioned_object.version"] == "1.9"
    data = primitive[DATA]
    # Every field but the lazy ones, plus the metadata Cinder's default load brings.
    expected = set(Volume.fields) - set(Volume.OPTIONAL_FIELDS) | {"metadata"}
    assert set(data) == expected
    assert data["id"] == row.id
    assert data["display_name"] == "vol1"
    assert data["host"] == "maqi-kilo@ceph#ceph"
    assert data["project_id"] == "lab-project"
    assert data["use_quota"] is True and data["attach_status"] == "detached"
    assert data["created_at"].endswith("Z") and "." not in data["created_at"]


def test_a_backup_from_a_row_has_cinders_primitive(rows):
    volume_row, row = rows
    backup = Backup.from_row(row, ctxt())
    primitive = backup.obj_to_primitive()
    assert set(primitive) == ENVELOPE
    assert (primitive[NAME], primitive["versioned_object.version"]) == ("Backup", "1.7")
    data = primitive[DATA]
    assert set(data) == set(Backup.fields) - {"parent"}
    assert data["volume_id"] == volume_row.id and data["status"] == "creating"
    assert data["metadata"] == {} and data["num_dependent_backups"] == 0
    backup.status = "available"
    backup.metadata["k"] = "v"  # changed in place: tracked, as Cinder's is
    assert set(backup.obj_to_primitive()[CHANGES]) == {"status", "metadata"}


def test_a_backup_status_outside_cinders_enum_is_refused(rows):
    _, row = rows
    backup = Backup.from_row(row, ctxt())
    with pytest.raises(ValueError, match="backing-up"):
        backup.status = "backing-up"


def test_volume_and_backup_round_trip_through_the_serializer(rows):
    volume_row, backup_row = rows
    serializer = base.CinderObjectSerializer()
    context = ctxt()
    for obj in (Volume.from_row(volume_row, context), Backup.from_row(backup_row, context)):
        wire = json.loads(json.dumps(serializer.serialize_entity(context, obj)))
        back = serializer.deserialize_entity(context, wire)
        assert type(back) is type(obj)
        assert back == obj
        assert back.obj_what_changed() == set()


def test_service_topic_queue_is_the_cluster_or_the_host(rows):
    volume = Volume.from_row(rows[0])
    assert volume.service_topic_queue == "maqi-kilo@ceph#ceph"
    volume.cluster_name = "mycluster@ceph#ceph"
    assert volume.service_topic_queue == "mycluster@ceph#ceph"


def test_backup_device_info_nests_a_volume_primitive(rows):
    volume_row, _ = rows
    info = BackupDeviceInfo.from_primitive(
        {"backup_device": volume_row, "secure_enabled": False, "is_snapshot": False}, ctxt()
    )
    assert info.is_snapshot is False and info.device_obj.id == volume_row.id
    primitive = base.CinderObjectSerializer().serialize_entity(ctxt(), info)
    assert primitive[NAME] == "BackupDeviceInfo"
    nested = primitive[DATA]["volume"]
    assert (nested[NAME], nested["versioned_object.version"]) == ("Volume", "1.9")
    assert "snapshot" not in primitive[DATA]
    back = base.CinderObjectSerializer().deserialize_entity(ctxt(), primitive)
    assert back.volume == info.volume


@pytest.mark.parametrize("version", ["1.10", "2.0"])
def test_a_newer_object_version_is_refused(rows, version):
    primitive = Volume.from_row(rows[0]).obj_to_primitive()
    primitive["versioned_object.version"] = version
    with pytest.raises(ovo_exception.IncompatibleObjectVersion, match=f"Version {version}"):
        base.CinderObjectSerializer().deserialize_entity(ctxt(), primitive)


def test_an_unknown_object_or_version_cap_is_refused(rows):
    primitive = Volume.from_row(rows[0]).obj_to_primitive()
    primitive[NAME] = "Snapshot"
    with pytest.raises(ovo_exception.UnsupportedObjectError, match="Snapshot"):
        base.CinderObjectSerializer().deserialize_entity(ctxt(), primitive)
    primitive[NAME] = "Volume"
    primitive["versioned_object.namespace"] = "nova"  # Nova's Volume is not Cinder's
    with pytest.raises(ovo_exception.UnsupportedObjectError, match="nova.Volume"):
        base.CinderObjectSerializer().deserialize_entity(ctxt(), primitive)
    with pytest.raises(ValueError, match="1.37"):
        base.CinderObjectSerializer("1.37")
    assert base.CinderObjectSerializer("1.39").manifest is None


def test_under_an_older_cap_objects_go_at_the_caps_versions(rows):
    """Cap 1.38 (before use_quota): Volume goes as 1.8, nested ones too, via the manifest."""
    volume = Volume.from_row(rows[0], ctxt())
    info = BackupDeviceInfo(volume=volume, secure_enabled=False)
    serializer = base.CinderObjectSerializer("1.38")
    assert serializer.serialize_entity(ctxt(), volume)["versioned_object.version"] == "1.8"
    nested = serializer.serialize_entity(ctxt(), info)[DATA]["volume"]
    assert nested["versioned_object.version"] == "1.8"
    # The current cap leaves everything at its own version.
    current = base.CinderObjectSerializer("1.39").serialize_entity(ctxt(), [volume])
    assert current[0]["versioned_object.version"] == "1.9"


def test_a_volume_object_crosses_a_real_cast(rows, memory_conf):
    """A cast on kombu+memory:// carries the primitive; the server gets a Volume back."""
    from oslo_config import cfg

    transport = rpc.init(cfg.CONF)
    serializer = ObjectContextSerializer(base.CinderObjectSerializer())
    received: queue.Queue = queue.Queue()
    published: list = []

    class Endpoint:
        target = messaging.Target(version="3.17")

        def create_volume(self, context, volume):  # type: ignore[no-untyped-def]
            received.put((context, volume))

    target = messaging.Target(topic="objects-test", server="maqi-kilo@ceph")
    server = messaging.get_rpc_server(transport, target, [Endpoint()], serializer=serializer)
    unsubscribe = memory_tap.subscribe(published.append)
    server.start()
    try:
        volume = Volume.from_row(rows[0], ctxt())
        client = messaging.get_rpc_client(transport, target, serializer=serializer)
        client.prepare(version="3.17").cast(ctxt(), "create_volume", volume=volume)
        context, got = received.get(timeout=10)
    finally:
        unsubscribe()
        server.stop()
        server.wait()
    assert isinstance(got, Volume) and got == volume
    assert context.project_id == "lab-project"
    casts = [p for p in published if p.message.get("method") == "create_volume"]
    assert len(casts) == 1
    on_wire = casts[0].message["args"]["volume"]
    assert on_wire == volume.obj_to_primitive()
    assert on_wire[NAME] == "Volume" and on_wire["versioned_object.namespace"] == "cinder"


def test_volume_fields_coerce_and_refuse_as_cinders(rows):
    volume = Volume.from_row(rows[0])
    volume.size = "2"  # o.vo coerces, as on a Cinder object
    assert volume.size == 2
    with pytest.raises(ValueError, match="attach_status|half-attached"):
        volume.attach_status = "half-attached"
