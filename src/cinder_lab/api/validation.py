"""The one check every request passes before a controller runs; mirrors cinder/api/validation.

Cinder validates each body against a jsonschema after its deserializer
(``wsgi.JSONDeserializer``, oslo.serialization's ``jsonutils.loads``) and
answers 400 with its fault body. What the schemas cannot see reached Cinder's
code as Python values, and here it would have reached the lab's as a 500: a lone
surrogate (``"\\ud800"``, legal JSON, not encodable text), a number of more
digits than Python converts, a body nested deeper than the parser's recursion,
``NaN``/``Infinity``/``1e999`` (not JSON under RFC 8259, yet accepted by
Python's parser), duplicate keys, a header or query value no client sends. All
of it is refused here, in one place, with Cinder's 400 ``Malformed request
body`` (or ``Malformed request url`` for the URL and headers); a Content-Type
Cinder does not take gets its 415 ``Unsupported Content-Type``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from cinder_lab.api import errors

# cinder/api/openstack/wsgi.py SUPPORTED_CONTENT_TYPES
SUPPORTED_CONTENT_TYPES = ("application/json", "application/vnd.openstack.volume+json")
# Cinder's bodies are three levels deep at most ({"volume": {"metadata": {...}}}).
MAX_DEPTH = 16
# A JSON integer the lab reads is at most DB_MAX_INT (10 digits); 20 leaves room to say so.
MAX_INT_DIGITS = 20
# The longest header value the API reads: Cinder's ids and names are String(255).
MAX_TEXT = 255
# The request headers the API reads; every other one is passed over, as Cinder does.
READ_HEADERS = (
    "X-Auth-Token",
    "X-Auth-User",
    "X-Auth-Project-Id",
    "OpenStack-API-Version",
    "Content-Type",
    "Content-Length",
)

MALFORMED_BODY = "Malformed request body"
MALFORMED_URL = "Malformed request url"


class _Refused(ValueError):
    """A value the body may not hold; the parser's ValueError path turns it into a 400."""


def _no_constant(name: str) -> object:
    raise _Refused(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise _Refused(f"{text} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused("integer too long")
    return int(text)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _v in pairs]
    if len(set(keys)) != len(keys):
        raise _Refused("duplicate key")
    return dict(pairs)


def printable(text: str) -> bool:
    """Encodable text without control characters (a lone surrogate is not encodable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return text.isprintable()


def _check_tree(value: object) -> None:
    """Depth and text of a parsed body, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused("nested too deeply")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refused("lone surrogate") from None
        elif isinstance(item, dict):
            stack += [(k, depth + 1) for k in item]
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


def body(raw: bytes, content_type: str | None, action: bool = False) -> object:
    """The request's JSON body (None when empty), or the Fault Cinder answers.

    On ``.../action`` Cinder's ``action_peek`` reads the body before any schema,
    and its answer to a body that is not one object is ``Malformed request body``.
    """
    if not raw:
        return None
    # The lab reads a body sent without Content-Type (Cinder ignores it, then answers 400).
    if content_type is not None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in SUPPORTED_CONTENT_TYPES:
            raise errors.Fault(415, "Unsupported Content-Type")
    try:
        parsed = json.loads(
            raw,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_unique_keys,
        )
        _check_tree(parsed)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.Fault(400, MALFORMED_BODY) from None
    if not isinstance(parsed, dict):
        raise errors.Fault(400, MALFORMED_BODY if action else f"{parsed!r} is not of type 'object'")
    return parsed


def headers(values: Mapping[str, str]) -> None:
    """Every header the API reads: short printable ASCII, as any client sends it."""
    for name in READ_HEADERS:
        value = values.get(name)
        if value is not None and not (
            len(value) <= MAX_TEXT and value.isascii() and value.isprintable()
        ):
            raise errors.Fault(400, f"Malformed request header {name}")


def url_parts(path_params: Mapping[str, str], query: Mapping[str, str]) -> None:
    """The path's ids and the query's names and values: printable text (no ``%00``)."""
    # Starlette's query is a multi-dict: every ?k=v counts, not only the last of a name.
    pairs = query.multi_items() if hasattr(query, "multi_items") else list(query.items())
    for value in [*path_params.values(), *(text for pair in pairs for text in pair)]:
        if not printable(value):
            raise errors.Fault(400, MALFORMED_URL)
