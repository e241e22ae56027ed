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


class VolumeStatus(BaseCinderEnum):
    """A volume's status values; mirrors cinder.objects.fields.VolumeStatus (the API's
    ``os-reset_status`` accepts these; the lab's volumes use only a few)."""

    ALL = (
        "creating", "available", "deleting", "error", "error_deleting", "error_managing",
        "managing", "attaching", "in-use", "detaching", "maintenance", "restoring-backup",
        "error_restoring", "reserved", "awaiting-transfer", "backing-up", "error_backing-up",
        "error_extending", "downloading", "uploading", "retyping", "extending",
    )  # fmt: skip


class VolumeMigrationStatus(BaseCinderEnum):
    """A volume's migration_status values; mirrors cinder.objects.fields.VolumeMigrationStatus."""

    ALL = ("migrating", "error", "success", "completing", "none", "starting")
