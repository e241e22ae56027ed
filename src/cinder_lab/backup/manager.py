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

from cinder_lab import context, exception, manager, utils
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

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()
        self.volume_managers = self._setup_volume_drivers() if config.is_kilo() else {}
        # Backups whose get_backup_device is not answered yet, failed if it never is.
        self._unanswered = utils.Deadlines(self._check_answered, f"{host}-unanswered")

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
        """Clean up what a gone process left; today also report to the schedulers."""
        super().periodic_tasks(ctxt)
        self.init_host_with_rpc()

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

    # -- RPC methods ---------------------------------------------------------

    def create_backup(
        self, context: context.RequestContext, backup: object = None, backup_id: object = None
    ) -> None:
        """Back up one volume; Kilo sent ``backup_id``, today the Backup object."""
        self.handled["create_backup"] += 1
        row, volume = self._backup_to_create(manager.resource_id(backup, backup_id, "backup"))
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
        self._start_backup(context, row, volume)

    def _start_backup(
        self, context: context.RequestContext, row: models.Backup, volume: models.Volume
    ) -> None:
        """Today: ask the volume's service for the device; its answer comes later."""
        self.take("Backup", row.id)
        try:
            backup, vol = Backup.from_row(row, context), Volume.from_row(volume, context)
            device = self.volume_rpcapi.get_backup_device(context, backup, vol)
        except Exception as e:
            self.fail_on("Backup", row.id, e)
            raise
        if device is not None:  # pinned below 3.17: the device came back as the reply
            self.continue_backup(context, backup, device)
            return
        timeout = CONF.rpc_response_timeout
        self._unanswered.watch(row.id, timeout, volume.host, timeout)

    def _check_answered(self, backup_id: str, volume_host: str, timeout: float) -> None:
        """No record stays ``creating`` for good: no continue_backup in time, no backup."""
        backend = volume_utils.extract_host(volume_host)
        queue = volume_rpcapi.backend_queue(backend)
        error = exception.BackupFailed(
            reason=f"no answer from cinder-volume {backend} (queue {queue}) to "
            f"get_backup_device within rpc_response_timeout = {timeout:g} s"
        )
        LOG.warning("backup %s: %s", backup_id, error)
        self.fail_on("Backup", backup_id, error)

    def continue_backup(
        self, context: context.RequestContext, backup: object, backup_device: object
    ) -> None:
        """Today: the volume service's answer; attach, read, detach, finish."""
        self.handled["continue_backup"] += 1
        row, volume = self._backup_to_create(manager.resource_id(backup, None, "backup"))
        if isinstance(backup_device, dict):  # the reply of a volume service pinned below 3.2
            backup_device = BackupDeviceInfo.from_primitive(backup_device, context)
        manager.require(hasattr(backup_device, "volume"), "backup_device is not a BackupDeviceInfo")
        self._unanswered.cancel(row.id)
        device_volume = backup_device.volume
        connector = {"host": self.host, "initiator": f"iqn.2010-10.org.openstack:{self.host}"}
        try:
            self.volume_rpcapi.initialize_connection(context, device_volume, connector)
            self.fake_work("create_backup")
            self.volume_rpcapi.terminate_connection(context, device_volume, connector, force=True)
            self.volume_rpcapi.remove_export(context, device_volume, sync=True)
        except Exception as e:
            self.fail_on("Backup", row.id, e)
            raise
        self._finish(row, volume, volume_utils.extract_host(device_volume.host))
        self.release(row.id)

    def _backup_to_create(self, backup_id: str) -> tuple[models.Backup, models.Volume]:
        """The backup of a message and its volume, or InvalidMessage before any change."""
        backup, volume = db.backup_get_with_volume(backup_id)
        manager.require(
            backup.status == "creating", f"backup {backup_id} is {backup.status!r}, not 'creating'"
        )
        manager.require(
            backup.host == self.host, f"backup {backup_id} is for {backup.host}, not {self.host}"
        )
        if volume is None:
            raise exception.VolumeNotFound(volume_id=backup.volume_id)
        manager.require(
            volume.status == "backing-up",
            f"volume {volume.id} is {volume.status!r}, not 'backing-up'",
        )
        return backup, volume

    def _finish(self, backup: models.Backup, volume: models.Volume, read_from: str) -> None:
        done = {"status": "available", "volume_host": read_from}
        back_to = volume.previous_status or "available"
        if db.backup_finish(backup.id, done, volume.id, back_to):
            LOG.info("backup %s of volume %s done by %s", backup.id, volume.id, self.host)

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
