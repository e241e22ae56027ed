"""Client side of the backup RPC API; mirrors cinder/backup/rpcapi.py (2015.1 and today).

A backup is cast to ``server=host`` of one cinder-backup, which registers
without ``@backend``: the message lands in queue ``cinder-backup.<host>``.
Kilo's API chose that host itself (``extract_host(volume.host, 'host')``) and
sent only ``backup_id`` at 1.0; today the scheduler chooses it and the Backup
object travels at 2.0. The client's version cap decides which form it sends.
"""

from __future__ import annotations

from cinder_lab import rpc
from cinder_lab.context import RequestContext


class BackupAPI(rpc.RPCAPI):
    """Builds targets for cinder-backup and casts; nothing else."""

    RPC_API_VERSION = "2.4"
    RPC_DEFAULT_VERSION = "2.0"
    KILO_VERSION_CAP = "1.0"
    TOPIC_OPTION = "backup_topic"
    BINARY = "cinder-backup"
    UPGRADE_LEVEL = "backup"

    def create_backup(self, ctxt: RequestContext, backup: object) -> None:
        """Cast to the one cinder-backup named ``backup.host`` (the note's code)."""
        if not self.client.can_send_version("2.0"):
            cctxt = self._get_cctxt(server=backup.host, version="1.0")
            cctxt.cast(ctxt, "create_backup", backup_id=backup.id)  # Kilo: the id only
            return
        cctxt = self._get_cctxt(server=backup.host)
        cctxt.cast(ctxt, "create_backup", backup=backup)

    def continue_backup(self, ctxt: RequestContext, backup: object, backup_device: object) -> None:
        """Yoga on: the volume service's answer to get_backup_device."""
        cctxt = self._get_cctxt(server=backup.host)
        cctxt.cast(ctxt, "continue_backup", backup=backup, backup_device=backup_device)

    @rpc.assert_min_rpc_version("2.2")
    def publish_service_capabilities(self, ctxt: RequestContext) -> None:
        """Ussuri on (2.2): fanout, every backup service reports to the schedulers."""
        cctxt = self._get_cctxt(version="2.2", fanout=True)
        cctxt.cast(ctxt, "publish_service_capabilities")
