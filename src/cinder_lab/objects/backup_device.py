"""BackupDeviceInfo; mirrors the class of that name in cinder/objects/backup.py (1.0).

What cinder-volume hands cinder-backup in today's ``continue_backup``: the
device to read, a volume or a snapshot. The lab has no snapshots; the field is
declared as Cinder's (same fingerprint) and stays unset, so ``device_obj`` is
always the volume.
"""

from __future__ import annotations

from oslo_versionedobjects import fields

from cinder_lab.objects import base
from cinder_lab.objects.volume import Volume

__all__ = ["BackupDeviceInfo"]


@base.CinderObjectRegistry.register
class BackupDeviceInfo(base.CinderObject, base.CinderComparableObject):
    """The device a backup reads; Cinder's BackupDeviceInfo 1.0 (since Newton)."""

    VERSION = "1.0"

    fields = {
        "volume": fields.ObjectField("Volume", nullable=True),
        "snapshot": fields.ObjectField("Snapshot", nullable=True),
        "secure_enabled": fields.BooleanField(default=False),
    }

    obj_extra_fields = ["is_snapshot", "device_obj"]

    @property
    def is_snapshot(self) -> bool:
        """Whether the device is a snapshot; exactly one of volume and snapshot is set."""
        if self.obj_attr_is_set("snapshot") == self.obj_attr_is_set("volume"):
            raise ValueError("Either snapshot or volume field should be set.")
        return self.obj_attr_is_set("snapshot")

    @property
    def device_obj(self) -> object:
        """The volume or snapshot to read."""
        return self.snapshot if self.is_snapshot else self.volume

    @classmethod
    def from_primitive(cls, primitive: dict, context: object = None) -> BackupDeviceInfo:
        """Build from the dict form ``{backup_device, secure_enabled, is_snapshot}``.

        Mirrors Cinder's ``from_primitive`` (the Mitaka-era dict form of
        ``get_backup_device``'s answer); ``backup_device`` is a Volume or a lab row.
        """
        if primitive["is_snapshot"]:
            raise ValueError("the lab has no snapshots: is_snapshot must be false")
        device = primitive["backup_device"]
        info = cls(context=context)
        info.volume = device if isinstance(device, Volume) else Volume.from_row(device, context)
        info.secure_enabled = primitive["secure_enabled"]
        return info
