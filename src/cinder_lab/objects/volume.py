"""The Volume object; mirrors cinder/objects/volume.py of today's Cinder (Volume 1.9).

Every field of Cinder's Volume is declared with Cinder's type and nullability,
so the lab's class has the same o.vo fingerprint as Cinder's (the hash in
Cinder's own test_objects.py). ``from_row`` fills them the way Cinder's
``_from_db_object`` does: every non-optional field is set (None where the lab's
table has no column), then the changes are reset, so a freshly loaded object's
primitive carries no ``versioned_object.changes``.
"""

from __future__ import annotations

from oslo_versionedobjects import fields

from cinder_lab.db import models
from cinder_lab.objects import base
from cinder_lab.objects import fields as c_fields

__all__ = ["Volume"]

# Columns of the lab's volumes table whose names differ from the object's fields.
ROW_TO_FIELD = {"name": "display_name"}
FIELD_TO_ROW = {field: column for column, field in ROW_TO_FIELD.items()}
# Cinder's metadata tracking; the only OPTIONAL field the lab fills (the lab has no table
# for it, so it is always empty, as a volume without metadata is in Cinder).
# Columns Cinder's volumes table has and the lab's has not: the value a new Cinder row holds.
DB_DEFAULTS = {
    "use_quota": True,
    "deleted": False,
    "bootable": False,
    "multiattach": False,
    "attach_status": "detached",
    "shared_targets": True,
}
TRACKED = ("metadata", "admin_metadata", "glance_metadata")


@base.CinderObjectRegistry.register
class Volume(
    base.CinderPersistentObject,
    base.CinderObject,
    base.CinderObjectDictCompat,
    base.CinderComparableObject,
    base.ClusteredObject,
):
    """A volume on the wire; Cinder's Volume 1.9 (1.9 added use_quota, Yoga)."""

    VERSION = "1.9"

    OPTIONAL_FIELDS = (
        "metadata",
        "admin_metadata",
        "glance_metadata",
        "volume_type",
        "volume_attachment",
        "consistencygroup",
        "snapshots",
        "cluster",
        "group",
    )

    # Cinder's fields, names, types and nullability. Object fields name classes the
    # lab does not have; they are optional and the lab never sets them.
    fields = {
        "id": fields.UUIDField(),
        "_name_id": fields.UUIDField(nullable=True),
        "ec2_id": fields.UUIDField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "project_id": fields.StringField(nullable=True),
        "use_quota": fields.BooleanField(default=True, nullable=False),
        "snapshot_id": fields.UUIDField(nullable=True),
        "cluster_name": fields.StringField(nullable=True),
        "cluster": fields.ObjectField("Cluster", nullable=True, read_only=True),
        "host": fields.StringField(nullable=True),
        "size": fields.IntegerField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "status": fields.StringField(nullable=True),
        "attach_status": c_fields.VolumeAttachStatusField(nullable=True),
        "migration_status": fields.StringField(nullable=True),
        "scheduled_at": fields.DateTimeField(nullable=True),
        "launched_at": fields.DateTimeField(nullable=True),
        "terminated_at": fields.DateTimeField(nullable=True),
        "display_name": fields.StringField(nullable=True),
        "display_description": fields.StringField(nullable=True),
        "provider_id": fields.StringField(nullable=True),
        "provider_location": fields.StringField(nullable=True),
        "provider_auth": fields.StringField(nullable=True),
        "provider_geometry": fields.StringField(nullable=True),
        "volume_type_id": fields.UUIDField(nullable=True),
        "source_volid": fields.UUIDField(nullable=True),
        "encryption_key_id": fields.UUIDField(nullable=True),
        "consistencygroup_id": fields.UUIDField(nullable=True),
        "group_id": fields.UUIDField(nullable=True),
        "deleted": fields.BooleanField(default=False, nullable=True),
        "bootable": fields.BooleanField(default=False, nullable=True),
        "multiattach": fields.BooleanField(default=False, nullable=True),
        "replication_status": fields.StringField(nullable=True),
        "replication_extended_status": fields.StringField(nullable=True),
        "replication_driver_data": fields.StringField(nullable=True),
        "previous_status": fields.StringField(nullable=True),
        "metadata": fields.DictOfStringsField(nullable=True),
        "admin_metadata": fields.DictOfStringsField(nullable=True),
        "glance_metadata": fields.DictOfStringsField(nullable=True),
        "volume_type": fields.ObjectField("VolumeType", nullable=True),
        "volume_attachment": fields.ObjectField("VolumeAttachmentList", nullable=True),
        "consistencygroup": fields.ObjectField("ConsistencyGroup", nullable=True),
        "snapshots": fields.ObjectField("SnapshotList", nullable=True),
        "group": fields.ObjectField("Group", nullable=True),
        "service_uuid": fields.StringField(nullable=True),
        "shared_targets": fields.BooleanField(default=True, nullable=True),
    }

    obj_extra_fields = ["name_id"]

    @property
    def name_id(self) -> str:
        """The UUID the driver uses: ``_name_id`` after a migration, else ``id`` (as Cinder)."""
        return self._name_id or self.id

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._reset_metadata_tracking()

    def obj_reset_changes(self, fields: object = None, recursive: bool = False) -> None:
        super().obj_reset_changes(fields, recursive)
        self._reset_metadata_tracking(fields)

    @classmethod
    def _obj_from_primitive(cls, context: object, objver: str, primitive: dict) -> Volume:
        obj = super()._obj_from_primitive(context, objver, primitive)
        obj._reset_metadata_tracking()
        return obj

    def _reset_metadata_tracking(self, fields: object = None) -> None:
        # o.vo does not see a dict changed in place; Cinder compares with a copy.
        for name in TRACKED:
            if fields is None or name in fields:
                setattr(self, f"_orig_{name}", dict(getattr(self, name)) if name in self else {})

    def obj_what_changed(self) -> set[str]:
        changes = super().obj_what_changed()
        for name in TRACKED:
            if name in self and getattr(self, name) != getattr(self, f"_orig_{name}"):
                changes.add(name)
        return changes

    @classmethod
    def from_row(cls, row: models.Volume, context: object = None) -> Volume:
        """A Volume from the lab's ``volumes`` row; mirrors Volume._from_db_object.

        The lab's table has no user or project: they come from ``context`` when it
        carries them. ``metadata`` is set empty, as Cinder's default load sets it.
        """
        volume = cls(context=context)
        for name, field in cls.fields.items():
            if name in cls.OPTIONAL_FIELDS:
                continue
            value = _row_value(row, name, context)
            if isinstance(field, fields.IntegerField):
                value = value or 0
            setattr(volume, name, value)
        volume.metadata = {}
        volume.obj_reset_changes()
        return volume


def _row_value(row: models.Volume, name: str, context: object) -> object:
    """The value a field takes from the lab's row (None where the lab has no column)."""
    if name in ("user_id", "project_id"):
        return getattr(context, name, None)
    if name in DB_DEFAULTS:
        return DB_DEFAULTS[name]
    column = FIELD_TO_ROW.get(name, name)
    if column in models.Volume.__table__.c:
        return getattr(row, column)
    return None
