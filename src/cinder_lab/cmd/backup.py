"""Starter script for cinder-backup; mirrors cinder/cmd/backup.py.

Topic ``cinder-backup``, server ``[DEFAULT] host``: no ``@backend`` here,
which is why backups route to ``extract_host(volume.host, 'host')``.
"""

from __future__ import annotations

import sys

from cinder_lab import service
from cinder_lab.cmd import common


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-backup --config-file F``."""
    return common.service_main("cinder-lab-backup", service.create_backup_service, argv)


if __name__ == "__main__":
    sys.exit(main())
