"""Backup requests as the API service handles them; mirrors cinder/backup/api.py (Kilo).

The heart of the note: the backup goes to ``extract_host(volume.host, 'host')``,
and only if a cinder-backup with exactly that host is up.
"""

from __future__ import annotations

from cinder_lab import context, exception, utils
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.volume import volume_utils


class API:
    """Backup requests: create (the list and show commands read the database)."""

    def __init__(self) -> None:
        self.backup_rpcapi = backup_rpcapi.BackupAPI()

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

    def create(self, ctxt: context.RequestContext, volume_id: str) -> models.Backup:
        """Check the volume and the backup service, store the backup, cast to it."""
        volume = db.volume_get(volume_id)
        if volume.status != "available":
            raise exception.InvalidVolume(
                reason=f"volume {volume_id} is {volume.status!r}, must be 'available'"
            )
        volume_host = volume_utils.extract_host(volume.host, "host")
        if not self._is_backup_service_enabled(volume, volume_host):
            raise exception.ServiceNotFound(service_id="cinder-backup")
        # Check and change in one step: of two racing backups of a volume, one wins.
        if not db.volume_conditional_update(volume_id, {"status": "backing-up"}, "available"):
            status = db.volume_get(volume_id).status
            raise exception.InvalidVolume(
                reason=f"volume {volume_id} is {status!r}, must be 'available'"
            )
        backup = db.backup_create(
            {
                "volume_id": volume_id,
                "status": "creating",
                "host": volume_host,
                "availability_zone": volume.availability_zone,
            }
        )
        try:
            self.backup_rpcapi.create_backup(ctxt, volume_host, backup.id, volume_id)
        except Exception as e:
            # Nothing was sent: leave the volume as it was and say why the backup failed.
            db.volume_conditional_update(volume_id, {"status": "available"}, "backing-up")
            db.backup_update(backup.id, {"status": "error", "fail_reason": f"cast failed: {e}"})
            raise
        return backup
