"""The cinder-volume endpoint of one backend; mirrors cinder/volume/manager.py (2015.1, today).

The lab's driver (``volume/driver.py``) stores nothing: a volume is a row, a
backup device a path. Methods accept both releases' arguments: Kilo's ids
(``volume_id``) and today's objects (``volume``).
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import context, manager
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.objects.backup_device import BackupDeviceInfo
from cinder_lab.objects.volume import Volume
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils
from cinder_lab.volume.driver import LabDriver

LOG = logging.getLogger(__name__)


class VolumeManager(manager.Manager):
    """Serves queue ``cinder-volume.<host@backend>`` for one backend section."""

    RPCAPI = volume_rpcapi.VolumeAPI

    def __init__(
        self, host: str, backend: str, pool_name: str | None, total_capacity_gb: int
    ) -> None:
        super().__init__(host)
        self.backend = backend
        # LVM-like drivers report one pool named after volume_backend_name.
        self.pool_name = pool_name or backend
        self.total_capacity_gb = total_capacity_gb
        self.driver = LabDriver(host, backend, self.pool_name)
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()
        self.backup_rpcapi = backup_rpcapi.BackupAPI()

    def init_host_with_rpc(self) -> None:
        """Report pools to the schedulers as soon as we can receive work."""
        self.publish_service_capabilities(context.get_admin_context())

    def periodic_tasks(self, ctxt: context.RequestContext) -> None:
        """Report pools again, as Cinder's _report_driver_status does."""
        super().periodic_tasks(ctxt)
        self.publish_service_capabilities(ctxt)

    def capabilities(self) -> dict:
        """What this backend tells the scheduler: its name and its one pool."""
        pool_host = volume_utils.append_host(self.host, self.pool_name)
        allocated = db.volume_allocated_gb(pool_host)
        return {
            "volume_backend_name": self.pool_name,
            "pools": [
                {
                    "pool_name": self.pool_name,
                    "total_capacity_gb": self.total_capacity_gb,
                    "free_capacity_gb": self.total_capacity_gb - allocated,
                }
            ],
        }

    def _do_cleanup(self, ctxt: context.RequestContext, worker: models.Worker) -> None:
        """A volume this backend was creating when it died turns ``error``.

        Mirrors VolumeManager._do_cleanup (Kilo's init_host set such volumes to error).
        """
        if worker.resource_type == "Volume":
            reason = f"creation interrupted: cinder-volume {self.host} restarted during it"
            self._fail("Volume", worker.resource_id, reason)

    def _fail(self, resource_type: str, resource_id: str, reason: str) -> None:
        db.volume_conditional_update(
            resource_id, {"status": "error", "status_reason": reason}, "creating"
        )

    # -- RPC methods ---------------------------------------------------------

    def create_volume(
        self,
        context: context.RequestContext,
        volume: object = None,
        request_spec: object = None,
        filter_properties: object = None,
        allow_reschedule: bool = True,
        volume_id: object = None,
        snapshot_id: object = None,
        image_id: object = None,
        source_volid: object = None,
        source_replicaid: object = None,
        consistencygroup_id: object = None,
        cgsnapshot_id: object = None,
    ) -> None:
        """Make the volume: here, mark the row ``available``.

        Kilo sent ``volume_id`` and the ids of its sources (all None in the
        lab's story); today sends the Volume object.
        """
        self.handled["create_volume"] += 1
        volume = self._volume_to_create(manager.resource_id(volume, volume_id, "volume"))
        with self.working_on("Volume", volume.id):
            self.fake_work("create_volume")
            # Only a volume still 'creating' becomes available: a replay changes nothing.
            if db.volume_conditional_update(volume.id, {"status": "available"}, "creating"):
                LOG.info("created volume %s on %s", volume.id, volume.host)

    def _volume_to_create(self, volume_id: object) -> models.Volume:
        """The volume of a create_volume message, or InvalidMessage before any change."""
        manager.require(isinstance(volume_id, str), f"volume_id {volume_id!r} is not a string")
        volume = db.volume_get(volume_id)
        manager.require(
            volume.status == "creating", f"volume {volume_id} is {volume.status!r}, not 'creating'"
        )
        # A message that reached the wrong backend would be a routing bug.
        manager.require(
            volume_utils.hosts_are_equivalent(volume.host, self.host),
            f"volume {volume_id} belongs to {volume.host}, not {self.host}",
        )
        return volume

    def get_backup_device(
        self,
        ctxt: context.RequestContext,
        backup: object,
        want_objects: bool = False,
        async_call: bool = False,
    ) -> object:
        """Today only: where the backup service reads the volume from.

        From RPC 3.17 (Yoga) the answer is a ``continue_backup`` cast to the
        backup's host, not a reply; pinned below it, the caller waits for the return.
        """
        self.handled["get_backup_device"] += 1
        manager.require(hasattr(backup, "volume_id"), "backup is not a Backup object")
        volume = self._own_volume(backup.volume_id)
        # The lab's driver reads the volume itself: no temporary snapshot or clone.
        answer = {
            "backup_device": Volume.from_row(volume, ctxt),
            "secure_enabled": False,
            "is_snapshot": False,
        }
        if not (want_objects or async_call):
            return answer  # Mitaka's dict form, for a client pinned below 3.2
        device = BackupDeviceInfo.from_primitive(answer, ctxt)
        if async_call:
            self.backup_rpcapi.continue_backup(ctxt, backup, device)
            return None
        return device

    def initialize_connection(
        self,
        context: context.RequestContext,
        volume: object = None,
        connector: object = None,
        volume_id: object = None,
    ) -> dict:
        """Export the volume to the connector; Kilo sent ``volume_id``, today ``volume``."""
        self.handled["initialize_connection"] += 1
        manager.require(isinstance(connector, dict), "connector is not a mapping")
        row = self._own_volume(manager.resource_id(volume, volume_id, "volume"))
        return self.driver.initialize_connection(row, connector)

    def terminate_connection(
        self,
        context: context.RequestContext,
        volume_id: object,
        connector: object,
        force: bool = False,
    ) -> None:
        """Stop exporting the volume to the connector."""
        self.handled["terminate_connection"] += 1
        manager.require(isinstance(connector, dict), "connector is not a mapping")
        self._own_volume(volume_id)

    def remove_export(self, context: context.RequestContext, volume_id: object) -> None:
        """Remove the volume's export (today: after a backup read it)."""
        self.handled["remove_export"] += 1
        self._own_volume(volume_id)

    def _own_volume(self, volume_id: object) -> models.Volume:
        """The volume, if it is this backend's, or InvalidMessage before anything changes."""
        manager.require(isinstance(volume_id, str), f"volume_id {volume_id!r} is not a string")
        volume = db.volume_get(volume_id)
        manager.require(
            volume_utils.hosts_are_equivalent(volume.host, self.host),
            f"volume {volume_id} belongs to {volume.host}, not {self.host}",
        )
        return volume

    def publish_service_capabilities(self, context: context.RequestContext) -> None:
        """Report this backend's pools: a fanout to every scheduler (and, today, a
        ``notify_service_capabilities`` cast to one), as _publish_service_capabilities does."""
        caps = self.capabilities()
        try:
            manager.publish_service_capabilities(
                self.scheduler_rpcapi, context, "volume", self.host, caps
            )
        except messaging.MessageDeliveryFailure as e:
            # A lost report is not fatal: the next periodic report will try again.
            LOG.warning("%s: capability report not delivered: %s", self.host, e)
