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
import threading

_LOCK = threading.Lock()
_offset = datetime.timedelta()
_controlled = False


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
