"""The cinder-volume endpoint of one backend; mirrors cinder/volume/manager.py.

The lab's "driver" stores nothing: a volume is a row, a backup device a path.
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import context, exception, manager
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
        try:
            volume = db.volume_get(worker.resource_id)
        except exception.VolumeNotFound:
            return
        if worker.resource_type == "Volume" and volume.status == "creating":
            reason = f"creation interrupted: cinder-volume {self.host} restarted during it"
            db.volume_update(volume.id, {"status": "error", "status_reason": reason})

    # -- RPC methods ---------------------------------------------------------

    def create_volume(self, context: context.RequestContext, volume_id: str) -> None:
        """Make the volume: here, mark the row ``available``."""
        self.handled["create_volume"] += 1
        volume = db.volume_get(volume_id)
        with self.working_on("Volume", volume.id):
            self._create_volume(context, volume)

    def _create_volume(self, context: context.RequestContext, volume: models.Volume) -> None:
        volume_id = volume.id
        # A message that reached the wrong backend would be a routing bug.
        if not volume_utils.hosts_are_equivalent(volume.host, self.host):
            LOG.error("volume %s belongs to %s, not %s", volume_id, volume.host, self.host)
            return
        self.fake_work("create_volume")
        db.volume_update(volume_id, {"status": "available"})
        LOG.info("created volume %s on %s", volume_id, volume.host)

    def get_backup_device(
        self, context: context.RequestContext, backup_id: str, volume_id: str
    ) -> dict:
        """Answer the backup manager's call: where to read the volume from."""
        self.handled["get_backup_device"] += 1
        volume = db.volume_get(volume_id)
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
