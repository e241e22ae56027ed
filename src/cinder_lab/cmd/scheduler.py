"""Starter script for cinder-scheduler; mirrors cinder/cmd/scheduler.py."""

from __future__ import annotations

import sys

from cinder_lab import service
from cinder_lab.cmd import common
from cinder_lab.common.config import CONF
from cinder_lab.scheduler.manager import SchedulerManager


def make_scheduler_service() -> service.Service:
    """The cinder-scheduler Service for ``[DEFAULT] host``."""
    return service.Service(
        CONF.host, "cinder-scheduler", CONF.scheduler_topic, SchedulerManager(CONF.host)
    )


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-scheduler --config-file F``."""
    return common.service_main("cinder-lab-scheduler", make_scheduler_service, argv)


if __name__ == "__main__":
    sys.exit(main())
