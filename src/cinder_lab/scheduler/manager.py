"""The cinder-scheduler endpoint; mirrors cinder/scheduler/manager.py and its filter driver.

It picks a pool for each new volume, writes ``host@backend#pool`` into the
row, then casts ``create_volume`` to that backend's queue.
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import context, manager
from cinder_lab.db import api as db
from cinder_lab.scheduler.host_manager import HostManager
from cinder_lab.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    """Serves queues ``cinder-scheduler``, ``cinder-scheduler.<host>`` and a fanout queue."""

    RPC_API_VERSION = "3.0"
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host_manager = HostManager()
        self.volume_rpcapi: volume_rpcapi.VolumeAPI | None = None

    def init_host_with_rpc(self) -> None:
        """Ask every volume service for its pools (a fanout cast), as Cinder does at start."""
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()
        self.volume_rpcapi.publish_service_capabilities(context.get_admin_context())

    # -- RPC methods ---------------------------------------------------------

    def update_service_capabilities(
        self,
        context: context.RequestContext,
        service_name: str,
        host: str,
        capabilities: dict,
    ) -> None:
        """Fanout from a volume service: remember its pools."""
        self.handled["update_service_capabilities"] += 1
        self.host_manager.update_service_capabilities(host, capabilities)

    def get_pools(self, context: context.RequestContext) -> list[dict]:
        """Answer ``cinder-lab get-pools``."""
        return self.host_manager.get_pools()

    def create_volume(
        self, context: context.RequestContext, volume_id: str, request_spec: dict
    ) -> None:
        """Choose a pool, write it into the volume's host, cast to its backend."""
        volume = db.volume_get(volume_id)
        pools = self.host_manager.usable_pools(
            volume.size, request_spec.get("volume_type"), volume.availability_zone
        )
        if not pools:
            reason = "No valid backend was found. No pool can hold this volume."
            LOG.warning("volume %s: %s", volume_id, reason)
            db.volume_update(volume_id, {"status": "error", "status_reason": reason})
            return
        host = pools[0]["name"]
        volume = db.volume_update(volume_id, {"host": host})
        if self.volume_rpcapi is None:
            self.volume_rpcapi = volume_rpcapi.VolumeAPI()
        self.volume_rpcapi.create_volume(context, volume)
