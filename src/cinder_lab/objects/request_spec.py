"""RequestSpec and VolumeProperties; mirror cinder/objects/request_spec.py of today's Cinder.

Since scheduler RPC 2.2 the API sends the scheduler a RequestSpec
object, and the scheduler hands the same object on to the volume service; Kilo
sent a plain dict with the same keys. The scheduler reads it as a dict
(``CinderObjectDictCompat``), and ``resource_properties`` is an alias of
``volume_properties`` that never travels in the object (an extra field), only
in the dict the filter scheduler puts into ``filter_properties``.
"""

from __future__ import annotations

from oslo_versionedobjects import fields

from cinder_lab.objects import base

__all__ = ["RequestSpec", "VolumeProperties"]


@base.CinderObjectRegistry.register
class RequestSpec(base.CinderObject, base.CinderObjectDictCompat, base.CinderComparableObject):
    """What to place; Cinder's RequestSpec 1.5 (1.5 added availability_zones, Rocky)."""

    VERSION = "1.5"

    fields = {
        "consistencygroup_id": fields.UUIDField(nullable=True),
        "group_id": fields.UUIDField(nullable=True),
        "cgsnapshot_id": fields.UUIDField(nullable=True),
        "image_id": fields.UUIDField(nullable=True),
        "snapshot_id": fields.UUIDField(nullable=True),
        "source_replicaid": fields.UUIDField(nullable=True),
        "source_volid": fields.UUIDField(nullable=True),
        "volume_id": fields.UUIDField(nullable=True),
        "volume": fields.ObjectField("Volume", nullable=True),
        "volume_type": fields.ObjectField("VolumeType", nullable=True),
        "volume_properties": fields.ObjectField("VolumeProperties", nullable=True),
        "CG_backend": fields.StringField(nullable=True),
        "group_backend": fields.StringField(nullable=True),
        "resource_backend": fields.StringField(nullable=True),
        "backup_id": fields.UUIDField(nullable=True),
        "operation": fields.StringField(nullable=True),
        "availability_zones": fields.ListOfStringsField(nullable=True),
    }

    obj_extra_fields = ["resource_properties"]

    @property
    def resource_properties(self) -> VolumeProperties:
        """The filters' old name for ``volume_properties`` (Cinder keeps the alias)."""
        return self.volume_properties


@base.CinderObjectRegistry.register
class VolumeProperties(base.CinderObject, base.CinderObjectDictCompat):
    """The new volume's properties; Cinder's VolumeProperties 1.1."""

    VERSION = "1.1"

    fields = {
        "attach_status": fields.StringField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "cgsnapshot_id": fields.UUIDField(nullable=True),
        "consistencygroup_id": fields.UUIDField(nullable=True),
        "group_id": fields.UUIDField(nullable=True),
        "display_description": fields.StringField(nullable=True),
        "display_name": fields.StringField(nullable=True),
        "encryption_key_id": fields.UUIDField(nullable=True),
        "metadata": fields.DictOfStringsField(nullable=True),
        "multiattach": fields.BooleanField(nullable=True),
        "project_id": fields.StringField(nullable=True),
        "qos_specs": fields.DictOfStringsField(nullable=True),
        "replication_status": fields.StringField(nullable=True),
        "reservations": fields.ListOfStringsField(nullable=True),
        "size": fields.IntegerField(nullable=True),
        "snapshot_id": fields.UUIDField(nullable=True),
        "source_replicaid": fields.UUIDField(nullable=True),
        "source_volid": fields.UUIDField(nullable=True),
        "status": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "volume_type_id": fields.UUIDField(nullable=True),
        "group_type_id": fields.UUIDField(nullable=True),
    }
