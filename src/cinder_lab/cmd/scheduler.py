"""Starter script for cinder-scheduler; mirrors cinder/cmd/scheduler.py."""

from __future__ import annotations

import sys

from cinder_lab import rpc, service
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.scheduler.manager import SchedulerManager


def make_scheduler_service() -> service.Service:
    """The cinder-scheduler Service for ``[DEFAULT] host``."""
    return service.Service(
        CONF.host, "cinder-scheduler", CONF.scheduler_topic, SchedulerManager(CONF.host)
    )


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-scheduler --config-file F``."""

    def body() -> int:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        common.setup_logging()
        config.check_name(CONF.host, "[DEFAULT] host")
        rpc.check_broker(CONF)
        service.serve(make_scheduler_service)
        return 0

    return common.run("cinder-lab-scheduler", body)


if __name__ == "__main__":
    sys.exit(main())
