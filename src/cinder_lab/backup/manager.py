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
from cinder_lab.volume import volume_utils

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
        if worker.resource_type == "Backup":
            self._fail("Backup", worker.resource_id, INCOMPLETE)

    def _fail(self, resource_type: str, resource_id: str, reason: str) -> None:
        """The backup ends ``error`` with ``reason``; its volume goes back to ``available``."""
        try:
            backup = db.backup_get(resource_id)
        except exception.BackupNotFound:
            return
        if db.backup_conditional_update(
            backup.id, {"status": "error", "fail_reason": reason}, "creating"
        ):
            LOG.info("backup %s: error (was creating): %s", backup.id, reason)
        if db.volume_conditional_update(backup.volume_id, {"status": "available"}, "backing-up"):
            LOG.info("volume %s: available (was backing-up)", backup.volume_id)

    def create_backup(self, context: context.RequestContext, backup_id: str) -> None:
        """Back up one volume: ask its volume service for the device, then finish."""
        self.handled["create_backup"] += 1
        backup, volume = self._backup_to_create(backup_id)
        with self.working_on("Backup", backup.id):
            self._create_backup(context, backup, volume)

    def _backup_to_create(self, backup_id: object) -> tuple[models.Backup, models.Volume]:
        """The backup of a create_backup message and its volume, or InvalidMessage."""
        manager.require(isinstance(backup_id, str), f"backup_id {backup_id!r} is not a string")
        backup = db.backup_get(backup_id)
        manager.require(
            backup.status == "creating", f"backup {backup_id} is {backup.status!r}, not 'creating'"
        )
        manager.require(
            backup.host == self.host, f"backup {backup_id} is for {backup.host}, not {self.host}"
        )
        volume = db.volume_get(backup.volume_id)
        manager.require(
            volume.status == "backing-up",
            f"volume {volume.id} is {volume.status!r}, not 'backing-up'",
        )
        return backup, volume

    def _create_backup(
        self, context: context.RequestContext, backup: models.Backup, volume: models.Volume
    ) -> None:
        try:
            device = self.volume_rpcapi.get_backup_device(context, backup.id, volume)
        except messaging.MessagingTimeout:
            backend = volume_utils.extract_host(volume.host)
            raise exception.BackupFailed(
                reason=f"cinder-volume {backend} did not answer get_backup_device"
            ) from None
        self.fake_work("create_backup")
        done = {"status": "available", "host": self.host, "volume_host": device["served_by"]}
        if db.backup_conditional_update(backup.id, done, "creating"):
            db.volume_conditional_update(volume.id, {"status": "available"}, "backing-up")
            LOG.info("backup %s of volume %s done by %s", backup.id, volume.id, self.host)
