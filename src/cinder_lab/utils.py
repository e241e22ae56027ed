"""Small helpers; mirrors the parts of cinder/utils.py the routing needs."""

from __future__ import annotations

import datetime
import functools
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable

from cinder_lab import clock
from cinder_lab.common.config import CONF

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/]*):[^@/]*@", re.I)


def utcnow() -> datetime.datetime:
    """Naive UTC now, the form the services table stores; the lab's clock (``clock``)."""
    return clock.utcnow()


def service_is_up(service: object) -> bool:
    """True while the last heartbeat is no older than ``service_down_time``.

    Mirrors cinder.utils.service_is_up.
    """
    last = service.updated_at or service.created_at  # type: ignore[attr-defined]
    if last is None:
        return False
    elapsed = (utcnow() - last).total_seconds()
    return abs(elapsed) <= CONF.service_down_time


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces: count fields after its ')'.
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "?"


@functools.cache
def process_token() -> str:
    """Who this process is, unique across restarts: ``hostname|pid namespace|pid|start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}|{_pid_namespace()}|{pid}|{_start_time(pid)}"


def process_alive(token: str | None) -> bool | None:
    """Is the process of ``token`` still running? None when this machine cannot tell."""
    try:
        host, pidns, pid, start = (token or "").split("|")
    except ValueError:
        return False  # no owner recorded (an older lab's row): nobody will finish it
    if (host, pidns) != (socket.gethostname(), _pid_namespace()):
        return None
    return _start_time(int(pid)) == start


def service_state(service: object) -> str:
    """The State column of ``service-list``: ``up`` or ``down``."""
    return "up" if service_is_up(service) else "down"


def service_status(service: object) -> str:
    """The Status column of ``service-list``: ``enabled`` or ``disabled``."""
    return "disabled" if service.disabled else "enabled"  # type: ignore[attr-defined]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it holds (True) or ``timeout`` seconds pass (False).

    The lab's one wait: callers say what they waited for when it returns False.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def stop_event(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> threading.Event:
    """An event set by SIGTERM, SIGINT or SIGHUP; install before start-up so none is missed."""
    event = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        event.set()

    for signum in signals:
        signal.signal(signum, handler)
    return event


def ignore_stop_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
    """Once stopping, a second signal must not kill the interpreter mid-shutdown."""
    for signum in signals:
        signal.signal(signum, signal.SIG_IGN)


def mask_url(url: str | None) -> str:
    """Hide the password in every ``scheme://user:password@host`` of a URL."""
    if not url:
        return str(url)
    # oslo transport URLs may list several hosts: rabbit://u:p@h1,u:p@h2/
    masked = _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", url)
    return re.sub(r"(,[^:@/,]*):[^@/,]*@", r"\1:***@", masked)
