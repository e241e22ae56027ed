"""Starter script for cinder-volume; mirrors cinder/cmd/volume.py.

One child process per backend in ``enabled_backends``, each with host
``(backend_host or host)@backend``, its own services row and RPC server.
"""

from __future__ import annotations

import sys

import oslo_messaging as messaging

from cinder_lab import exception, rpc
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.service import ProcessLauncher, Service
from cinder_lab.volume import volume_utils
from cinder_lab.volume.manager import VolumeManager


def make_volume_service(backend: str) -> Service:
    """The Service of one backend section (used by the launcher and the in-process lab)."""
    conf = config.backend_conf(backend)
    host = config.backend_host(backend)
    manager = VolumeManager(host, backend, conf.volume_backend_name, conf.total_capacity_gb)
    extra = []
    if CONF.volume_rpc_addressing == "ocata":
        # Since Ocata Cinder runs a second server that shares queue cinder-volume.host@backend.
        topic = f"{CONF.volume_topic}.{host}"
        plain = volume_utils.extract_host(host, "host")
        extra.append(messaging.Target(topic=topic, server=plain, version=manager.RPC_API_VERSION))
    return Service(host, "cinder-volume", CONF.volume_topic, manager, extra_targets=extra)


def backend_hosts() -> list[tuple[str, str]]:
    """``[(backend, host@backend)]`` for every enabled backend; errors before any start."""
    if not CONF.enabled_backends:
        raise exception.ConfigError(
            reason="enabled_backends is empty: cinder-lab-volume needs at least one backend section"
        )
    return [(b, config.backend_host(b)) for b in CONF.enabled_backends]


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-volume --config-file F``."""

    def body() -> int:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        common.setup_logging()
        backends = backend_hosts()
        config.check_name(CONF.host, "[DEFAULT] host")
        rpc.check_broker(CONF)
        launcher = ProcessLauncher()
        for backend, host in backends:
            launcher.launch_service(host, lambda b=backend: make_volume_service(b))
        return launcher.wait()

    return common.run("cinder-lab-volume", body)


if __name__ == "__main__":
    sys.exit(main())
