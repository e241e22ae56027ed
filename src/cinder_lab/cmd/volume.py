"""Starter script for cinder-volume; mirrors cinder/cmd/volume.py.

One child process per backend in ``enabled_backends``, each with host
``(backend_host or host)@backend``, its own services row and RPC server.
"""

from __future__ import annotations

import sys

from cinder_lab import rpc, service
from cinder_lab.cmd import common, launcher
from cinder_lab.common import config
from cinder_lab.common.config import CONF


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-volume --config-file F``."""

    def body() -> int:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        common.setup_logging()
        backends = service.backend_hosts()
        service.check_options()
        config.check_name(CONF.host, "[DEFAULT] host")
        rpc.check_broker(CONF)
        processes = launcher.ProcessLauncher()
        for backend, host in backends:
            processes.launch_service(host, lambda b=backend: service.create_volume_service(b))
        return processes.wait()

    return common.run("cinder-lab-volume", body)


if __name__ == "__main__":
    sys.exit(main())
