"""The VolumeType object; mirrors cinder/objects/volume_type.py of today's Cinder (1.3).

The lab's volume types are only a name and its ``volume_backend_name`` extra
spec, with no table: the object carries ``name`` and ``extra_specs`` and
leaves ``id`` unset (an unset field does not travel), where Cinder sends the
type's row.
"""

from __future__ import annotations

from oslo_versionedobjects import fields

from cinder_lab.objects import base

__all__ = ["VolumeType"]


@base.CinderObjectRegistry.register
class VolumeType(
    base.CinderPersistentObject,
    base.CinderObject,
    base.CinderObjectDictCompat,
    base.CinderComparableObject,
):
    """A volume type on the wire; Cinder's VolumeType 1.3 (1.3 added qos_specs_id)."""

    VERSION = "1.3"

    OPTIONAL_FIELDS = ("extra_specs", "projects", "qos_specs")

    fields = {
        "id": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "description": fields.StringField(nullable=True),
        "is_public": fields.BooleanField(default=True, nullable=True),
        "projects": fields.ListOfStringsField(nullable=True),
        "extra_specs": fields.DictOfNullableStringsField(nullable=True),
        "qos_specs_id": fields.UUIDField(nullable=True),
        "qos_specs": fields.ObjectField("QualityOfServiceSpecs", nullable=True),
    }

    @classmethod
    def for_backend(cls, name: str, context: object = None) -> VolumeType:
        """The lab's type ``name``: its one extra spec picks the backend of that name."""
        vtype = cls(context=context, name=name, description=None, is_public=True)
        vtype.extra_specs = {"volume_backend_name": name}
        vtype.obj_reset_changes()
        return vtype
