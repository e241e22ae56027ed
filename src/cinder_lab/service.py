"""A running binary: its services row, RPC server and heartbeat.

Mirrors cinder/service.py: ``Service.start()`` registers (or reuses) the
``services`` row for ``(host, binary)``, starts an RPC server on
``Target(topic, server=host)`` and writes a heartbeat every ``report_interval``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import oslo_messaging as messaging

from cinder_lab import context, exception, rpc, utils
from cinder_lab.backup.manager import BackupManager
from cinder_lab.broker import cancel_consumers, queue_consumers
from cinder_lab.common import bounds, config, names
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.manager import Manager, fake_work_seconds
from cinder_lab.objects.base import OBJ_VERSIONS_CURRENT, CinderObjectSerializer
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
        # A SQLite file deleted (or replaced) under a running service: see database_lost.
        self._db_file: str | None = None
        self._db_identity: tuple[int, int] | None = None
        self.lost: str | None = None

    def __repr__(self) -> str:
        return f"<Service {self.binary} {self.host}>"

    def _versions(self) -> dict:
        """Today's services row says what it speaks (Liberty on); Kilo's had no such columns."""
        if config.is_kilo():
            return {}
        return {
            "rpc_current_version": self.manager.target.version,
            "object_current_version": OBJ_VERSIONS_CURRENT,
        }

    def _register(self) -> None:
        """Reuse the row of an earlier run (that is why a renamed host leaves a stale one).

        Kilo reused it untouched; today's Service.__init__ writes its versions
        into it, which also stamps ``updated_at``.
        """
        try:
            row = db.service_get_by_args(self.host, self.binary)
            if not config.is_kilo():
                # Service.save() writes every field it set, so the UPDATE always happens.
                db.service_update(row.id, {**self._versions(), "updated_at": utils.utcnow()})
        except exception.HostBinaryNotFound:
            row = self._create_service_ref()
        self.service_id = row.id
        self.manager.service_id = row.id

    def _create_service_ref(self) -> object:
        """A new row: report_count 0; today's also its uuid, versions and ``updated_at``."""
        values = {
            "host": self.host,
            "binary": self.binary,
            "topic": self.topic,
            "report_count": 0,
            "availability_zone": self.availability_zone,
            **self._versions(),
        }
        return db.service_create(values)

    def start(self) -> None:
        """Register, start the RPC server, then heartbeat and periodic tasks."""
        utils.follow_debugger_into_threads()  # pdb breakpoints in the threads started below
        bounds.check_down_time()
        self._register()
        self._db_file = utils.sqlite_file(CONF.database.connection)
        if self._db_file:
            self._db_identity = utils.file_identity(self._db_file)
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
        self._warn_if_claimed(f"{self.topic}.{self.host}")
        # As Cinder: replies carry objects every service understands (the oldest row's).
        serializer = CinderObjectSerializer(rpc.server_obj_version_cap())
        self.rpcserver = rpc.get_server(target, [self.manager], serializer)
        self.rpcserver.start()
        for extra in self.extra_targets:
            LOG.info("%s also serves topic %s, server %s", self, extra.topic, extra.server)
            server = rpc.get_server(extra, [self.manager], serializer)
            server.start()
            self.extra_servers.append(server)
        self.manager.init_host_with_rpc()
        self._spawn(self._heartbeat_loop, "heartbeat")
        self._spawn(self._periodic_loop, "periodic")

    def _warn_if_claimed(self, queue: str) -> None:
        """One warning line when another process already consumes this service's queue.

        Two processes with one ``host`` (or ``backend_host``) share its requests:
        right for a shared backend, a surprise otherwise.
        """
        consumers = queue_consumers(queue)
        if consumers:
            LOG.warning(
                "%s: %d other process(es) already consume %s; they will share its requests "
                "(right only for a shared backend_host)",
                self,
                consumers,
                queue,
            )

    def _spawn(self, fn: Callable[[], None], name: str) -> None:
        self._threads.append(utils.spawn(fn, f"{self.host}-{name}"))

    def report_state(self) -> None:
        """One heartbeat; mirrors cinder.service.Service.report_state.

        The first comes ``report_interval`` after start (Cinder's looping call
        has ``initial_delay=report_interval``). A row that has gone (deleted, or
        soft-deleted) is created again, as both releases do.
        """
        assert self.service_id is not None
        if self.database_lost():
            return
        try:
            try:
                db.service_heartbeat(self.service_id, self.availability_zone)
            except exception.ServiceNotFound:
                LOG.debug("The service database object disappeared, recreating it.")
                row = self._create_service_ref()
                self.service_id = self.manager.service_id = row.id
                db.service_heartbeat(self.service_id, self.availability_zone)
            if self.manager.uses_workers():
                # The same beat renews the lease on the requests this process works on.
                db.worker_touch(utils.process_token())
        except Exception as e:
            gone = db.database_gone(e)
            if gone:  # dropped under us: as a deleted SQLite file, say so once and stop
                self.lost = f"the database is gone ({gone}); {self} stops serving"
                LOG.error("%s", self.lost)
                self._stop.set()
                return
            # An unreachable database must not kill the service; the next beat retries.
            LOG.warning("%s: heartbeat failed: %s", self, str(e).splitlines()[0])

    def database_lost(self) -> str | None:
        """Why this service must stop serving, once its SQLite file is gone or replaced.

        An open SQLite connection writes on into the deleted file's inode, and a
        new connection would create a fresh empty file: two databases, neither
        complete. The first time it is noticed: one error line, heartbeats stop.
        """
        if self.lost or not self._db_file:
            return self.lost
        now = utils.file_identity(self._db_file)
        if now == self._db_identity:
            return None
        what = "deleted" if now is None else "replaced by another file"
        self.lost = f"database file {self._db_file} was {what}; {self} stops serving"
        LOG.error("%s", self.lost)
        self._stop.set()
        return self.lost

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
            cancel_consumers(server)
            server.wait()
        self.rpcserver = None
        self.extra_servers = []
        for t in self._threads:
            t.join(timeout=5)
        LOG.info("stopped %s on host %s", self.binary, self.host)

    @property
    def beating(self) -> bool:
        """True while the heartbeat runs: started, neither stopped nor hung on purpose."""
        return self.rpcserver is not None and not self._stop.is_set()

    def stop_heartbeats(self) -> None:
        """Stop heartbeats only, as if the process hung: the row turns ``down``
        while the RPC server still consumes its queues."""
        self._stop.set()


def check_options() -> None:
    """What each service would refuse at its start, checked before anything runs (or forks):
    ``fake_work_seconds`` names methods of the managers, all imported here."""
    fake_work_seconds()


# -- the services of each binary; mirrors Service.create as cinder/cmd/* call it --


def declared_queues(topic: str, server_queue: str) -> list[str]:
    """The queues one oslo.messaging RPC server declares on RabbitMQ.

    ``topic`` and ``topic.server`` on the topic exchange, and ``topic_fanout_<32 hex>``
    (its exchange ``topic_fanout`` is shorter); the server queue comes from the
    caller so the volume's stays ``volume_rpcapi.backend_queue``.
    """
    return [topic, server_queue, f"{topic}_fanout_{'0' * 32}"]


def volume_queues(host: str) -> list[str]:
    """Every queue the cinder-volume service of ``host@backend`` declares."""
    queues = declared_queues(CONF.volume_topic, volume_rpcapi.backend_queue(host, False))
    if not config.is_kilo():  # today's second server (see create_volume_service)
        target = volume_rpcapi.backend_target(host, new_style=True)
        queues += declared_queues(target.topic, volume_rpcapi.backend_queue(host, True))
    return queues


def backend_hosts() -> list[tuple[str, str]]:
    """``[(backend, host@backend)]`` for every enabled backend; errors before any start."""
    if not CONF.enabled_backends:
        raise exception.ConfigError(
            reason="enabled_backends is empty: cinder-lab-volume needs at least one backend section"
        )
    hosts = [(b, config.backend_host(b)) for b in CONF.enabled_backends]
    for _backend, host in hosts:
        names.check_queue_names(volume_queues(host), f"cinder-volume {host[:40]}")
    return hosts


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


def _check_plain_queues(topic: str, binary: str) -> None:
    """A backup or scheduler service's queues fit AMQP's names (checked before any row)."""
    queues = declared_queues(topic, f"{topic}.{CONF.host}")
    names.check_queue_names(queues, f"{binary} {CONF.host[:40]}")


def create_backup_service() -> Service:
    """The cinder-backup Service for ``[DEFAULT] host``: no ``@backend``."""
    _check_plain_queues(CONF.backup_topic, "cinder-backup")
    return Service(CONF.host, "cinder-backup", CONF.backup_topic, BackupManager(CONF.host))


def create_scheduler_service() -> Service:
    """The cinder-scheduler Service for ``[DEFAULT] host``."""
    _check_plain_queues(CONF.scheduler_topic, "cinder-scheduler")
    return Service(CONF.host, "cinder-scheduler", CONF.scheduler_topic, SchedulerManager(CONF.host))
