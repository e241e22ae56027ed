"""Microversions of the v3 API; mirrors cinder/api/openstack/api_version_request.py.

A request names its version in ``OpenStack-API-Version: volume 3.N``; without
the header it gets the minimum, 3.0. The lab serves 3.0 to ``MAX_VERSION``: the
fields of the few microversions up to there that touch its resources are
mirrored (3.7 ``cluster`` in services, 3.13 ``group_id``, 3.21 ``provider_id``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

HEADER = "OpenStack-API-Version"
SERVICE = "volume"
MIN_VERSION = "3.0"
# python-cinderclient negotiates min(its max, ours): both clients work at 3.0..3.40.
MAX_VERSION = "3.40"
UPDATED = "2017-09-19T20:18:00Z"  # when Cinder's 3.40 (Pike) was the newest

CLUSTER_SUPPORT = "3.7"
GROUP_VOLUME = "3.13"
VOLUME_DETAIL_PROVIDER_ID = "3.21"

# Cinder's pattern, with the digits bounded: int() of thousands of digits raises ValueError.
_FORMAT = re.compile(r"^([1-9]\d{0,8})\.([1-9]\d{0,8}|0)$")


class APIVersion(NamedTuple):
    """A ``major.minor`` microversion, ordered as numbers."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def matches(self, minimum: str) -> bool:
        """True when this request's version is ``minimum`` or newer."""
        return self >= parse(minimum)


class InvalidVersionString(ValueError):
    """Cinder's InvalidAPIVersionString: HTTP 400."""


class UnsupportedVersion(ValueError):
    """Cinder's InvalidGlobalAPIVersion: HTTP 406."""


class NoVolumeVersion(ValueError):
    """The header names no ``volume`` version (Cinder's VersionNotFoundForAPIMethod): HTTP 400."""


def parse(text: str) -> APIVersion:
    """``'3.27'`` -> APIVersion(3, 27), or InvalidVersionString."""
    match = _FORMAT.match(text)
    if not match:
        raise InvalidVersionString(
            f"API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
        )
    return APIVersion(int(match.group(1)), int(match.group(2)))


def from_header(value: str | None) -> APIVersion:
    """The version a request asked for; mirrors Request.set_api_version_request."""
    if value is None:
        return parse(MIN_VERSION)
    requested = None
    for part in value.split(","):
        words = part.split()
        if len(words) == 2 and words[0].lower() == SERVICE:
            requested = words[1]
            break
    if requested is None:
        raise NoVolumeVersion(value)
    if requested == "latest":
        return parse(MAX_VERSION)
    version = parse(requested)
    if not parse(MIN_VERSION) <= version <= parse(MAX_VERSION):
        raise UnsupportedVersion(
            f"Version {version} is not supported by the API. "
            f"Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}."
        )
    return version
