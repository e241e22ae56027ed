"""Client side of the scheduler RPC API; mirrors cinder/scheduler/rpcapi.py.

Requests go to topic ``cinder-scheduler`` with no server (any scheduler may
take them); capability reports go to every scheduler through the fanout
exchange ``cinder-scheduler_fanout``.
"""

from __future__ import annotations

from cinder_lab import rpc
from cinder_lab.context import RequestContext


class SchedulerAPI(rpc.RPCAPI):
    """Builds targets for cinder-scheduler and casts or calls; nothing else."""

    RPC_API_VERSION = "3.0"
    TOPIC_OPTION = "scheduler_topic"
    BINARY = "cinder-scheduler"
    UPGRADE_LEVEL = "scheduler"

    def create_volume(self, ctxt: RequestContext, volume_id: str, request_spec: dict) -> None:
        """Cast to any scheduler: queue ``cinder-scheduler``."""
        cctxt = self.client.prepare()
        cctxt.cast(ctxt, "create_volume", volume_id=volume_id, request_spec=request_spec)

    def update_service_capabilities(
        self, ctxt: RequestContext, service_name: str, host: str, capabilities: dict
    ) -> None:
        """Fanout cast: every scheduler learns this backend's pools."""
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(
            ctxt,
            "update_service_capabilities",
            service_name=service_name,
            host=host,
            capabilities=capabilities,
        )

    def get_pools(self, ctxt: RequestContext) -> list[dict]:
        """Call any scheduler for the pools it knows."""
        cctxt = self.client.prepare()
        return cctxt.call(ctxt, "get_pools")
