"""Client side of the volume RPC API; mirrors cinder/volume/rpcapi.py.

Every volume call is routed to the *backend* level of the volume's host:
``extract_host('HostA@BackendB#PoolC')`` is ``HostA@BackendB``, so the message
goes to queue ``cinder-volume.HostA@BackendB``. With ``volume_rpc_addressing =
ocata`` the same backend is addressed as Cinder does since Ocata: topic
``cinder-volume.HostA@BackendB``, server ``HostA``; both land in that one queue.
"""

from __future__ import annotations

import oslo_messaging as messaging

from cinder_lab import rpc
from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext
from cinder_lab.db.models import Volume
from cinder_lab.volume import volume_utils


def backend_target(host: str, addressing: str | None = None) -> messaging.Target:
    """The one rule for addressing a backend; ``addressing`` defaults to the config's.

    Kilo: ``Target(topic='cinder-volume', server='host@backend')``, queue
    ``cinder-volume.host@backend``. Ocata and later:
    ``Target(topic='cinder-volume.host@backend', server='host')``, queue
    ``cinder-volume.host@backend.host``; that server's topic queue is Kilo's
    server queue, which is how the two servers share ``cinder-volume.host@backend``.
    """
    backend = volume_utils.extract_host(host)
    if (addressing or CONF.volume_rpc_addressing) == "ocata":
        plain = volume_utils.extract_host(backend, "host")
        return messaging.Target(topic=f"{CONF.volume_topic}.{backend}", server=plain)
    return messaging.Target(topic=CONF.volume_topic, server=backend)


def backend_queue(host: str, addressing: str | None = None) -> str:
    """The queue a message for ``host``'s backend lands in: ``<topic>.<server>``."""
    target = backend_target(host, addressing)
    return f"{target.topic}.{target.server}"


class VolumeAPI(rpc.RPCAPI):
    """Builds targets for cinder-volume and casts or calls; nothing else."""

    RPC_API_VERSION = "3.0"
    TOPIC_OPTION = "volume_topic"
    BINARY = "cinder-volume"
    UPGRADE_LEVEL = "volume"

    def _get_cctxt(self, host: str, **kwargs: object) -> messaging.RPCClient:
        """Address one backend (see ``backend_target``)."""
        target = backend_target(host)
        return self.client.prepare(topic=target.topic, server=target.server, **kwargs)

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
