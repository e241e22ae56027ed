"""Client side of the volume RPC API; mirrors cinder/volume/rpcapi.py.

Every volume call is routed to the *backend* level of the volume's host:
``extract_host('HostA@BackendB#PoolC')`` is ``HostA@BackendB``, so the message
goes to queue ``cinder-volume.HostA@BackendB``.
"""

from __future__ import annotations

import oslo_messaging as messaging

from cinder_lab import rpc
from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext
from cinder_lab.db.models import Volume
from cinder_lab.volume import volume_utils


class VolumeAPI:
    """Builds targets for cinder-volume and casts or calls; nothing else."""

    RPC_API_VERSION = "3.0"

    def __init__(self, version_cap: str | None = None) -> None:
        target = messaging.Target(topic=CONF.volume_topic, version=self.RPC_API_VERSION)
        self.client = rpc.get_client(target, version_cap=version_cap)

    def create_volume(self, ctxt: RequestContext, volume: Volume) -> None:
        """Cast to the backend the scheduler chose."""
        cctxt = self.client.prepare(server=volume_utils.extract_host(volume.host))
        cctxt.cast(ctxt, "create_volume", volume_id=volume.id)

    def get_backup_device(self, ctxt: RequestContext, backup_id: str, volume: Volume) -> dict:
        """Call the backend that owns the volume and wait for its answer."""
        cctxt = self.client.prepare(server=volume_utils.extract_host(volume.host))
        return cctxt.call(ctxt, "get_backup_device", backup_id=backup_id, volume_id=volume.id)

    def publish_service_capabilities(self, ctxt: RequestContext) -> None:
        """Fanout: ask every volume service to report its pools now."""
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(ctxt, "publish_service_capabilities")
