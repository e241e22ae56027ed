"""Client side of the backup RPC API; mirrors cinder/backup/rpcapi.py.

``host`` here is the plain host (``extract_host(volume.host, 'host')``):
cinder-backup registers without ``@backend``, so the cast lands in queue
``cinder-backup.<host>``.
"""

from __future__ import annotations

import oslo_messaging as messaging

from cinder_lab import rpc
from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext


class BackupAPI:
    """Builds targets for cinder-backup and casts; nothing else."""

    RPC_API_VERSION = "2.0"

    def __init__(self, version_cap: str | None = None) -> None:
        target = messaging.Target(topic=CONF.backup_topic, version=self.RPC_API_VERSION)
        cap = version_cap or CONF.upgrade_levels.backup
        self.client = rpc.get_client(target, version_cap=cap)

    def create_backup(
        self, ctxt: RequestContext, host: str, backup_id: str, volume_id: str
    ) -> None:
        """Cast to the one cinder-backup named ``host`` (the note's code, line for line)."""
        cctxt = self.client.prepare(server=host)
        cctxt.cast(ctxt, "create_backup", backup_id=backup_id)
