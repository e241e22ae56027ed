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
        service_name: str,
        host: str,
        capabilities: dict,
    ) -> None:
        """Fanout from a volume service: remember its pools (checked before stored)."""
        self.handled["update_service_capabilities"] += 1
        self.host_manager.update_service_capabilities(host, capabilities)

    def get_pools(self, context: context.RequestContext) -> list[dict]:
        """Answer ``cinder-lab get-pools``."""
        return self.host_manager.get_pools()

    def create_volume(
        self, context: context.RequestContext, volume_id: str, request_spec: dict
    ) -> None:
        """Choose a pool, write it into the volume's host, cast to its backend."""
        volume, spec = self._volume_to_schedule(volume_id, request_spec)
        # Until the cast to the backend has left, this scheduler answers for the volume.
        with self.working_on("Volume", volume.id):
            try:
                self._schedule_create_volume(context, volume, spec)
            except exception.NoValidBackend as e:
                # Cinder's filter scheduler: no pool passed the filters; the volume is 'error'.
                LOG.warning("volume %s: %s", volume.id, e)
                self._fail("Volume", volume.id, str(e))

    def _volume_to_schedule(self, volume_id: object, request_spec: object) -> tuple:
        """The volume of a create_volume message and its checked spec, or InvalidMessage."""
        manager.require(isinstance(volume_id, str), f"volume_id {volume_id!r} is not a string")
        manager.require(isinstance(request_spec, dict), "request_spec is not a mapping")
        volume_type = request_spec.get("volume_type")
        manager.require(
            volume_type is None or isinstance(volume_type, str),
            f"request_spec volume_type {volume_type!r} is not a string",
        )
        volume = db.volume_get(volume_id)
        manager.require(
            volume.status == "creating" and volume.host is None,
            f"volume {volume_id} is {volume.status!r} on {volume.host}, not unplaced 'creating'",
        )
        return volume, {"volume_type": volume_type}

    def _schedule_create_volume(
        self, context: context.RequestContext, volume: models.Volume, request_spec: dict
    ) -> None:
        pools = self.host_manager.usable_pools(
            volume.size, request_spec.get("volume_type"), volume.availability_zone
        )
        if not pools:
            raise exception.NoValidBackend(reason="No pool can hold this volume.")
        self.fake_work("create_volume")
        host = pools[0]["name"]
        LOG.info("volume %s: chose pool %s of %d usable", volume.id, host, len(pools))
        if not db.volume_conditional_update(volume.id, {"host": host}, "creating"):
            return  # changed meanwhile (e.g. failed by a cleanup): nothing to send
        self.volume_rpcapi.create_volume(context, db.volume_get(volume.id))
