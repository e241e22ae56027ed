"""The single-process lab: every service of a config as threads of this process.

Nothing in Cinder matches this file: it is the lab's debugger mode. With
``transport_url = kombu+memory:////`` no broker is needed, yet the services
are the real ones (same managers, rpcapi, queue names and envelopes), so a
breakpoint in ``backup/rpcapi.py`` or ``backup/manager.py`` is hit in one
process.
"""

from __future__ import annotations

from cinder_lab import clock, exception, rpc, utils
from cinder_lab.common.config import CONF
from cinder_lab.service import (
    Service,
    backend_hosts,
    create_backup_service,
    create_scheduler_service,
    create_volume_service,
)
from cinder_lab.volume import volume_utils


class Lab:
    """Starts and stops services in this process, sharing one transport."""

    def __init__(self) -> None:
        if not rpc.initialized():
            rpc.init(CONF)
            rpc.check_broker(CONF)
        # Its services stop as promptly as the launcher's (futurist's idle check).
        rpc.prompt_worker_stop()
        self.services: list[Service] = []

    def _start(self, service: Service) -> Service:
        service.start()
        self.services.append(service)
        return service

    def start_volume(self, backends: list[str] | None = None) -> list[Service]:
        """One cinder-volume service per backend (all of ``enabled_backends`` by default)."""
        names = backends or [b for b, _host in backend_hosts()]
        return [self._start(create_volume_service(b)) for b in names]

    def start_backup(self) -> Service:
        """cinder-backup for ``[DEFAULT] host``."""
        return self._start(create_backup_service())

    def start_scheduler(self) -> Service:
        """cinder-scheduler for ``[DEFAULT] host``."""
        return self._start(create_scheduler_service())

    def start_all(self) -> list[Service]:
        """Volume services, then backup, then scheduler (it asks the volumes for pools)."""
        started = self.start_volume()
        started.append(self.start_backup())
        started.append(self.start_scheduler())
        return started

    def start_configured(self, pools_timeout: float = 5.0) -> list[Service]:
        """What the config runs (volume services only if it has backends), once the
        schedulers know the pools or ``pools_timeout`` passed: the tools' in-process lab."""
        volumes = self.start_volume() if CONF.enabled_backends else []
        started = volumes + [self.start_backup(), self.start_scheduler()]
        self.wait_for_backends(volumes, timeout=pools_timeout)
        return started

    def find(self, binary: str, host: str) -> Service:
        """The running service for ``(binary, host)``."""
        for service in self.services:
            if service.binary == binary and service.host == host:
                return service
        raise exception.HostBinaryNotFound(binary=binary, host=host)

    def stop(self, service: Service) -> None:
        """Stop one service gracefully."""
        service.stop()
        self.services.remove(service)

    def stop_all(self) -> None:
        """Stop every service at once, then renew the transport, as a process restart would.

        A transport remembers which exchanges it declared; an auto-delete fanout
        exchange that vanished meanwhile would fail its next publish with 404.
        """
        self._stop_services()
        rpc.cleanup()
        rpc.init(CONF)

    def _stop_services(self) -> None:
        threads = [utils.spawn(s.stop, f"stop-{s.host}-{s.binary}") for s in self.services]
        for t in threads:
            t.join()
        self.services.clear()

    def close(self) -> None:
        """Stop everything and close the transport."""
        self._stop_services()
        rpc.cleanup()

    def skip(self, seconds: float) -> None:
        """Let ``seconds`` pass on the lab's clock instead of waiting for them.

        Only once the process took control of its clock (``clock.take_control``,
        single-process runs). Time moves in ``report_interval`` steps, and after
        each step every service that is still beating reports, as it would have
        meanwhile; stopped or hung services do not, so their rows turn down.
        """
        step = max(float(CONF.report_interval), 0.1)
        left = seconds
        while left > 0:
            clock.advance(min(step, left))
            left -= step
            for service in self.services:
                if service.beating:
                    service.report_state()

    def pools(self) -> list[dict]:
        """The pools the schedulers of this lab list (those of up, enabled backends)."""
        schedulers = [s for s in self.services if s.binary == "cinder-scheduler"]
        return [p for s in schedulers for p in s.manager.host_manager.get_pools()]

    def wait_for_pools(self, count: int, timeout: float = 30.0) -> list[dict]:
        """Wait until the schedulers of this lab know ``count`` pools.

        Only for a fresh scheduler: after a restart a counted pool may be the old
        row's, still up for ``service_down_time``; use :meth:`wait_for_backends`.
        """
        utils.wait_until(lambda: len(self.pools()) >= count, timeout)
        return self.pools()

    def wait_for_backends(self, volumes: list[Service], timeout: float = 30.0) -> bool:
        """Wait until the schedulers list a pool of each of these cinder-volume services
        (``host@backend``), so that the next create can land on them."""
        wanted = {v.host for v in volumes}

        def known() -> bool:
            return wanted <= {volume_utils.extract_host(p["name"]) for p in self.pools()}

        return utils.wait_until(known, timeout)
