"""The cinder-backup endpoint; mirrors cinder/backup/manager.py at 2015.1 and today.

It serves queue ``cinder-backup.<host>``. How it reads the volume is the
difference between the releases:

- Kilo: it holds a driver for every backend of ``enabled_backends`` in its own
  process (``_setup_volume_drivers``, host ``CONF.host@backend``) and reads the
  volume locally: no message to cinder-volume. That is why Kilo's API sends a
  backup only to the volume's own host, and why the note's change broke it.
- Today: it asks the volume's service with a ``get_backup_device`` cast, which
  answers with a ``continue_backup`` cast; then it calls
  ``initialize_connection``, ``terminate_connection`` and ``remove_export``.
"""

from __future__ import annotations

import logging

from cinder_lab import context, exception, manager
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.objects.backup import Backup
from cinder_lab.objects.backup_device import BackupDeviceInfo
from cinder_lab.objects.volume import Volume
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils
from cinder_lab.volume.driver import LabDriver

LOG = logging.getLogger(__name__)

# Cinder's fail_reason for a backup its service restarted in the middle of.
INCOMPLETE = "incomplete backup reset on manager restart"
DRIVER_NAME = "cinder_lab.backup.drivers.lab"


class BackupManager(manager.Manager):
    """Runs backups; in Kilo only of volumes whose backend it holds itself."""

    RPCAPI = backup_rpcapi.BackupAPI
    # Not a CleanableManager: a restart resets this host's backups instead (cleanup_at_start).
    CLEANABLE = False

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()
        self.volume_managers = self._setup_volume_drivers() if config.is_kilo() else {}
        self.az = CONF.storage_availability_zone

    def _setup_volume_drivers(self) -> dict[str, LabDriver]:
        """Kilo: a driver per enabled backend, host ``CONF.host@backend`` (not backend_host)."""
        drivers = {}
        for backend in CONF.enabled_backends or []:
            conf = config.backend_conf(backend)
            pool = conf.volume_backend_name or backend
            drivers[backend] = LabDriver(f"{CONF.host}@{backend}", backend, pool)
        return drivers

    def _get_driver(self, volume: models.Volume) -> LabDriver:
        """Kilo's _get_volume_backend + _get_manager: the backend is the part after '@'."""
        backend = volume_utils.extract_host(volume.host).partition("@")[2]
        if backend not in self.volume_managers:
            raise exception.BackupFailedToGetVolumeBackend(backend=backend)
        return self.volume_managers[backend]

    def init_host_with_rpc(self) -> None:
        """Today: tell the schedulers this backup service can take work."""
        if not config.is_kilo():
            self.publish_service_capabilities(context.get_admin_context())

    def periodic_tasks(self, ctxt: context.RequestContext) -> None:
        """Today: report to the schedulers again."""
        super().periodic_tasks(ctxt)
        self.init_host_with_rpc()

    def cleanup_at_start(self, ctxt: context.RequestContext) -> None:
        """Every ``creating`` backup of this host ends ``error``, before the server consumes.

        Mirrors init_host at 2015.1.4 and _cleanup_incomplete_backup_operations
        today. Neither can tell a backup a killed run was making from one whose
        ``create_backup`` still waits in the queue: both are reset, and the
        waiting message then finds the backup ``error``. Kilo left the volume
        ``backing-up`` (its reset matched only volumes whose host is this plain
        host, never ``host@backend#pool``); today it returns to its previous status.
        """
        LOG.info("Cleaning up incomplete backup operations.")
        for backup in db.backup_get_all_by_host(self.host):
            if backup.status != "creating":
                continue  # the lab has no restore or delete: 'restoring', 'deleting' never occur
            LOG.info("Resetting backup %s to error (was creating).", backup.id)
            if not config.is_kilo():
                self._reset_volume(backup.volume_id)
            db.backup_update(backup.id, {"status": "error", "fail_reason": INCOMPLETE})

    def _reset_volume(self, volume_id: str) -> None:
        """Today's _cleanup_one_volume: a ``backing-up`` volume takes its previous status."""
        try:
            volume = db.volume_get(volume_id)
        except exception.VolumeNotFound:
            return
        if volume.status == "backing-up":
            LOG.info(
                "Resetting volume %s to previous status %s (was backing-up).",
                volume.id,
                volume.previous_status,
            )
            db.volume_update(volume.id, {"status": volume.previous_status})

    def _fail(self, resource_type: str, resource_id: str, reason: str) -> None:
        """A backup that raised ends ``error``; its volume goes back (Kilo: to ``available``,
        today: to its previous status, remembering ``error_backing-up``)."""
        try:
            backup = db.backup_get(resource_id)
            volume = db.volume_get(backup.volume_id)
        except exception.NotFound:
            return
        if config.is_kilo():
            db.volume_update(volume.id, {"status": "available"})
        else:
            back = {"status": volume.previous_status, "previous_status": "error_backing-up"}
            db.volume_update(volume.id, back)
        self._backup_error(backup.id, reason)

    @staticmethod
    def _backup_error(backup_id: str, reason: str) -> None:
        """volume_utils.update_backup_error: status ``error`` and the reason."""
        db.backup_update(backup_id, {"status": "error", "fail_reason": reason})
        LOG.info("backup %s: error: %s", backup_id, reason)

    # -- RPC methods ---------------------------------------------------------

    def create_backup(
        self, context: context.RequestContext, backup: object = None, backup_id: object = None
    ) -> None:
        """Back up one volume; Kilo sent ``backup_id``, today the Backup object."""
        self.handled["create_backup"] += 1
        backup_id = manager.resource_id(backup, backup_id, "backup")
        row, volume = db.backup_get_with_volume(backup_id)
        if volume is None:
            raise exception.VolumeNotFound(volume_id=row.volume_id)
        LOG.info("Create backup started, backup: %s volume: %s.", row.id, volume.id)
        if config.is_kilo():
            # Kilo took the backup for this host before it checked anything.
            db.backup_update(row.id, {"host": self.host, "service": DRIVER_NAME})
        self._check_statuses(row, volume)
        if config.is_kilo():
            with self.working_on("Backup", row.id):
                driver = self._get_driver(volume)
                device = driver.local_path(volume)  # read here, in this process
                self.fake_work("create_backup")
                LOG.info("backup %s: read %s through the local driver", row.id, device)
                self._finish(row, volume, driver.host)
            return
        context.message_resource_id = row.id
        context.message_resource_type = "VOLUME_BACKUP"
        context.message_action = ("013", "create backup")
        with self.working_on("Backup", row.id):
            db.backup_update(
                row.id,
                {"availability_zone": row.availability_zone or self.az, "service": DRIVER_NAME},
            )
            self._start_backup(context, row, volume)

    def _check_statuses(self, backup: models.Backup, volume: models.Volume) -> None:
        """Cinder's checks: a backup that fails one ends ``error`` (Kilo's backup check also
        puts the volume back to ``available``), and the message raises."""
        if volume.status != "backing-up":
            reason = (
                f"Create backup aborted, expected volume status backing-up but got {volume.status}."
            )
            self._backup_error(backup.id, reason)
            raise exception.InvalidVolume(reason=reason)
        if backup.status != "creating":
            reason = (
                f"Create backup aborted, expected backup status creating but got {backup.status}."
            )
            if config.is_kilo():
                db.volume_update(volume.id, {"status": "available"})
            self._backup_error(backup.id, reason)
            raise exception.InvalidBackup(reason=reason)

    def _start_backup(
        self, context: context.RequestContext, row: models.Backup, volume: models.Volume
    ) -> None:
        """Today: ask the volume's service for the device; its answer comes when it comes.

        Cinder sets no deadline: a ``get_backup_device`` waiting in a stopped
        volume service's queue is served when that service returns.
        """
        backup, vol = (
            Backup.from_row(db.backup_get(row.id), context),
            Volume.from_row(volume, context),
        )
        device = self.volume_rpcapi.get_backup_device(context, backup, vol)
        if device is not None:  # pinned below 3.17: the device came back as the reply
            self.continue_backup(context, backup, device)

    def continue_backup(
        self, context: context.RequestContext, backup: object, backup_device: object
    ) -> None:
        """Today: the volume service's answer; attach, read, detach, finish."""
        self.handled["continue_backup"] += 1
        row, volume = db.backup_get_with_volume(manager.resource_id(backup, None, "backup"))
        manager.require(
            row.status == "creating", f"backup {row.id} is {row.status!r}, not 'creating'"
        )
        if volume is None:
            raise exception.VolumeNotFound(volume_id=row.volume_id)
        if isinstance(backup_device, dict):  # the reply of a volume service pinned below 3.2
            backup_device = BackupDeviceInfo.from_primitive(backup_device, context)
        manager.require(hasattr(backup_device, "volume"), "backup_device is not a BackupDeviceInfo")
        device_volume = backup_device.volume
        connector = volume_utils.brick_get_connector_properties()
        with self.working_on("Backup", row.id):
            self.volume_rpcapi.initialize_connection(context, device_volume, connector)
            self.fake_work("create_backup")
            self.volume_rpcapi.terminate_connection(context, device_volume, connector, force=True)
            self.volume_rpcapi.remove_export(context, device_volume, sync=True)
            self._finish(row, volume, volume_utils.extract_host(device_volume.host))

    def _finish(self, backup: models.Backup, volume: models.Volume, read_from: str) -> None:
        """The backup ``available`` with its size; Kilo also fills its zone now. The volume
        goes back: Kilo to ``available``, today to its previous status."""
        done = {"status": "available", "size": volume.size, "volume_host": read_from}
        if config.is_kilo():
            done["availability_zone"] = self.az
            volume_back = {"status": "available"}
        else:
            volume_back = {"status": volume.previous_status, "previous_status": "backing-up"}
        db.volume_update(volume.id, volume_back)
        db.backup_update(backup.id, done)
        LOG.info("Create backup finished. backup: %s.", backup.id)

    def publish_service_capabilities(self, context: context.RequestContext) -> None:
        """Today (Ussuri on): report to every scheduler that this service can back up."""
        if config.is_kilo():
            return  # Kilo's backup manager never had capabilities to publish
        caps = {
            "backend_state": True,
            "driver_name": DRIVER_NAME,
            "availability_zone": CONF.storage_availability_zone,
        }
        manager.publish_service_capabilities(
            self.scheduler_rpcapi, context, "backup", self.host, caps
        )
