"""Client side of the volume RPC API; mirrors cinder/volume/rpcapi.py (2015.1 and today).

Every volume message is routed to the *backend* level of the volume's host,
``extract_host('HostA@BackendB#PoolC')`` = ``HostA@BackendB``:

- Kilo: ``Target(topic='cinder-volume', server='HostA@BackendB')``, queue
  ``cinder-volume.HostA@BackendB``.
- Today (since Ocata, RPC 3.6): ``Target(topic='cinder-volume.HostA@BackendB',
  server='HostA')``, queue ``cinder-volume.HostA@BackendB.HostA``; a client
  pinned below 3.6 still addresses the Kilo way.

Kilo sent ids (``volume_id``); today sends the Volume object (``volume``).
"""

from __future__ import annotations

import oslo_messaging as messaging

from cinder_lab import rpc
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext
from cinder_lab.volume import volume_utils


def backend_target(host: str, new_style: bool | None = None) -> messaging.Target:
    """The one rule for addressing a backend (``new_style``: today's, by default
    when ``lab_release = current``). Today's server's topic queue
    ``cinder-volume.host@backend`` is Kilo's server queue: the two servers share it."""
    backend = volume_utils.extract_host(host)
    if new_style if new_style is not None else not config.is_kilo():
        plain = volume_utils.extract_host(backend, "host")
        return messaging.Target(topic=f"{CONF.volume_topic}.{backend}", server=plain)
    return messaging.Target(topic=CONF.volume_topic, server=backend)


def backend_queue(host: str, new_style: bool | None = None) -> str:
    """The queue a message for ``host``'s backend lands in: ``<topic>.<server>``."""
    target = backend_target(host, new_style)
    return f"{target.topic}.{target.server}"


class VolumeAPI(rpc.RPCAPI):
    """Builds targets for cinder-volume and casts or calls; nothing else."""

    RPC_API_VERSION = "3.20"
    RPC_DEFAULT_VERSION = "3.0"
    KILO_RPC_API_VERSION = "1.0"
    KILO_VERSION_CAP = "1.23"
    TOPIC_OPTION = "volume_topic"
    BINARY = "cinder-volume"
    UPGRADE_LEVEL = "volume"

    def _get_cctxt(self, host: str, version: str | tuple | None = None) -> messaging.RPCClient:
        """Address one backend; a tuple of versions means the first one we may send."""
        if isinstance(version, tuple):
            version = next((v for v in version if self.client.can_send_version(v)), version[-1])
        # A client pinned below 3.6 must address the Kilo way (Cinder's own TODO).
        new_style = not config.is_kilo() and self.client.can_send_version("3.6")
        target = backend_target(host, new_style)
        kwargs = {"version": version} if version else {}
        return super()._get_cctxt(topic=target.topic, server=target.server, **kwargs)

    def create_volume(
        self, ctxt: RequestContext, volume: object, request_spec: dict, filter_properties: dict
    ) -> None:
        """Cast to the backend the scheduler chose."""
        if config.is_kilo():
            cctxt = self._get_cctxt(volume.host, "1.4")
            cctxt.cast(
                ctxt,
                "create_volume",
                volume_id=volume.id,
                request_spec=request_spec,
                filter_properties=filter_properties,
                allow_reschedule=True,
                snapshot_id=None,
                image_id=None,
                source_replicaid=None,
                source_volid=None,
                consistencygroup_id=None,
                cgsnapshot_id=None,
            )
            return
        cctxt = self._get_cctxt(volume.service_topic_queue)
        cctxt.cast(
            ctxt,
            "create_volume",
            request_spec=request_spec,
            filter_properties=filter_properties,
            allow_reschedule=True,
            volume=volume,
        )

    def get_backup_device(self, ctxt: RequestContext, backup: object, volume: object) -> object:
        """Today only (Mitaka on): where to read the volume. From 3.17 a cast answered
        by ``continue_backup``; pinned below it, a call that returns the device."""
        cctxt = self._get_cctxt(volume.service_topic_queue, ("3.17", "3.2", "3.0"))
        if cctxt.can_send_version("3.17"):
            cctxt.cast(ctxt, "get_backup_device", backup=backup, want_objects=True, async_call=True)
            return None
        if cctxt.can_send_version("3.2"):
            return cctxt.call(ctxt, "get_backup_device", backup=backup, want_objects=True)
        return cctxt.call(ctxt, "get_backup_device", backup=backup)

    def initialize_connection(self, ctxt: RequestContext, volume: object, connector: dict) -> dict:
        """Call: export the volume to ``connector`` (Nova's attach; today also a backup)."""
        if config.is_kilo():
            cctxt = self._get_cctxt(volume.host, "1.0")
            return cctxt.call(
                ctxt, "initialize_connection", volume_id=volume.id, connector=connector
            )
        cctxt = self._get_cctxt(volume.service_topic_queue, "3.0")
        return cctxt.call(ctxt, "initialize_connection", connector=connector, volume=volume)

    def terminate_connection(
        self, ctxt: RequestContext, volume: object, connector: dict, force: bool = False
    ) -> None:
        """Call: stop exporting the volume to ``connector``."""
        if config.is_kilo():
            cctxt = self._get_cctxt(volume.host, "1.0")
            cctxt.call(
                ctxt, "terminate_connection", volume_id=volume.id, connector=connector, force=force
            )
            return
        cctxt = self._get_cctxt(volume.service_topic_queue, "3.0")
        cctxt.call(
            ctxt, "terminate_connection", volume_id=volume.id, connector=connector, force=force
        )

    def remove_export(self, ctxt: RequestContext, volume: object, sync: bool = False) -> None:
        """Today only (Mitaka on): remove the export; a call when ``sync``, else a cast."""
        cctxt = self._get_cctxt(volume.service_topic_queue, "3.0")
        if sync:
            cctxt.call(ctxt, "remove_export", volume_id=volume.id)
        else:
            cctxt.cast(ctxt, "remove_export", volume_id=volume.id)

    def publish_service_capabilities(self, ctxt: RequestContext) -> None:
        """Fanout: ask every volume service to report its pools now."""
        version = "1.2" if config.is_kilo() else "3.0"
        cctxt = super()._get_cctxt(fanout=True, version=version)
        cctxt.cast(ctxt, "publish_service_capabilities")
