"""Starter script for cinder-backup; mirrors cinder/cmd/backup.py.

Topic ``cinder-backup``, server ``[DEFAULT] host``: no ``@backend`` here,
which is why backups route to ``extract_host(volume.host, 'host')``.
"""

from __future__ import annotations

import sys

from cinder_lab import service
from cinder_lab.backup.manager import BackupManager
from cinder_lab.cmd import common
from cinder_lab.common.config import CONF


def make_backup_service() -> service.Service:
    """The cinder-backup Service for ``[DEFAULT] host``."""
    return service.Service(CONF.host, "cinder-backup", CONF.backup_topic, BackupManager(CONF.host))


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-backup --config-file F``."""
    return common.service_main("cinder-lab-backup", make_backup_service, argv)


if __name__ == "__main__":
    sys.exit(main())
