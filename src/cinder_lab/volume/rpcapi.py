"""Client side of the volume RPC API; mirrors cinder/volume/rpcapi.py.

Every volume call is routed to the *backend* level of the volume's host:
``extract_host('HostA@BackendB#PoolC')`` is ``HostA@BackendB``, so the message
goes to queue ``cinder-volume.HostA@BackendB``. With ``volume_rpc_addressing =
ocata`` the same backend is addressed as Cinder does since Ocata: topic
``cinder-volume.HostA@BackendB``, server ``HostA``.
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
        cap = version_cap or CONF.upgrade_levels.volume
        self.client = rpc.get_client(target, version_cap=cap)

    def _get_cctxt(self, host: str, **kwargs: object) -> messaging.RPCClient:
        """Address one backend: Kilo's server=host@backend, or Ocata's topic.host@backend."""
        backend = volume_utils.extract_host(host)
        if CONF.volume_rpc_addressing == "ocata":
            # Ocata: topic cinder-volume.host@backend, server host (active-active ready).
            topic = f"{CONF.volume_topic}.{backend}"
            server = volume_utils.extract_host(backend, "host")
            return self.client.prepare(topic=topic, server=server, **kwargs)
        return self.client.prepare(server=backend, **kwargs)

    def create_volume(self, ctxt: RequestContext, volume: Volume) -> None:
        """Cast to the backend the scheduler chose."""
        cctxt = self._get_cctxt(volume.host)
        cctxt.cast(ctxt, "create_volume", volume_id=volume.id)

    def get_backup_device(self, ctxt: RequestContext, backup_id: str, volume: Volume) -> dict:
        """Call the backend that owns the volume and wait for its answer."""
        cctxt = self._get_cctxt(volume.host)
        return cctxt.call(ctxt, "get_backup_device", backup_id=backup_id, volume_id=volume.id)

    def publish_service_capabilities(self, ctxt: RequestContext) -> None:
        """Fanout: ask every volume service to report its pools now."""
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(ctxt, "publish_service_capabilities")
