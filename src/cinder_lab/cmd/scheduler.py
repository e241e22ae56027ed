"""Starter script for cinder-scheduler; mirrors cinder/cmd/scheduler.py."""

from __future__ import annotations

import sys

from cinder_lab import service
from cinder_lab.cmd import common


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-scheduler --config-file F``."""
    return common.service_main("cinder-lab-scheduler", service.create_scheduler_service, argv)


if __name__ == "__main__":
    sys.exit(main())
