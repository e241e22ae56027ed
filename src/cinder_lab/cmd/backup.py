"""Starter script for cinder-backup; mirrors cinder/cmd/backup.py.

Topic ``cinder-backup``, server ``[DEFAULT] host``: no ``@backend`` here,
which is why backups route to ``extract_host(volume.host, 'host')``.
"""

from __future__ import annotations

import sys

from cinder_lab import rpc, service
from cinder_lab.backup.manager import BackupManager
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF


def make_backup_service() -> service.Service:
    """The cinder-backup Service for ``[DEFAULT] host``."""
    return service.Service(CONF.host, "cinder-backup", CONF.backup_topic, BackupManager(CONF.host))


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-backup --config-file F``."""

    def body() -> int:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        common.setup_logging()
        config.check_name(CONF.host, "[DEFAULT] host")
        rpc.check_broker(CONF)
        service.serve(make_backup_service)
        return 0

    return common.run("cinder-lab-backup", body)


if __name__ == "__main__":
    sys.exit(main())
