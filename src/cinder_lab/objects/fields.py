"""Cinder's enum fields the lab's objects use; mirrors cinder/objects/fields.py (today's Cinder)."""

from __future__ import annotations

from oslo_versionedobjects import fields


class BaseCinderEnum(fields.Enum):
    """An enum whose valid values are the class's ``ALL``; mirrors Cinder's BaseCinderEnum."""

    ALL: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(valid_values=self.__class__.ALL)


class BackupStatus(BaseCinderEnum):
    """A backup's status values, in Cinder's order (the order is part of the object hash)."""

    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    DELETED = "deleted"
    RESTORING = "restoring"

    ALL = (ERROR, ERROR_DELETING, CREATING, AVAILABLE, DELETING, DELETED, RESTORING)


class BackupStatusField(fields.BaseEnumField):
    """Backup.status; mirrors cinder.objects.fields.BackupStatusField."""

    AUTO_TYPE = BackupStatus()


class VolumeAttachStatus(BaseCinderEnum):
    """A volume's attach_status values, in Cinder's order."""

    ATTACHED = "attached"
    ATTACHING = "attaching"
    DETACHED = "detached"
    RESERVED = "reserved"
    ERROR_ATTACHING = "error_attaching"
    ERROR_DETACHING = "error_detaching"
    DELETED = "deleted"

    ALL = (ATTACHED, ATTACHING, DETACHED, ERROR_ATTACHING, ERROR_DETACHING, RESERVED, DELETED)


class VolumeAttachStatusField(fields.BaseEnumField):
    """Volume.attach_status; mirrors cinder.objects.fields.VolumeAttachStatusField."""

    AUTO_TYPE = VolumeAttachStatus()
