"""The lab's clock: what "now" is for heartbeats and ``service_is_up``.

Lab-only. Cinder reads ``timeutils.utcnow()`` from oslo.utils, whose
``set_time_override``/``advance_time_delta`` its unit tests use to make a
service look dead without waiting. The lab does the same with its own small
clock, because importing ``oslo_utils.timeutils`` costs the client about 50 ms
of start-up and the lab needs only an offset: real UTC time plus the seconds a
single-process run (``make demo``) skipped. Processes on a real broker never
take control, so their clocks stay real and agree with each other.
"""

from __future__ import annotations

import datetime
import sys
import threading
import time

_LOCK = threading.Lock()
_offset = datetime.timedelta()
_controlled = False
_held = 0  # waits holding on now because a debugger is stopped (the tests read it)

# Where a thread sits while a debugger holds it: pdb (bdb) at its prompt, pydevd
# (debugpy, VS Code) suspended. Matched on the file's name and the function's.
DEBUGGER_STOPS = {("pdb.py", "interaction"), ("pydevd.py", "do_wait_suspend")}
DEBUGGERS = ("bdb", "pydevd")  # modules one of which is loaded when a debugger can stop
POLL = 0.1  # seconds between two looks while a debugger holds a wait


def utcnow() -> datetime.datetime:
    """Naive UTC now, plus whatever the lab skipped (nothing unless it took control)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return now + _offset


def take_control() -> None:
    """From now on this process may skip time (single-process runs only)."""
    global _controlled
    _controlled = True


def controlled() -> bool:
    """True once ``take_control()`` ran and until ``release()``."""
    return _controlled


def advance(seconds: float) -> None:
    """Move this process's clock ``seconds`` forward; RuntimeError unless it took control."""
    global _offset
    hold_while_debugging()  # the learner is at a breakpoint: no time passes for the lab
    if not _controlled:
        raise RuntimeError("the lab clock moves only in a single-process run (take_control)")
    if seconds < 0:
        raise ValueError(f"the clock does not go back ({seconds} s)")
    with _LOCK:
        _offset += datetime.timedelta(seconds=seconds)


def release() -> None:
    """Back to real time."""
    global _offset, _controlled
    with _LOCK:
        _offset = datetime.timedelta()
        _controlled = False


_held = 0  # waits holding on now because a debugger is stopped (the tests read it)

# Where a thread sits while a debugger holds it: pdb (bdb) at its prompt, pydevd
# (debugpy, VS Code) suspended. Matched on the file's name and the function's.
DEBUGGER_STOPS = {("pdb.py", "interaction"), ("pydevd.py", "do_wait_suspend")}
DEBUGGERS = ("bdb", "pydevd")  # modules one of which is loaded when a debugger can stop
POLL = 0.1  # seconds between two looks while a debugger holds a wait


def debugger_loaded() -> bool:
    """True when a debugger that can stop a thread is loaded in this process."""
    return any(name in sys.modules for name in DEBUGGERS)


def suspends_all_threads() -> bool:
    """True under debugpy (pydevd), which stops every thread at a breakpoint; pdb stops one."""
    return "pydevd" in sys.modules


def stopped_in_debugger() -> str | None:
    """The name of another thread stopped at a debugger's prompt now, else None."""
    if not debugger_loaded():
        return None
    me = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():  # noqa: SLF001 - the one way to look
        if ident == me:
            continue
        while frame is not None:
            code = frame.f_code
            if (code.co_filename.rsplit("/", 1)[-1], code.co_name) in DEBUGGER_STOPS:
                return names.get(ident, str(ident))
            frame = frame.f_back
    return None


def hold_while_debugging() -> float:
    """Wait while another thread is stopped in a debugger; the seconds it took (0 if none)."""
    global _held
    if stopped_in_debugger() is None:
        return 0.0
    start = time.monotonic()
    with _LOCK:
        _held += 1
    try:
        while stopped_in_debugger() is not None:
            time.sleep(POLL)
    finally:
        with _LOCK:
            _held -= 1
    return time.monotonic() - start


def held() -> int:
    """How many waits are holding on now because a debugger is stopped."""
    return _held
