"""The cinder-backup endpoint; mirrors cinder/backup/manager.py.

It serves queue ``cinder-backup.<host>``; to read a volume it *calls* the
cinder-volume service that owns it, routed to ``extract_host(volume.host)``.
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import context, exception, manager
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

# Cinder's fail_reason for a backup its service restarted in the middle of.
INCOMPLETE = "incomplete backup reset on manager restart"


class BackupManager(manager.Manager):
    """Runs backups for volumes whose host part equals this service's host."""

    RPC_API_VERSION = backup_rpcapi.BackupAPI.RPC_API_VERSION
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()

    def _do_cleanup(self, ctxt: context.RequestContext, worker: models.Worker) -> None:
        """A backup this service was making when it died; mirrors _cleanup_one_backup."""
        if worker.resource_type != "Backup":
            return
        try:
            backup = db.backup_get(worker.resource_id)
        except exception.BackupNotFound:
            return
        if backup.status != "creating":
            return
        LOG.info("Resetting backup %s to error (was creating).", backup.id)
        try:
            volume = db.volume_get(backup.volume_id)
            if volume.status == "backing-up":
                LOG.info("Resetting volume %s to available (was backing-up).", volume.id)
                db.volume_update(volume.id, {"status": "available"})
        except exception.VolumeNotFound:
            pass
        db.backup_update(backup.id, {"status": "error", "fail_reason": INCOMPLETE})

    def create_backup(self, context: context.RequestContext, backup_id: str) -> None:
        """Back up one volume: ask its volume service for the device, then finish."""
        self.handled["create_backup"] += 1
        backup = db.backup_get(backup_id)
        with self.working_on("Backup", backup.id):
            self._create_backup(context, backup)

    def _create_backup(self, context: context.RequestContext, backup: models.Backup) -> None:
        backup_id = backup.id
        volume = db.volume_get(backup.volume_id)
        try:
            device = self.volume_rpcapi.get_backup_device(context, backup_id, volume)
            self.fake_work("create_backup")
        except messaging.MessagingTimeout:
            reason = f"cinder-volume {volume.host} did not answer get_backup_device"
            LOG.error("backup %s failed: %s", backup_id, reason)
            db.backup_update(backup_id, {"status": "error", "fail_reason": reason})
            db.volume_update(volume.id, {"status": "available"})
            return
        db.backup_update(
            backup_id,
            {
                "status": "available",
                "host": self.host,
                "volume_host": device["served_by"],
            },
        )
        db.volume_update(volume.id, {"status": "available"})
        LOG.info("backup %s of volume %s done by %s", backup_id, volume.id, self.host)
