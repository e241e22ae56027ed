"""The cinder-volume endpoint of one backend; mirrors cinder/volume/manager.py.

The lab's "driver" stores nothing: a volume is a row, a backup device a path.
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import context, manager
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume import volume_utils

LOG = logging.getLogger(__name__)


class VolumeManager(manager.Manager):
    """Serves queue ``cinder-volume.<host@backend>`` for one backend section."""

    RPC_API_VERSION = volume_rpcapi.VolumeAPI.RPC_API_VERSION
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(
        self, host: str, backend: str, pool_name: str | None, total_capacity_gb: int
    ) -> None:
        super().__init__(host)
        self.backend = backend
        # LVM-like drivers report one pool named after volume_backend_name.
        self.pool_name = pool_name or backend
        self.total_capacity_gb = total_capacity_gb
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()

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

    def create_volume(self, context: context.RequestContext, volume_id: str) -> None:
        """Make the volume: here, mark the row ``available``."""
        self.handled["create_volume"] += 1
        volume = self._volume_to_create(volume_id)
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
        self, context: context.RequestContext, backup_id: str, volume_id: str
    ) -> dict:
        """Answer the backup manager's call: where to read the volume from."""
        self.handled["get_backup_device"] += 1
        manager.require(isinstance(volume_id, str), f"volume_id {volume_id!r} is not a string")
        volume = db.volume_get(volume_id)
        manager.require(
            volume_utils.hosts_are_equivalent(volume.host, self.host),
            f"volume {volume_id} belongs to {volume.host}, not {self.host}",
        )
        pool = volume_utils.extract_host(volume.host, "pool", True)
        return {
            "backup_device": f"/dev/{pool}/volume-{volume_id}",
            "served_by": self.host,
        }

    def publish_service_capabilities(self, context: context.RequestContext) -> None:
        """Fanout-cast this backend's pools to every scheduler."""
        try:
            self.scheduler_rpcapi.update_service_capabilities(
                context, "volume", self.host, self.capabilities()
            )
        except messaging.MessageDeliveryFailure as e:
            # A lost report is not fatal: the next periodic report will try again.
            LOG.warning("%s: capability report not delivered: %s", self.host, e)
