"""Client side of the scheduler RPC API; mirrors cinder/scheduler/rpcapi.py (2015.1 and today).

Requests go to topic ``cinder-scheduler`` with no server (any scheduler may
take them); capability reports go to every scheduler through the fanout
exchange ``cinder-scheduler_fanout``. Today a backup passes through here too:
the scheduler chooses the cinder-backup host.
"""

from __future__ import annotations

from cinder_lab import rpc, utils
from cinder_lab.common import config
from cinder_lab.context import RequestContext


class SchedulerAPI(rpc.RPCAPI):
    """Builds targets for cinder-scheduler and casts or calls; nothing else."""

    RPC_API_VERSION = "3.12"
    RPC_DEFAULT_VERSION = "3.0"
    KILO_RPC_API_VERSION = "1.0"
    KILO_VERSION_CAP = "1.7"
    TOPIC_OPTION = "scheduler_topic"
    BINARY = "cinder-scheduler"
    UPGRADE_LEVEL = "scheduler"

    def create_volume(
        self, ctxt: RequestContext, volume: object, request_spec: dict, filter_properties: dict
    ) -> None:
        """Cast to any scheduler: queue ``cinder-scheduler``."""
        if config.is_kilo():
            cctxt = self._get_cctxt(version="1.2")
            cctxt.cast(
                ctxt,
                "create_volume",
                topic=config.CONF.volume_topic,
                volume_id=volume.id,
                snapshot_id=None,
                image_id=None,
                request_spec=request_spec,
                filter_properties=filter_properties,
            )
            return
        cctxt = self._get_cctxt(version="3.0")
        cctxt.cast(
            ctxt,
            "create_volume",
            snapshot_id=None,
            image_id=None,
            request_spec=request_spec,
            filter_properties=filter_properties,
            volume=volume,
            backup_id=None,
        )

    def create_backup(self, ctxt: RequestContext, backup: object) -> None:
        """Today only (Ussuri on): any scheduler picks the backup host, then casts on."""
        cctxt = self._get_cctxt(version="3.0")
        cctxt.cast(ctxt, "create_backup", backup=backup)

    def update_service_capabilities(
        self, ctxt: RequestContext, service_name: str, host: str, capabilities: dict
    ) -> None:
        """Fanout cast: every scheduler learns this service's capabilities."""
        if config.is_kilo():
            cctxt = self._get_cctxt(fanout=True, version="1.0")
            cctxt.cast(
                ctxt,
                "update_service_capabilities",
                service_name=service_name,
                host=host,
                capabilities=capabilities,
            )
            return
        cctxt = self._get_cctxt(fanout=True, version="3.3")
        cctxt.cast(
            ctxt,
            "update_service_capabilities",
            service_name=service_name,
            host=host,
            capabilities=capabilities,
            cluster_name=None,
            timestamp=utils.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f"),
        )

    def notify_service_capabilities(
        self, ctxt: RequestContext, service_name: str, backend: str, capabilities: dict
    ) -> None:
        """Today only (Ocata on): the same report, cast to one scheduler."""
        cctxt = self._get_cctxt(version="3.5")
        cctxt.cast(
            ctxt,
            "notify_service_capabilities",
            service_name=service_name,
            capabilities=capabilities,
            backend=backend,
            timestamp=utils.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f"),
        )

    def get_pools(self, ctxt: RequestContext) -> list[dict]:
        """Call any scheduler for the pools it knows."""
        version = "1.7" if config.is_kilo() else "3.0"
        cctxt = self._get_cctxt(version=version)
        return cctxt.call(ctxt, "get_pools", filters=None)
