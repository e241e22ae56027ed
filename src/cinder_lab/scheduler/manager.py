"""The cinder-scheduler endpoint; mirrors cinder/scheduler/manager.py and its filter driver.

It picks a pool for each new volume, writes ``host@backend#pool`` into the
row, then casts ``create_volume`` to that backend's queue.
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import context, exception, manager
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.scheduler.host_manager import HostManager
from cinder_lab.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    """Serves queues ``cinder-scheduler``, ``cinder-scheduler.<host>`` and a fanout queue."""

    RPC_API_VERSION = scheduler_rpcapi.SchedulerAPI.RPC_API_VERSION
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host_manager = HostManager()
        self.volume_rpcapi = volume_rpcapi.VolumeAPI()

    def init_host_with_rpc(self) -> None:
        """Ask every volume service for its pools (a fanout cast), as Cinder does at start."""
        self.volume_rpcapi.publish_service_capabilities(context.get_admin_context())

    def _do_cleanup(self, ctxt: context.RequestContext, worker: models.Worker) -> None:
        """A volume this scheduler took but never handed on turns ``error``.

        Mirrors SchedulerManager._do_cleanup: "the scheduler died while scheduling
        the volume creation". Without it the volume stays ``creating`` forever.
        """
        try:
            volume = db.volume_get(worker.resource_id)
        except exception.VolumeNotFound:
            return
        if worker.resource_type == "Volume" and volume.status == "creating":
            reason = f"scheduling interrupted: cinder-scheduler {self.host} restarted during it"
            db.volume_update(volume.id, {"status": "error", "status_reason": reason})

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
        # Until the cast to the backend has left, this scheduler answers for the volume.
        volume = db.volume_get(volume_id)
        with self.working_on("Volume", volume.id):
            try:
                self._schedule_create_volume(context, volume, request_spec)
            except exception.NoValidBackend as e:
                # Cinder's filter scheduler: no pool passed the filters; the volume is 'error'.
                LOG.warning("volume %s: %s", volume_id, e)
                db.volume_update(volume_id, {"status": "error", "status_reason": str(e)})
            except Exception as e:
                # As Cinder's scheduler flow does: a failed scheduling leaves the volume 'error'.
                first = (str(e).splitlines() or [""])[0]
                reason = manager.short_reason(f"scheduling failed: {type(e).__name__}: {first}")
                db.volume_update(volume_id, {"status": "error", "status_reason": reason})
                raise

    def _schedule_create_volume(
        self, context: context.RequestContext, volume: models.Volume, request_spec: dict
    ) -> None:
        volume_id = volume.id
        pools = self.host_manager.usable_pools(
            volume.size, request_spec.get("volume_type"), volume.availability_zone
        )
        if not pools:
            raise exception.NoValidBackend(reason="No pool can hold this volume.")
        self.fake_work("create_volume")
        host = pools[0]["name"]
        LOG.info("volume %s: chose pool %s of %d usable", volume_id, host, len(pools))
        volume = db.volume_update(volume_id, {"host": host})
        self.volume_rpcapi.create_volume(context, volume)
