"""Run services until a stop signal: one in this process, or one forked child each.

Mirrors oslo.service's ServiceLauncher and ProcessLauncher as cinder/cmd/*
use them; the lab's own parts are a prompt stop (under a second) and children
that never outlive their parent.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from oslo_config import cfg
from sqlalchemy.exc import SQLAlchemyError

from cinder_lab import exception, prefork, rpc, utils
from cinder_lab.common.config import CONF
from cinder_lab.service import Service

LOG = logging.getLogger(__name__)


# oslo.messaging reads its stop flag only between two waits on the socket, each
# heartbeat_timeout_threshold / heartbeat_rate / 2 seconds long (10 s by default;
# the server listener caps it at 5 s): a backup service, with a server and a reply
# queue, took 9 s to stop. 60 / 120 / 2 = 0.25 s per wait; the cost is an 8-byte
# heartbeat frame per idle connection every 0.5 s. A value in a config file wins.
STOP_HEARTBEAT_RATE = 120


def prompt_stop_defaults(conf: cfg.ConfigOpts) -> None:
    """Make a stopping server notice the stop within a quarter second (see above).

    Call after ``rpc.init`` and before any server starts: each connection reads
    the rate when it is made. Other drivers (``fake://``) have no such option.
    """
    rpc.prompt_worker_stop()
    try:
        conf.set_default("heartbeat_rate", STOP_HEARTBEAT_RATE, group="oslo_messaging_rabbit")
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        pass


def serve(make_service: Callable[[], Service]) -> int:
    """Run one service in this process until SIGTERM, SIGINT or SIGHUP; 0, or 1 if
    it had to stop on its own (its SQLite file was deleted).

    The transport is created here, after any fork; mirrors oslo.service's
    ServiceLauncher as Cinder uses it.
    """
    stop = utils.stop_event()
    rpc.init(CONF)
    prompt_stop_defaults(CONF)  # after init: the driver registers the option
    service = make_service()
    try:
        service.start()
        # A timed wait lets the handler run promptly, and looks at the database file.
        while not stop.wait(0.5) and not service.database_lost():
            pass
        utils.ignore_stop_signals()
    finally:
        # A safety net: a stop that hangs inside the messaging library must still end
        # the process (with one line saying so), never leave it half alive.
        stopped = threading.Event()
        utils.spawn(_stop_watchdog, "stop-watchdog", service, stopped)
        service.stop()
        rpc.cleanup()
        stopped.set()
    return 1 if service.lost else 0


STOP_GRACE = 20.0  # seconds a stop may take before the process exits regardless


def _stop_watchdog(service: Service, stopped: threading.Event) -> None:
    if stopped.wait(STOP_GRACE):
        return
    LOG.warning("%s: stopping took over %g s; exiting now", service, STOP_GRACE)
    logging.shutdown()
    os._exit(1 if service.lost else 0)


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
        # Never hand a pooled DB connection to a child; share what every child would build.
        prefork.before_fork()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for signum in utils.STOP_SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                utils.die_with_parent(parent)  # no orphan if the launcher is killed
                code = serve(make_service)
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
