"""Client side of the scheduler RPC API; mirrors cinder/scheduler/rpcapi.py (2015.1 and today).

Requests go to topic ``cinder-scheduler`` with no server (any scheduler may
take them); capability reports go to every scheduler through the fanout
exchange ``cinder-scheduler_fanout``. Today a backup passes through here too:
the scheduler chooses the cinder-backup host.

Each method sends the newest form its version cap allows: Kilo's client is
capped at 1.7; today's at the oldest cinder-scheduler row, so a client pinned
below 3.10 drops ``backup_id``, below 3.3 reports capabilities at 3.0 without
``cluster_name`` and ``timestamp``, below 3.1 refuses ``notify_service_capabilities``.
"""

from __future__ import annotations

from oslo_serialization import jsonutils

from cinder_lab import rpc, utils
from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext


class SchedulerAPI(rpc.RPCAPI):
    """Builds targets for cinder-scheduler and casts or calls; nothing else."""

    RPC_API_VERSION = "3.12"
    RPC_DEFAULT_VERSION = "3.0"
    KILO_VERSION_CAP = "1.7"
    TOPIC_OPTION = "scheduler_topic"
    BINARY = "cinder-scheduler"
    UPGRADE_LEVEL = "scheduler"

    def create_volume(
        self, ctxt: RequestContext, volume: object, request_spec: object, filter_properties: dict
    ) -> None:
        """Cast to any scheduler: queue ``cinder-scheduler``."""
        if not self.client.can_send_version("3.0"):
            # Kilo (1.2): the volume's id and the volume topic; request_spec a dict.
            cctxt = self._get_cctxt(version="1.2")
            cctxt.cast(
                ctxt,
                "create_volume",
                topic=CONF.volume_topic,
                volume_id=volume.id,
                snapshot_id=None,
                image_id=None,
                request_spec=jsonutils.to_primitive(request_spec),
                filter_properties=filter_properties,
            )
            return
        msg_args = {
            "snapshot_id": None,
            "image_id": None,
            "request_spec": request_spec,
            "filter_properties": filter_properties,
            "volume": volume,
            "backup_id": None,
        }
        if not self.client.can_send_version("3.10"):
            msg_args.pop("backup_id")
        cctxt = self._get_cctxt()
        cctxt.cast(ctxt, "create_volume", **msg_args)

    @rpc.assert_min_rpc_version("3.12")
    def create_backup(self, ctxt: RequestContext, backup: object) -> None:
        """Ussuri on: any scheduler picks the backup host, then casts on."""
        cctxt = self._get_cctxt()
        cctxt.cast(ctxt, "create_backup", backup=backup)

    def update_service_capabilities(
        self,
        ctxt: RequestContext,
        service_name: str,
        host: str,
        capabilities: dict,
        cluster_name: str | None = None,
    ) -> None:
        """Fanout cast: every scheduler learns this service's capabilities."""
        msg_args = {"service_name": service_name, "host": host, "capabilities": capabilities}
        if self.client.can_send_version("3.3"):
            version = "3.3"  # the scheduler accepts the cluster and a timestamp
            msg_args.update(cluster_name=cluster_name, timestamp=self.prepare_timestamp())
        else:
            version = self._compat_ver("3.0", "1.0")
        cctxt = self._get_cctxt(fanout=True, version=version)
        cctxt.cast(ctxt, "update_service_capabilities", **msg_args)

    @rpc.assert_min_rpc_version("3.1")
    def notify_service_capabilities(
        self, ctxt: RequestContext, service_name: str, backend: str, capabilities: dict
    ) -> None:
        """Ocata on: the same report, cast to one scheduler (3.1 named it ``host``)."""
        msg_args = {"service_name": service_name, "capabilities": capabilities}
        if self.client.can_send_version("3.5"):
            version = "3.5"
            msg_args.update(backend=backend, timestamp=self.prepare_timestamp())
        else:
            version = "3.1"
            msg_args["host"] = backend
        cctxt = self._get_cctxt(version=version)
        cctxt.cast(ctxt, "notify_service_capabilities", **msg_args)

    def get_pools(self, ctxt: RequestContext) -> list[dict]:
        """Call any scheduler for the pools it knows (1.7 in Kilo)."""
        cctxt = self._get_cctxt(version=("3.0", "1.7"))
        return cctxt.call(ctxt, "get_pools", filters=None)

    @staticmethod
    def prepare_timestamp() -> str:
        """Now, as Cinder puts a datetime on the wire (``jsonutils.to_primitive``)."""
        return jsonutils.to_primitive(utils.utcnow())
