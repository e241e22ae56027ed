"""The cinder-scheduler endpoint; mirrors cinder/scheduler/manager.py and its filter driver.

It picks a pool for each new volume, writes ``host@backend#pool`` into the
row, then casts ``create_volume`` to that backend's queue. Today (Ussuri on)
it also picks the cinder-backup host of each backup (``create_backup``).
"""

from __future__ import annotations

import logging

from cinder_lab import context, exception, manager, utils
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.objects.backup import Backup
from cinder_lab.objects.request_spec import RequestSpec
from cinder_lab.objects.volume import Volume
from cinder_lab.scheduler import filter_scheduler
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.scheduler.host_manager import HostManager
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils

LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    """Serves queues ``cinder-scheduler``, ``cinder-scheduler.<host>`` and a fanout queue."""

    RPCAPI = scheduler_rpcapi.SchedulerAPI

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host_manager = HostManager()
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()
        self.backup_rpcapi = backup_rpcapi.BackupAPI()

    def init_host_with_rpc(self) -> None:
        """Ask every volume (today also backup) service to report, as Cinder does at start."""
        ctxt = context.get_admin_context()
        self.volume_rpcapi.publish_service_capabilities(ctxt)
        if config.is_kilo():
            return  # Kilo's backup services had no capabilities to publish
        try:
            self.backup_rpcapi.publish_service_capabilities(ctxt)
        except exception.ServiceTooOld as e:
            # As Cinder: a cinder-backup older than 2.2 cannot report; normal mid-upgrade.
            LOG.warning(
                "Failed to notify about cinder-backup service capabilities for host %s. "
                "This is normal during a live upgrade. Error: %s",
                self.host,
                e,
            )

    def _do_cleanup(self, ctxt: context.RequestContext, worker: models.Worker) -> None:
        """A volume this scheduler took but never handed on turns ``error``.

        Mirrors SchedulerManager._do_cleanup: "the scheduler died while scheduling
        the volume creation". Without it the volume stays ``creating`` forever.
        """
        if worker.resource_type == "Volume":
            reason = f"scheduling interrupted: cinder-scheduler {self.host} restarted during it"
            self._fail("Volume", worker.resource_id, reason)

    def _fail(self, resource_type: str, resource_id: str, reason: str) -> None:
        # As Cinder's scheduler flow does: a failed scheduling leaves the volume 'error'.
        if not reason.startswith(("scheduling", "No valid backend")):
            reason = manager.short_reason(f"scheduling failed: {reason}")
        db.volume_conditional_update(
            resource_id, {"status": "error", "status_reason": reason}, "creating"
        )

    # -- RPC methods ---------------------------------------------------------

    def update_service_capabilities(
        self,
        context: context.RequestContext,
        service_name: object = None,
        host: object = None,
        capabilities: object = None,
        cluster_name: object = None,
        timestamp: object = None,
    ) -> None:
        """Fanout from a volume (today also backup) service: remember what it reported."""
        self.handled["update_service_capabilities"] += 1
        if service_name == "backup":
            self.host_manager.update_backup_capabilities(host, capabilities)
        else:
            self.host_manager.update_service_capabilities(host, capabilities)

    def notify_service_capabilities(
        self,
        context: context.RequestContext,
        service_name: object,
        capabilities: object,
        host: object = None,
        backend: object = None,
        timestamp: object = None,
    ) -> None:
        """Today: the same report cast to one scheduler (Cinder feeds its statistics with it)."""
        self.handled["notify_service_capabilities"] += 1

    def get_pools(self, context: context.RequestContext, filters: object = None) -> list[dict]:
        """Answer ``cinder-lab get-pools``."""
        return self.host_manager.get_pools()

    def create_volume(
        self,
        context: context.RequestContext,
        volume: object = None,
        request_spec: object = None,
        filter_properties: object = None,
        volume_id: object = None,
        topic: object = None,
        snapshot_id: object = None,
        image_id: object = None,
        backup_id: object = None,
    ) -> None:
        """Choose a pool, write it into the volume's host, cast to its backend.

        Kilo sent ``topic`` and ``volume_id``; today sends the Volume object.
        """
        volume_id = manager.resource_id(volume, volume_id, "volume")
        row, spec = self._volume_to_schedule(volume_id, request_spec)
        # Until the cast to the backend has left, this scheduler answers for the volume.
        with self.working_on("Volume", row.id):
            try:
                self._schedule_create_volume(context, row, spec, request_spec)
            except exception.NoValidBackend as e:
                # Cinder's filter scheduler: no pool passed the filters; the volume is 'error'.
                LOG.warning("volume %s: %s", row.id, e)
                self._fail("Volume", row.id, str(e))

    def create_backup(self, context: context.RequestContext, backup: object) -> None:
        """Today: choose the backup host (``backup_use_same_host`` or any up one), cast on."""
        backup_id = manager.resource_id(backup, None, "backup")
        row, volume = db.backup_get_with_volume(backup_id)
        manager.require(row.status == "creating", f"backup {backup_id} is {row.status!r}")
        if volume is None:
            raise exception.VolumeNotFound(volume_id=row.volume_id)
        zone = row.availability_zone or volume.availability_zone
        try:
            host = self.host_manager.get_backup_host(volume, zone)
        except exception.ServiceNotFound:
            # Cinder: the API already answered 202; the backup ends in error here.
            reason = "Service not found for creating backup."
            db.backup_conditional_update(
                row.id, {"status": "error", "fail_reason": reason}, "creating"
            )
            back_to = volume.previous_status or "available"
            db.volume_conditional_update(volume.id, {"status": back_to}, "backing-up")
            LOG.warning("backup %s: %s", row.id, reason)
            return
        LOG.info("backup %s: chose cinder-backup %s", row.id, host)
        row = db.backup_update(row.id, {"host": host})
        self.backup_rpcapi.create_backup(context, Backup.from_row(row, context))

    def _volume_to_schedule(self, volume_id: object, request_spec: object) -> tuple:
        """The volume of a create_volume message and its checked spec, or InvalidMessage."""
        manager.require(isinstance(volume_id, str), f"volume_id {volume_id!r} is not a string")
        manager.require(
            isinstance(request_spec, dict | RequestSpec)
            and hasattr(request_spec.get("volume_properties"), "get"),
            "request_spec is not a request spec with volume_properties",
        )
        volume_type = request_spec.get("volume_type")
        if hasattr(volume_type, "get"):  # Cinder's: the type, its extra specs inside
            volume_type = (volume_type.get("extra_specs") or {}).get("volume_backend_name")
        manager.require(
            volume_type is None or isinstance(volume_type, str),
            f"request_spec volume_type {volume_type!r} is not a type",
        )
        volume = db.volume_get(volume_id)
        manager.require(
            volume.status == "creating" and volume.host is None,
            f"volume {volume_id} is {volume.status!r} on {volume.host}, not unplaced 'creating'",
        )
        return volume, {"volume_type": volume_type}

    def _schedule_create_volume(
        self, context: context.RequestContext, volume: models.Volume, spec: dict, request_spec: dict
    ) -> None:
        pools = self.host_manager.usable_pools(
            volume.size, spec.get("volume_type"), volume.availability_zone
        )
        if not pools:
            raise exception.NoValidBackend(reason="No pool can hold this volume.")
        self.fake_work("create_volume")
        host = pools[0]["name"]
        LOG.info("volume %s: chose pool %s of %d usable", volume.id, host, len(pools))
        if not db.volume_conditional_update(volume.id, self._placement(host), "creating"):
            return  # changed meanwhile (e.g. failed by a cleanup): nothing to send
        filter_properties = filter_scheduler.filter_properties_for(request_spec, host)
        placed = Volume.from_row(db.volume_get(volume.id), context)
        if isinstance(request_spec, RequestSpec):
            # Cinder's volume_update_db places the spec's own Volume: it travels placed.
            request_spec.volume = placed
        self.volume_rpcapi.create_volume(context, placed, request_spec, filter_properties)

    @staticmethod
    def _placement(host: str) -> dict:
        """What volume_update_db writes: the host and when; today also the backend's zone."""
        values = {"host": host, "scheduled_at": utils.utcnow()}
        if not config.is_kilo():
            row = db.service_get_by_args(volume_utils.extract_host(host), "cinder-volume")
            values["availability_zone"] = row.availability_zone
        return values
