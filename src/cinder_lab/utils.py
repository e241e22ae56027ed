"""Small helpers; mirrors the parts of cinder/utils.py the routing needs."""

from __future__ import annotations

import datetime
import re

from cinder_lab.common.config import CONF

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/]*):[^@/]*@", re.I)


def utcnow() -> datetime.datetime:
    """Naive UTC now, the form the services table stores."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def service_is_up(service: object) -> bool:
    """True while the last heartbeat is no older than ``service_down_time``.

    Mirrors cinder.utils.service_is_up.
    """
    last = service.updated_at or service.created_at  # type: ignore[attr-defined]
    if last is None:
        return False
    elapsed = (utcnow() - last).total_seconds()
    return abs(elapsed) <= CONF.service_down_time


def mask_url(url: str | None) -> str:
    """Hide the password in every ``scheme://user:password@host`` of a URL."""
    if not url:
        return str(url)
    # oslo transport URLs may list several hosts: rabbit://u:p@h1,u:p@h2/
    masked = _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", url)
    return re.sub(r"(,[^:@/,]*):[^@/,]*@", r"\1:***@", masked)
