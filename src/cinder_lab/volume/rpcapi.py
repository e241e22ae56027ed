"""Client side of the volume RPC API; mirrors cinder/volume/rpcapi.py (2015.1 and today).

Every volume message is routed to the *backend* level of the volume's host,
``extract_host('HostA@BackendB#PoolC')`` = ``HostA@BackendB``:

- Kilo (1.x): ``Target(topic='cinder-volume', server='HostA@BackendB')``, queue
  ``cinder-volume.HostA@BackendB``; the arguments are ids (``volume_id``).
- Today (since Ocata, RPC 3.6): ``Target(topic='cinder-volume.HostA@BackendB',
  server='HostA')``, queue ``cinder-volume.HostA@BackendB.HostA``; the Volume
  object travels (``volume``).

Each method picks its form with ``can_send_version``: the client's cap is
1.23 in Kilo and the oldest cinder-volume row's version today, so a client
pinned below 3.6 still addresses the Kilo way, as Cinder's does.
"""

from __future__ import annotations

import oslo_messaging as messaging
from oslo_utils import versionutils

from cinder_lab import rpc
from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext
from cinder_lab.volume import volume_utils

BACKEND_TOPIC_VERSION = "3.6"  # Ocata: volume services also serve topic cinder-volume.host@backend


def backend_target(host: str, new_style: bool | None = None) -> messaging.Target:
    """The one rule for addressing a backend; ``new_style``: today's (3.6) addressing.

    Unset, it is what this release's own volume service serves (from 3.6 on).
    Today's server's topic queue ``cinder-volume.host@backend`` is Kilo's server
    queue: the two servers share it.
    """
    if new_style is None:
        new_style = versionutils.is_compatible(BACKEND_TOPIC_VERSION, VolumeAPI.api_version())
    backend = volume_utils.extract_host(host)
    if new_style:
        plain = volume_utils.extract_host(backend, "host")
        return messaging.Target(topic=f"{CONF.volume_topic}.{backend}", server=plain)
    return messaging.Target(topic=CONF.volume_topic, server=backend)


def backend_queue(host: str, new_style: bool | None = None) -> str:
    """The queue a message for ``host``'s backend lands in: ``<topic>.<server>``."""
    target = backend_target(host, new_style)
    return f"{target.topic}.{target.server}"


class VolumeAPI(rpc.RPCAPI):
    """Builds targets for cinder-volume and casts or calls; nothing else.

    Versions the lab sends: 1.0 (initialize/terminate_connection), 1.2
    (publish_service_capabilities), 1.4 (create_volume with request_spec) in
    Kilo; 3.0 to 3.20 today: 3.2 get_backup_device returns objects, 3.6 the
    backend's own topic, 3.17 get_backup_device answered by continue_backup.
    """

    RPC_API_VERSION = "3.20"
    RPC_DEFAULT_VERSION = "3.0"
    KILO_VERSION_CAP = "1.23"
    TOPIC_OPTION = "volume_topic"
    BINARY = "cinder-volume"
    UPGRADE_LEVEL = "volume"

    def _get_cctxt(
        self, host: str | None = None, version: str | tuple | None = None, **kwargs: object
    ) -> messaging.RPCClient:
        """Address one backend (or none, for a fanout); mirrors VolumeAPI._get_cctxt.

        Pinned below 3.6, address the Kilo way (Cinder's own TODO says the same).
        """
        if host:
            new_style = self.client.can_send_version(BACKEND_TOPIC_VERSION)
            target = backend_target(host, new_style)
            kwargs.update(topic=target.topic, server=target.server)
        return super()._get_cctxt(version=version, **kwargs)

    def create_volume(
        self, ctxt: RequestContext, volume: object, request_spec: object, filter_properties: dict
    ) -> None:
        """Cast to the backend the scheduler chose."""
        if not self.client.can_send_version("3.0"):
            # Kilo (1.4): the volume's id, and the ids of what it is made from.
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
        """Mitaka on: where to read the volume. From 3.17 a cast answered by
        ``continue_backup``; pinned below it, a call that returns the device."""
        cctxt = self._get_cctxt(volume.service_topic_queue, ("3.17", "3.2", "3.0"))
        if cctxt.can_send_version("3.17"):
            cctxt.cast(ctxt, "get_backup_device", backup=backup, want_objects=True, async_call=True)
            return None
        if cctxt.can_send_version("3.2"):
            return cctxt.call(ctxt, "get_backup_device", backup=backup, want_objects=True)
        return cctxt.call(ctxt, "get_backup_device", backup=backup)

    def initialize_connection(self, ctxt: RequestContext, volume: object, connector: dict) -> dict:
        """Call: export the volume to ``connector`` (Nova's attach; today also a backup)."""
        if not self.client.can_send_version("3.0"):
            cctxt = self._get_cctxt(volume.host, "1.0")  # Kilo: the id
            return cctxt.call(
                ctxt, "initialize_connection", volume_id=volume.id, connector=connector
            )
        cctxt = self._get_cctxt(volume.service_topic_queue)
        return cctxt.call(ctxt, "initialize_connection", connector=connector, volume=volume)

    def terminate_connection(
        self, ctxt: RequestContext, volume: object, connector: dict, force: bool = False
    ) -> None:
        """Call: stop exporting the volume to ``connector`` (the id in both releases)."""
        cctxt = self._get_cctxt(volume.service_topic_queue, ("3.0", "1.0"))
        cctxt.call(
            ctxt, "terminate_connection", volume_id=volume.id, connector=connector, force=force
        )

    def remove_export(self, ctxt: RequestContext, volume: object, sync: bool = False) -> None:
        """Mitaka on: remove the export; a call when ``sync``, else a cast."""
        cctxt = self._get_cctxt(volume.service_topic_queue)
        if sync:
            cctxt.call(ctxt, "remove_export", volume_id=volume.id)
        else:
            cctxt.cast(ctxt, "remove_export", volume_id=volume.id)

    def publish_service_capabilities(self, ctxt: RequestContext) -> None:
        """Fanout: ask every volume service to report its pools now (1.2 in Kilo)."""
        cctxt = self._get_cctxt(fanout=True, version=("3.0", "1.2"))
        cctxt.cast(ctxt, "publish_service_capabilities")
