"""Backup requests as the API service handles them; mirrors cinder/backup/api.py.

The heart of the note, in Kilo (2015.1): the backup goes to
``extract_host(volume.host, 'host')``, and only if a cinder-backup with exactly
that host is up; else ``ServiceNotFound`` and nothing is sent. Today the API
checks no backup service: it casts ``create_backup`` to a scheduler, which
chooses the host (and, with ``backup_use_same_host``, applies Kilo's rule there).
"""

from __future__ import annotations

from cinder_lab import context, exception, utils
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.objects.backup import Backup
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import volume_utils


class API:
    """Backup requests: create (the list and show commands read the database)."""

    def __init__(self) -> None:
        self.backup_rpcapi = backup_rpcapi.BackupAPI()
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()

    def _is_backup_service_enabled(self, volume: models.Volume, volume_host: str) -> bool:
        """Kilo's check: a cinder-backup not disabled, same zone, same host, up."""
        services = db.service_get_all(topic=CONF.backup_topic, disabled=False)
        for srv in services:
            if (
                srv.availability_zone == volume.availability_zone
                and srv.host == volume_host
                and utils.service_is_up(srv)
            ):
                return True
        return False

    def create(
        self, ctxt: context.RequestContext, volume_id: str, force: bool = False
    ) -> models.Backup:
        """Check the volume (Kilo: and its backup service), store the backup, cast.

        Kilo backs up only an ``available`` volume; today also an ``in-use``
        one with ``force``. Kilo's row gets the backup host and no zone; today's
        neither (the scheduler picks the host, the backup manager fills the zone).
        """
        volume = db.volume_get(volume_id)
        allowed = ("available",) if config.is_kilo() else ("available", "in-use")
        if volume.status not in allowed:
            must = " or ".join(repr(a) for a in allowed)
            raise exception.InvalidVolume(
                reason=f"volume {volume_id} is {volume.status!r}, must be {must}"
            )
        if volume.status == "in-use" and not force:
            raise exception.InvalidVolume(
                reason="Backing up an in-use volume must use the force flag."
            )
        # Services of the other release are refused here, before any row is written.
        (self.backup_rpcapi if config.is_kilo() else self.scheduler_rpcapi).version_cap()
        host = None
        backing_up = {"status": "backing-up"}
        if config.is_kilo():
            host = volume_utils.extract_host(volume.host, "host")
            if not self._is_backup_service_enabled(volume, host):
                raise exception.ServiceNotFound(service_id="cinder-backup")
        else:
            backing_up["previous_status"] = volume.status
        values = {
            "volume_id": volume_id,
            "status": "creating",
            "host": host,  # today None: the scheduler fills it in
            "parent_id": None,
            "size": volume.size,
        }
        # Check and change in one step: of two racing backups of a volume, one wins
        # (Cinder reads, then updates: both can; docs/releases.md lists the difference).
        backup = db.backup_create_for_volume(volume_id, backing_up, values, volume.status)
        if backup is None:
            status = db.volume_get(volume_id).status
            raise exception.InvalidVolume(
                reason=f"volume {volume_id} is {status!r}, must be 'available'"
            )
        try:
            self._cast(ctxt, backup)
        except Exception as e:
            # Nothing was sent: leave the volume as it was and say why the backup failed.
            db.volume_conditional_update(volume_id, {"status": volume.status}, "backing-up")
            db.backup_update(backup.id, {"status": "error", "fail_reason": f"cast failed: {e}"})
            raise
        return backup

    def _cast(self, ctxt: context.RequestContext, backup: models.Backup) -> None:
        """Kilo: straight to the backup host. Today: to a scheduler, which picks it."""
        if config.is_kilo():
            self.backup_rpcapi.create_backup(ctxt, backup)
        else:
            self.scheduler_rpcapi.create_backup(ctxt, Backup.from_row(backup, ctxt))

    def reset_status(self, ctxt: context.RequestContext, backup_id: str, status: str) -> None:
        """Set a backup ``available`` or ``error``; mirrors backup/api.py reset_status (today).

        Cinder first needs an up cinder-backup (``_get_available_backup_service_host``,
        else ServiceNotFound), then casts ``reset_status`` to it and the manager
        writes the status, but only for a backup some backup service began
        (``backup.service`` set): one whose cast still waits for a gone host keeps
        ``creating`` there. The lab applies the same check and writes the status
        here. Neither touches the volume: reset that too (``reset-state``).
        """
        backup = db.backup_get(backup_id)
        if not config.is_kilo() and not self._any_backup_service_up(backup):
            raise exception.ServiceNotFound(service_id="cinder-backup")
        db.backup_update(backup_id, {"status": status})
        db.worker_destroy_for_resource("Backup", backup_id)

    def _any_backup_service_up(self, backup: models.Backup) -> bool:
        """Today's API rule: an enabled, up cinder-backup in the backup's zone (with
        ``backup_use_same_host``: on the backup's own host)."""
        for srv in db.service_get_all(topic=CONF.backup_topic, disabled=False):
            same = not CONF.backup_use_same_host or not backup.host or srv.host == backup.host
            zone = not backup.availability_zone or srv.availability_zone == backup.availability_zone
            if same and zone and utils.service_is_up(srv):
                return True
        return False
