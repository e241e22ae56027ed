"""Passwords out of every URL the lab shows: the one masking rule, in one place.

Config values, error lines, log lines (``cmd/common.MaskSecrets``), the trace,
the topology and the web view all go through ``mask_url``.
"""

from __future__ import annotations

import re

__all__ = ["mask_url"]


def mask_url(text: object) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it hidden.

    The lab's one masking rule, for config values, errors and log lines alike. It
    reads the credentials as the parsers do: oslo.messaging (urllib) takes the
    authority up to the first ``/`` and the host after its *last* ``@``, so
    ``rabbit://u:Zq9Se@cretPw@host/`` is user ``u`` on ``host``; a password with a
    ``/`` (which SQLAlchemy's ``make_url`` accepts, and urllib cuts) runs to the
    ``@`` after it. oslo's hosts after a comma are masked one by one. Where the
    parsers would disagree it hides more, never less.
    """
    if not text:
        return str(text)
    return _URL_TOKEN.sub(_mask_token, str(text))


_URL_TOKEN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<rest>[^\s'\"<>]*)", re.I)
_OSLO_HOST = re.compile(r"(?P<userinfo>[^@,]*)@(?P<host>[^@,/:]*(?::\d*)?)")


def _credentials_end(rest: str) -> int:
    """Where the credentials of a URL (after ``scheme://``) end: its ``@``, or -1."""
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    userinfo_port = authority.rsplit("@", 1)[0].partition(":")[2]
    if "@" in authority or (userinfo_port and not userinfo_port.isdigit()):
        # A user:password: it runs to the token's last '@' (hiding more, never less).
        return rest.rfind("@")
    first_at = rest.find("@")
    if first_at < 0 or ":" not in authority:
        return -1
    # host:port/path@x (a queue name in a management URL) has a path of its own first;
    # user:1234/5@host is a password of digits and '/'.
    if "/" in rest[slash + 1 : first_at]:
        return -1
    next_slash = rest.find("/", first_at)
    return rest.rfind("@", 0, len(rest) if next_slash < 0 else next_slash)


def _mask_userinfo(userinfo: str) -> str:
    user, sep, _password = userinfo.partition(":")
    return f"{user}:***" if sep else user


def _mask_token(match: re.Match) -> str:
    rest = match["rest"]
    end = _credentials_end(rest)
    if end < 0:
        return match.group(0)
    region = rest[:end]
    *hosts, last = region.split(",")
    parsed = [_OSLO_HOST.fullmatch(h) for h in hosts]
    same_shape = len({":" in p for p in [*hosts, last]}) == 1
    if hosts and all(parsed) and same_shape:
        masked = [f"{_mask_userinfo(m['userinfo'])}@{m['host']}" for m in parsed]
        region = ",".join([*masked, _mask_userinfo(last)])
    else:
        region = _mask_userinfo(region)
    return match["scheme"] + region + rest[end:]
