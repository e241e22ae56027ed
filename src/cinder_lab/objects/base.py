"""The base of the lab's versioned objects; mirrors cinder/objects/base.py of today's Cinder.

What a message carries for ``lab_release = current`` is an oslo.versionedobjects
primitive, exactly as Cinder puts it on the wire::

    {"versioned_object.name": "Volume", "versioned_object.namespace": "cinder",
     "versioned_object.version": "1.9", "versioned_object.data": {...set fields...},
     "versioned_object.changes": [...]}   # only when something changed

The library is oslo.versionedobjects, the one Cinder uses, so the envelope, the
field coercion and the refusal of unknown versions are the library's, not ours.
"""

from __future__ import annotations

from oslo_utils import versionutils
from oslo_versionedobjects import base, fields

from cinder_lab import objects

__all__ = [
    "OBJ_VERSIONS",
    "CinderComparableObject",
    "CinderObject",
    "CinderObjectDictCompat",
    "CinderObjectRegistry",
    "CinderObjectSerializer",
    "CinderPersistentObject",
    "ClusteredObject",
]

# Cinder's OBJ_VERSIONS history (cinder/objects/base.py, master), trimmed to the lab's
# objects: '1.38' is Cinder's base (pre-history) and '1.39' added Volume 1.9 (use_quota).
# Services report the newest as object_current_version; peers pin to the oldest.
_BASE_1_38 = {
    "Backup": "1.7",
    "BackupDeviceInfo": "1.0",
    "RequestSpec": "1.5",
    "Volume": "1.8",
    "VolumeProperties": "1.1",
    "VolumeType": "1.3",
}
OBJ_VERSIONS: dict[str, dict[str, str]] = {
    "1.38": _BASE_1_38,
    "1.39": {**_BASE_1_38, "Volume": "1.9"},
}
OBJ_VERSIONS_CURRENT = "1.39"


class CinderObjectRegistry(base.VersionedObjectRegistry):
    """The registry of the lab's objects; mirrors cinder.objects.base.CinderObjectRegistry."""

    def registration_hook(self, cls: type, index: int) -> None:
        # As Cinder: a registered class is reachable as cinder_lab.objects.<Name>.
        setattr(objects, cls.obj_name(), cls)


class CinderObject(base.VersionedObject):
    """Base of every object; mirrors cinder.objects.base.CinderObject.

    OBJ_PROJECT_NAMESPACE tells Cinder's objects from Nova's on a shared bus; the
    serial namespace stays o.vo's ``versioned_object``, as Cinder's does.
    """

    OBJ_PROJECT_NAMESPACE = "cinder"

    def __contains__(self, name: str) -> bool:
        # Cinder answers ``'name' in obj`` for its extra (alias) fields too.
        return name in self.obj_extra_fields or super().__contains__(name)


class CinderObjectDictCompat(base.VersionedObjectDictCompat):
    """``obj['key']`` and ``obj.get('key')``; mirrors cinder.objects.base.CinderObjectDictCompat.

    Cinder's schedulers read a RequestSpec as the dict it once was.
    """

    def get(self, key: str, value: object = base._NotSpecifiedSentinel) -> object:
        if key not in self.obj_fields:
            return None  # as Cinder: an unknown key reads as None, not KeyError
        if (
            value is not base._NotSpecifiedSentinel
            and key not in self.obj_extra_fields
            and not self.obj_attr_is_set(key)
        ):
            return value
        try:
            return getattr(self, key)
        except NotImplementedError:  # an unset field that cannot be lazy-loaded
            return None


class CinderPersistentObject:
    """The fields every table-backed object has; mirrors Cinder's CinderPersistentObject.

    The lab keeps no ORM model on the class: its rows stay in ``cinder_lab.db``.
    """

    OPTIONAL_FIELDS: tuple[str, ...] = ()

    fields = {
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
        "deleted_at": fields.DateTimeField(nullable=True),
        "deleted": fields.BooleanField(default=False, nullable=True),
    }


class CinderComparableObject(base.ComparableVersionedObject):
    """Equal when the primitives are equal; mirrors cinder.objects.base.CinderComparableObject."""

    def __eq__(self, obj: object) -> bool:
        if hasattr(obj, "obj_to_primitive"):
            return self.obj_to_primitive() == obj.obj_to_primitive()
        return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # mutable, compared by value


class ClusteredObject:
    """Where a resource's work goes; mirrors cinder.objects.base.ClusteredObject."""

    @property
    def service_topic_queue(self) -> str | None:
        """The cluster when the backend is clustered, else the host (Cinder's routing key)."""
        return self.cluster_name or self.host

    @property
    def is_clustered(self) -> bool:
        """Whether the backend runs in a cluster."""
        return bool(self.cluster_name)


class CinderObjectSerializer(base.VersionedObjectSerializer):
    """Objects to primitives and back in RPC; mirrors cinder.objects.base.CinderObjectSerializer.

    ``version_cap`` is the manifest version (``OBJ_VERSIONS``) every peer
    understands; Cinder takes it from the services table. Under an older cap each
    outgoing object, and each object nested in it, is sent at the cap's version
    through o.vo's manifest backport, as Cinder does. An unknown cap is refused.
    """

    OBJ_BASE_CLASS = CinderObject

    def __init__(self, version_cap: str | None = None) -> None:
        super().__init__()
        self.version_cap = version_cap
        self.manifest: dict[str, str] | None = None
        if version_cap and version_cap != OBJ_VERSIONS_CURRENT:
            if version_cap not in OBJ_VERSIONS:
                raise ValueError(
                    f"objects version cap {version_cap!r} is unknown: "
                    f"known are {', '.join(OBJ_VERSIONS)}"
                )
            self.manifest = OBJ_VERSIONS[version_cap]

    def _get_capped_obj_version(self, obj: base.VersionedObject) -> str | None:
        """The cap's version of ``obj``, or None to send it as it is (never forward-port)."""
        capped = OBJ_VERSIONS.get(self.version_cap or "", {}).get(obj.obj_name())
        if capped and versionutils.convert_version_to_tuple(
            capped
        ) > versionutils.convert_version_to_tuple(obj.VERSION):
            return None
        return capped

    def serialize_entity(self, context: object, entity: object) -> object:
        if isinstance(entity, (tuple, list, set, dict)):
            return self._process_iterable(context, self.serialize_entity, entity)
        if callable(getattr(entity, "obj_to_primitive", None)):
            return entity.obj_to_primitive(self._get_capped_obj_version(entity), self.manifest)
        return entity
