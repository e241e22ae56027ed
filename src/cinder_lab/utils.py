"""Small helpers; mirrors the parts of cinder/utils.py the routing needs."""

from __future__ import annotations

import datetime
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

from cinder_lab import clock
from cinder_lab.common.config import CONF
from cinder_lab.common.masking import mask_url

LOG = logging.getLogger(__name__)


def utcnow() -> datetime.datetime:
    """Naive UTC now, the form the services table stores; the lab's clock (``clock``)."""
    return clock.utcnow()


def service_is_up(service: object, at: datetime.datetime | None = None) -> bool:
    """True while the last heartbeat is no older than ``service_down_time``
    (judged now, or ``at`` a given moment).

    Mirrors cinder.utils.service_is_up (which always judges now).
    """
    last = service.updated_at or service.created_at
    if last is None:
        return False
    elapsed = ((at or utcnow()) - last).total_seconds()
    return abs(elapsed) <= CONF.service_down_time


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot), or None if gone.

    A zombie (killed, not yet reaped) counts as gone: it will never finish a request.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces: count fields after its ')'.
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "?"


_TOKENS: dict[int, str] = {}


def process_token() -> str:
    """Who this process is, unique across restarts: ``hostname|pid namespace|pid|start``.

    Kept per pid: a forked child (each cinder-volume backend) is a process of its own.
    """
    pid = os.getpid()
    if pid not in _TOKENS:
        _TOKENS[pid] = f"{socket.gethostname()}|{_pid_namespace()}|{pid}|{_start_time(pid)}"
    return _TOKENS[pid]


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
    return "disabled" if service.disabled else "enabled"


SUSPENDED = 1.0  # seconds a poll may overrun before a debugger is thought to have held it


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it holds (True) or ``timeout`` seconds pass (False).

    The lab's one wait: callers say what they waited for when it returns False.
    Time a debugger held the process does not count (``clock.hold_while_debugging``):
    while another thread is stopped at a breakpoint, or this one was suspended.
    """
    last = time.monotonic()
    deadline = last + timeout
    while True:
        if predicate():
            return True
        held = clock.hold_while_debugging()
        now = time.monotonic()
        gap = now - last - held - interval  # more than a poll: this thread was suspended
        if gap > SUSPENDED and clock.suspends_all_threads():
            held += gap  # (debugpy stops every thread at a breakpoint, this one too)
        deadline += held
        last = now
        if now >= deadline:
            return False
        time.sleep(interval)


THREAD_DIED = 70  # EX_SOFTWARE: the exit status of a process one of whose threads died


def spawn(target: Callable[..., object], name: str, *args: object) -> threading.Thread:
    """Start one of the lab's own threads (heartbeat, periodic tasks, watchdogs, tracers).

    The lab's one rule for them: a thread that dies of an error takes its process
    down, with one line, rather than leave it half alive (a service that consumes
    on while its row turns ``down``). Cinder's services run these as oslo.service
    timers, whose failures end the service too.
    """
    thread = threading.Thread(target=_run_or_die, args=(target, name, args), name=name, daemon=True)
    thread.start()
    return thread


def _run_or_die(target: Callable[..., object], name: str, args: tuple) -> None:
    try:
        target(*args)
    except BaseException as e:  # noqa: BLE001 - whatever ended the thread ends the process
        LOG.critical(
            "thread %s died: %s: %s; stopping the process", name, type(e).__name__, one_line(e)
        )
        logging.shutdown()
        os._exit(THREAD_DIED)


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


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> None:
    """Have the kernel send ``signum`` to this (forked) process when its parent dies.

    A forked backend whose launcher is killed (SIGKILL, a crash) would otherwise
    serve on as an orphan. Linux's ``prctl(PR_SET_PDEATHSIG)``; elsewhere a
    thread watching ``getppid()``. Mirrors nothing in Cinder: oslo.service's
    children watch a pipe from the parent for the same reason.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        spawn(_watch_parent, "watch-parent", parent_pid, signum)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signum)


def _watch_parent(parent_pid: int, signum: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os.kill(os.getpid(), signum)


def sqlite_file(url: str | None) -> str | None:
    """The absolute path of a file-backed SQLite URL; None for other databases.

    >>> sqlite_file("mysql+pymysql://root@127.0.0.1/lab") is None
    True
    >>> sqlite_file("sqlite://") is None
    True
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url or "")
    except Exception:  # not a URL at all: the engine reports it, not this check
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return os.path.abspath(database)


def file_identity(path: str) -> tuple[int, int] | None:
    """``(device, inode)`` of ``path``, or None when nothing is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def follow_debugger_into_threads() -> None:
    """Under ``python -m pdb``, make breakpoints hit in threads started from now on.

    pdb traces only the thread it runs in (``sys.settrace`` is per thread), so a
    ``b backup/manager.py:N`` set at the prompt never stops in a service thread.
    Handing pdb's trace function to ``threading.settrace`` makes every later
    thread (RPC server, executor workers, heartbeats) report to the same pdb.
    Nothing happens without pdb or without a breakpoint (no trace function then);
    debugpy and other debuggers follow threads themselves and are left alone.
    """
    import bdb
    import sys

    trace = sys.gettrace()
    if isinstance(getattr(trace, "__self__", None), bdb.Bdb) and threading.gettrace() is None:
        threading.settrace(trace)


MAX_ERROR = 300


def one_line(e: BaseException | str) -> str:
    """The first line of an error, password masked, printable, at most MAX_ERROR characters."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    # Bytes that were not UTF-8 on the command line arrive as surrogates: print them escaped.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > MAX_ERROR:
        text = text[:MAX_ERROR] + "..."
    return mask_url(text)
