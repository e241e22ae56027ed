"""Base class of the three managers; mirrors cinder/manager.py (Manager, CleanableManager).

A manager is the RPC endpoint: every public method is a method a client may
cast or call by name.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import oslo_messaging as messaging

from cinder_lab import context, exception, rpc, utils
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models

LOG = logging.getLogger(__name__)


def fake_work_seconds() -> dict[str, float]:
    """``[DEFAULT] fake_work_seconds`` as numbers, or ConfigError (lab only)."""
    delays = {}
    for method, value in (CONF.fake_work_seconds or {}).items():
        try:
            delays[method] = float(value)
        except ValueError:
            delays[method] = -1.0
        if not 0 <= delays[method] <= 3600:
            raise exception.ConfigError(
                reason=f"fake_work_seconds: {method}:{value} is not a number of seconds (0-3600)"
            )
        if method not in rpc_methods():
            raise exception.ConfigError(
                reason=f"fake_work_seconds: {method!r} is no RPC method of the lab's services"
            )
    return delays


def rpc_methods() -> set[str]:
    """The public methods of every manager class (the RPC methods the services serve)."""
    classes, seen = [Manager], set()
    while classes:
        cls = classes.pop()
        seen |= {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")}
        classes += cls.__subclasses__()
    return seen


def short_reason(text: str) -> str:
    """A status reason that fits the 255-character column."""
    return text[:255]


def resource_id(obj: object, given_id: object, name: str) -> str:
    """The id a message names, whether it sent the object (today) or the id (Kilo)."""
    found = getattr(obj, "id", None) if obj is not None else given_id
    require(isinstance(found, str), f"{name} {found!r} is not an id (nor a {name} object)")
    return found


def publish_service_capabilities(
    scheduler_rpcapi: object, ctxt: context.RequestContext, name: str, host: str, caps: dict
) -> None:
    """Report to the schedulers; mirrors SchedulerDependentManager._publish_service_capabilities.

    A fanout to every scheduler; today also ``notify_service_capabilities`` to one,
    which a scheduler older than 3.1 cannot take: ServiceTooOld, logged, as Cinder does.
    """
    scheduler_rpcapi.update_service_capabilities(ctxt, name, host, caps)
    if config.is_kilo():
        return  # Kilo's managers reported by the fanout only
    try:
        scheduler_rpcapi.notify_service_capabilities(ctxt, name, host, caps)
    except exception.ServiceTooOld as e:
        LOG.warning(
            "Failed to notify about cinder-%s service capabilities for host %s. "
            "This is normal during a live upgrade. Error: %s",
            name,
            host,
            e,
        )


def require(ok: object, reason: str) -> None:
    """Refuse a message before it changes anything: InvalidMessage, logged in one line."""
    if not ok:
        raise exception.InvalidMessage(reason=reason)


class Manager:
    """Holds the host this manager serves, its periodic work and its cleanup at start.

    Its RPC version is its rpcapi's (as Cinder's managers take
    ``RPC_API_VERSION`` from their rpcapi), in the configured release.
    """

    RPCAPI: type[rpc.RPCAPI] = rpc.RPCAPI
    # Cinder's CleanableManager (Newton on): requests in progress are ``workers`` rows.
    CLEANABLE = True

    def __init__(self, host: str) -> None:
        self.host = host
        # Which RPC methods this instance ran: shows who served what in one-process scenarios.
        self.handled: Counter[str] = Counter()
        # The services row of this process; Service.start() sets it before init_host.
        self.service_id: int | None = None
        self._fake_work = fake_work_seconds()

    @property
    def target(self) -> messaging.Target:
        """The version oslo.messaging's dispatcher checks each message against."""
        return messaging.Target(version=self.RPCAPI.api_version())

    def uses_workers(self) -> bool:
        """True when this manager records its requests in ``workers`` (never in Kilo)."""
        return self.CLEANABLE and not config.is_kilo()

    def init_host(self) -> None:
        """Runs before the RPC server starts: clean up what a killed run left half done.

        Today, as cinder.manager.CleanableManager.init_host: every ``workers`` row
        of this service is a request a run acked but never finished. The RPC
        server acks before it runs a method (at-most-once), so nobody else will.
        Rows of a process that still runs (a second process with the same host)
        are left alone; those of another machine's process wait until their
        lease is stale. Kilo had no ``workers`` table: each manager resets the
        statuses of its host's resources instead (``cleanup_at_start``).
        """
        self.clean_workers(at_start=True)
        self.cleanup_at_start(context.get_admin_context())

    def cleanup_at_start(self, ctxt: context.RequestContext) -> None:
        """What this manager's init_host resets without ``workers`` rows; each knows its own."""

    def clean_workers(self, at_start: bool = False) -> None:
        """End every request of this service whose process is gone; mirrors do_cleanup."""
        if self.service_id is None or not self.uses_workers():
            return
        ctxt = context.get_admin_context()
        for worker in db.worker_get_all(self.service_id):
            if not self._owner_gone(worker):
                continue
            LOG.warning(
                "%s %s was interrupted when its %s process stopped: cleaning up",
                worker.resource_type,
                worker.resource_id,
                self.host,
            )
            self._do_cleanup(ctxt, worker)
            db.worker_delete(worker.id)

    def _owner_gone(self, worker: models.Worker) -> bool:
        alive = utils.process_alive(worker.owner)
        if alive is None:
            # Another machine's process: gone once it stopped renewing its lease.
            last = worker.updated_at or worker.created_at
            return (utils.utcnow() - last).total_seconds() > CONF.service_down_time
        return not alive

    def _do_cleanup(self, ctxt: context.RequestContext, worker: models.Worker) -> None:
        """Put one interrupted resource in a clear state; each manager knows how."""

    def _fail(self, resource_type: str, resource_id: str, reason: str) -> None:
        """Put one resource whose request failed in a clear state; each manager knows how."""

    def take(self, resource_type: str, resource_id: str) -> None:
        """Record that this process took a request (a ``workers`` row); mirrors set_workers."""
        if not self.uses_workers():
            return
        db.worker_create(
            {
                "resource_type": resource_type,
                "resource_id": resource_id,
                "status": "creating",
                "service_id": self.service_id,
                "owner": utils.process_token(),
            }
        )

    def release(self, resource_id: str) -> None:
        """The request for ``resource_id`` is finished or handed on: forget its rows."""
        if self.uses_workers():
            db.worker_delete_for(self.service_id, resource_id)

    @contextmanager
    def working_on(self, resource_type: str, resource_id: str) -> Iterator[None]:
        """Record this request in ``workers`` while it runs; mirrors Cinder's set_workers.

        Kilo, and today's backup manager, keep no such row: only the failure handling remains.

        Not removed if the process dies, which is the point: the next start
        finds it. Requests still waiting in the queue have no row and are left
        alone, so a restart does not fail work that was merely queued. Any
        exception ends the resource in a clear state (``_fail``) before the row goes;
        if even that fails (a lost database), the row stays for the cleanup.
        """
        self.take(resource_type, resource_id)
        try:
            yield
        except Exception as e:
            self.fail_on(resource_type, resource_id, e)
            raise
        self.release(resource_id)

    def fail_on(self, resource_type: str, resource_id: str, error: BaseException) -> None:
        """End a resource whose request raised ``error``, then forget the request."""
        text = utils.one_line(error)
        if not isinstance(error, exception.CinderLabException):
            text = f"{type(error).__name__}: {text}"
        self._fail(resource_type, resource_id, short_reason(text))
        self.release(resource_id)

    def init_host_with_rpc(self) -> None:
        """Runs once the RPC server consumes its queues."""

    def periodic_tasks(self, ctxt: context.RequestContext) -> None:
        """Runs every ``periodic_interval`` seconds: end requests whose owner is gone."""
        self.clean_workers()

    def fake_work(self, method: str) -> None:
        """Lab only: pretend ``method`` takes ``fake_work_seconds`` (a driver's real work)."""
        seconds = self._fake_work.get(method, 0.0)
        if seconds:
            time.sleep(seconds)
