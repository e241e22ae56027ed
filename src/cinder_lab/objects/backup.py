"""The Backup object; mirrors cinder/objects/backup.py of today's Cinder (Backup 1.7).

Every field of Cinder's Backup is declared with Cinder's type and nullability
(the same o.vo fingerprint as Cinder's). ``from_row`` fills them as Cinder's
``_from_db_object`` with the default ``metadata`` load does, then resets the
changes. BackupDeviceInfo, which Cinder keeps in this module too, is in
``backup_device.py`` (a module of its own keeps each under the lab's size rule).
"""

from __future__ import annotations

from oslo_versionedobjects import fields

from cinder_lab.db import models
from cinder_lab.objects import base
from cinder_lab.objects import fields as c_fields

__all__ = ["Backup"]

# Columns Cinder's backups table has and the lab's has not: the value a new Cinder row holds.
DB_DEFAULTS = {"deleted": False, "num_dependent_backups": 0}
# Lab columns with no Backup field: volume_host is the lab's own record of who answered.
LAB_ONLY_COLUMNS = ("volume_host",)


@base.CinderObjectRegistry.register
class Backup(base.CinderPersistentObject, base.CinderObject, base.CinderComparableObject):
    """A backup on the wire; Cinder's Backup 1.7 (1.7 added parent, Wallaby)."""

    VERSION = "1.7"

    OPTIONAL_FIELDS = ("metadata", "parent")

    fields = {
        "id": fields.UUIDField(),
        "user_id": fields.StringField(),
        "project_id": fields.StringField(),
        "volume_id": fields.UUIDField(),
        "host": fields.StringField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "container": fields.StringField(nullable=True),
        "parent_id": fields.StringField(nullable=True),
        "parent": fields.ObjectField("Backup", nullable=True),
        "status": c_fields.BackupStatusField(nullable=True),
        "fail_reason": fields.StringField(nullable=True),
        "size": fields.IntegerField(nullable=True),
        "display_name": fields.StringField(nullable=True),
        "display_description": fields.StringField(nullable=True),
        "service_metadata": fields.StringField(nullable=True),
        "service": fields.StringField(nullable=True),
        "object_count": fields.IntegerField(nullable=True),
        "temp_volume_id": fields.StringField(nullable=True),
        "temp_snapshot_id": fields.StringField(nullable=True),
        "num_dependent_backups": fields.IntegerField(nullable=True),
        "snapshot_id": fields.StringField(nullable=True),
        "data_timestamp": fields.DateTimeField(nullable=True),
        "restore_volume_id": fields.StringField(nullable=True),
        "metadata": fields.DictOfStringsField(nullable=True),
        "encryption_key_id": fields.StringField(nullable=True),
    }

    obj_extra_fields = ["is_incremental", "has_dependent_backups"]

    @property
    def is_incremental(self) -> bool:
        """An incremental backup has a parent (as Cinder)."""
        return bool(self.parent_id)

    @property
    def has_dependent_backups(self) -> bool:
        """Whether incremental backups build on this one (as Cinder)."""
        return bool(self.num_dependent_backups)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._reset_metadata_tracking()

    def obj_reset_changes(self, fields: object = None, recursive: bool = False) -> None:
        super().obj_reset_changes(fields, recursive)
        self._reset_metadata_tracking(fields)

    def _reset_metadata_tracking(self, fields: object = None) -> None:
        # o.vo does not see a dict changed in place; Cinder compares with a copy.
        if fields is None or "metadata" in fields:
            self._orig_metadata = dict(self.metadata) if "metadata" in self else {}

    def obj_what_changed(self) -> set[str]:
        changes = super().obj_what_changed()
        if "metadata" in self and self.metadata != self._orig_metadata:
            changes.add("metadata")
        return changes

    @classmethod
    def from_row(cls, row: models.Backup, context: object = None) -> Backup:
        """A Backup from the lab's ``backups`` row; mirrors Backup._from_db_object.

        ``user_id`` and ``project_id`` (not nullable, and not in the lab's table)
        come from ``context``; without them they stay unset rather than invented.
        """
        backup = cls(context=context)
        for name, field in cls.fields.items():
            if name in cls.OPTIONAL_FIELDS:
                continue
            value = _row_value(row, name, context)
            if isinstance(field, fields.IntegerField):
                value = value if value is not None else 0
            if value is None and not field.nullable:
                continue
            setattr(backup, name, value)
        backup.metadata = {}
        if backup.parent_id is None:
            # Today's API builds the Backup with ``parent=None`` and every hop passes
            # that object on, so each message of a backup-create carries ``parent: null``.
            backup.parent = None
        backup.obj_reset_changes()
        return backup


def _row_value(row: models.Backup, name: str, context: object) -> object:
    """The value a field takes from the lab's row (None where the lab has no column)."""
    if name in ("user_id", "project_id"):
        return getattr(context, name, None)
    if name in DB_DEFAULTS:
        return DB_DEFAULTS[name]
    if name in models.Backup.__mapper__.columns:
        return getattr(row, name)
    return None
