"""Client side of the backup RPC API; mirrors cinder/backup/rpcapi.py.

``host`` here is the plain host (``extract_host(volume.host, 'host')``):
cinder-backup registers without ``@backend``, so the cast lands in queue
``cinder-backup.<host>``.
"""

from __future__ import annotations

from cinder_lab import rpc
from cinder_lab.context import RequestContext


class BackupAPI(rpc.RPCAPI):
    """Builds targets for cinder-backup and casts; nothing else."""

    RPC_API_VERSION = "2.0"
    TOPIC_OPTION = "backup_topic"
    BINARY = "cinder-backup"
    UPGRADE_LEVEL = "backup"

    def create_backup(
        self, ctxt: RequestContext, host: str, backup_id: str, volume_id: str
    ) -> None:
        """Cast to the one cinder-backup named ``host`` (the note's code, line for line)."""
        cctxt = self.client.prepare(server=host)
        cctxt.cast(ctxt, "create_backup", backup_id=backup_id)
