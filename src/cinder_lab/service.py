"""A running binary: its services row, RPC server, heartbeat and launchers.

Mirrors cinder/service.py: ``Service.start()`` registers (or reuses) the
``services`` row for ``(host, binary)``, starts an RPC server on
``Target(topic, server=host)`` and writes a heartbeat every ``report_interval``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

import oslo_messaging as messaging
from sqlalchemy.exc import SQLAlchemyError

from cinder_lab import context, exception, objects, rpc, utils
from cinder_lab.backup.manager import BackupManager
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.manager import Manager
from cinder_lab.scheduler.manager import SchedulerManager
from cinder_lab.volume import rpcapi as volume_rpcapi
from cinder_lab.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)


class Service:
    """One binary on one host; mirrors cinder.service.Service."""

    def __init__(
        self,
        host: str,
        binary: str,
        topic: str,
        manager: Manager,
        extra_targets: list[messaging.Target] | None = None,
    ) -> None:
        self.host = host
        self.binary = binary
        self.topic = topic
        self.manager = manager
        self.availability_zone = CONF.storage_availability_zone
        self.service_id: int | None = None
        self.rpcserver: messaging.RPCServer | None = None
        # More servers on one manager, e.g. Ocata's Target('cinder-volume.h@b', server='h').
        self.extra_targets = list(extra_targets or [])
        self.extra_servers: list[messaging.RPCServer] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"<Service {self.binary} {self.host}>"

    def _versions(self) -> dict:
        """Today's services row says what it speaks (Liberty on); Kilo's had no such columns."""
        if config.is_kilo():
            return {"rpc_current_version": None, "object_current_version": None}
        return {
            "rpc_current_version": self.manager.target.version,
            "object_current_version": objects.OBJ_VERSION,
        }

    def _register(self) -> None:
        # Reuse the row of an earlier run: that is why a renamed host leaves a stale one.
        values = {"availability_zone": self.availability_zone, **self._versions()}
        try:
            row = db.service_get_by_args(self.host, self.binary)
            db.service_update(row.id, values)
        except exception.HostBinaryNotFound:
            row = db.service_create(
                {
                    "host": self.host,
                    "binary": self.binary,
                    "topic": self.topic,
                    "report_count": 0,
                    **values,
                }
            )
        self.service_id = row.id
        self.manager.service_id = row.id

    def start(self) -> None:
        """Register, start the RPC server, then heartbeat and periodic tasks."""
        self._register()
        self.report_state()
        self.manager.init_host()
        target = messaging.Target(
            topic=self.topic, server=self.host, version=self.manager.target.version
        )
        LOG.info(
            "starting %s on host %s: consuming %s, %s.%s and %s_fanout",
            self.binary,
            self.host,
            self.topic,
            self.topic,
            self.host,
            self.topic,
        )
        self.rpcserver = rpc.get_server(target, [self.manager])
        self.rpcserver.start()
        for extra in self.extra_targets:
            LOG.info("%s also serves topic %s, server %s", self, extra.topic, extra.server)
            server = rpc.get_server(extra, [self.manager])
            server.start()
            self.extra_servers.append(server)
        self.manager.init_host_with_rpc()
        self._spawn(self._heartbeat_loop, "heartbeat")
        self._spawn(self._periodic_loop, "periodic")

    def _spawn(self, fn: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=fn, name=f"{self.host}-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def report_state(self) -> None:
        """One heartbeat; mirrors cinder.service.Service.report_state."""
        assert self.service_id is not None
        try:
            db.service_heartbeat(self.service_id)
            # The same beat renews the lease on the requests this process works on.
            db.worker_touch(utils.process_token())
        except Exception as e:
            # A lost database must not kill the service; the next beat retries.
            LOG.warning("%s: heartbeat failed: %s", self, str(e).splitlines()[0])

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(CONF.report_interval):
            self.report_state()

    def _periodic_loop(self) -> None:
        while not self._stop.wait(CONF.periodic_interval):
            try:
                self.manager.periodic_tasks(context.get_admin_context())
            except Exception as e:
                LOG.warning("%s: periodic task failed: %s", self, str(e).splitlines()[0])

    def stop(self) -> None:
        """Stop consuming, finish the running request, stop the heartbeat."""
        self._stop.set()
        if self.rpcserver is None:
            return  # never started (e.g. the database was unreachable): nothing to say
        servers = [s for s in [self.rpcserver, *self.extra_servers] if s is not None]
        for server in servers:
            server.stop()
        for server in servers:
            server.wait()
        self.rpcserver = None
        self.extra_servers = []
        for t in self._threads:
            t.join(timeout=5)
        LOG.info("stopped %s on host %s", self.binary, self.host)

    def stop_heartbeats(self) -> None:
        """Stop heartbeats only, as if the process hung: the row turns ``down``
        while the RPC server still consumes its queues."""
        self._stop.set()


# -- the services of each binary; mirrors Service.create as cinder/cmd/* call it --


def backend_hosts() -> list[tuple[str, str]]:
    """``[(backend, host@backend)]`` for every enabled backend; errors before any start."""
    if not CONF.enabled_backends:
        raise exception.ConfigError(
            reason="enabled_backends is empty: cinder-lab-volume needs at least one backend section"
        )
    return [(b, config.backend_host(b)) for b in CONF.enabled_backends]


def create_volume_service(backend: str) -> Service:
    """The cinder-volume Service of one backend section (``host@backend``)."""
    conf = config.backend_conf(backend)
    host = config.backend_host(backend)
    manager = VolumeManager(host, backend, conf.volume_backend_name, conf.total_capacity_gb)
    extra = []
    if not config.is_kilo():
        # Since Ocata Cinder runs a second server that shares queue cinder-volume.host@backend.
        target = volume_rpcapi.backend_target(host, new_style=True)
        target.version = manager.target.version
        extra.append(target)
    return Service(host, "cinder-volume", CONF.volume_topic, manager, extra_targets=extra)


def create_backup_service() -> Service:
    """The cinder-backup Service for ``[DEFAULT] host``: no ``@backend``."""
    return Service(CONF.host, "cinder-backup", CONF.backup_topic, BackupManager(CONF.host))


def create_scheduler_service() -> Service:
    """The cinder-scheduler Service for ``[DEFAULT] host``."""
    return Service(CONF.host, "cinder-scheduler", CONF.scheduler_topic, SchedulerManager(CONF.host))


def serve(make_service: Callable[[], Service]) -> None:
    """Run one service in this process until SIGTERM, SIGINT or SIGHUP.

    The transport is created here, after any fork; mirrors oslo.service's
    ServiceLauncher as Cinder uses it.
    """
    stop = utils.stop_event()
    rpc.init(CONF)
    service = make_service()
    try:
        service.start()
        while not stop.wait(0.5):  # a timed wait lets the handler run promptly
            pass
        utils.ignore_stop_signals()
    finally:
        service.stop()
        rpc.cleanup()


class ProcessLauncher:
    """One child process per service, as cinder-volume runs one per backend.

    Mirrors oslo.service's ProcessLauncher, without respawning: if a child
    dies, the launcher stops the others and exits non-zero so the failure
    shows.
    """

    def __init__(self) -> None:
        self.children: dict[int, str] = {}

    def launch_service(self, name: str, make_service: Callable[[], Service]) -> None:
        """Fork a child that runs ``make_service()`` via ``serve``."""
        # Never hand a pooled DB connection to a child.
        db.dispose_engine()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for signum in utils.STOP_SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                serve(make_service)
            except exception.CinderLabException as e:
                print(f"ERROR: {name}: {utils.mask_url(str(e))}", file=sys.stderr)
                code = 1
            except SQLAlchemyError as e:
                # A database that refuses us is bad input, not a crash: one masked line.
                url = utils.mask_url(CONF.database.connection)
                first = (str(e.orig or e).splitlines() or [""])[0]
                print(f"ERROR: {name}: database {url}: {utils.mask_url(first)}", file=sys.stderr)
                code = 1
            except Exception as e:
                LOG.exception("%s crashed", name)
                print(f"ERROR: {name}: {e}", file=sys.stderr)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = name

    def wait(self) -> int:
        """Wait for a signal or a child's death; stop every child; return the exit code."""
        code = 0
        stop = utils.stop_event()
        while not stop.is_set() and self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                stop.wait(0.2)
                continue
            name = self.children.pop(pid, "?")
            if os.waitstatus_to_exitcode(status) != 0:
                # The child printed why; one line per failure is enough.
                LOG.debug("child %s (pid %d) exited: %d", name, pid, status)
                code = 1
                break
        utils.ignore_stop_signals()
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in list(self.children):
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM):
                code = 1
        self.children.clear()
        return code
