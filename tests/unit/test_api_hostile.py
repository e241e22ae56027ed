"""Hostile requests against every route of cinder-lab-api: never a 5xx, never a traceback.

Every body, header and URL part the API reads passes one validation
(``cinder_lab.api.validation``); what it refuses is Cinder's 400 (415 for a
Content-Type Cinder does not take) with Cinder's fault body, and changes nothing.
Both releases, on SQLite and on the local MariaDB.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cinder_lab.api.router import create_app
from cinder_lab.common.config import CONF
from cinder_lab.lab import Lab
from tests.unit.test_api_http import TOKEN, V, snapshot


@pytest.fixture(
    params=[("kilo", "sqlite"), ("current", "sqlite"), ("kilo", "mariadb"), ("current", "mariadb")],
    ids="-".join,
)
def lab_database_url(request, tmp_path):
    """SQLite in tmp_path, or an own database on the local MariaDB (see tests/conftest.py)."""
    release, backend = request.param
    CONF.set_override("lab_release", release)
    request.addfinalizer(lambda: CONF.clear_override("lab_release"))
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/lab.sqlite"
    return request.getfixturevalue("mariadb").url


@pytest.fixture
def client(memory_conf, lab_database_url) -> Iterator[TestClient]:
    CONF.set_override("lab_release", CONF.lab_release)  # memory_conf parsed the file again
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1), "the scheduler never learned the ceph pool"
    try:
        with TestClient(create_app()) as c:
            yield c
    finally:
        lab.close()


ROUTES = [
    ("GET", "/volumes"),
    ("GET", "/volumes/detail"),
    ("GET", "/volumes/{id}"),
    ("POST", "/volumes"),
    ("GET", "/backups"),
    ("GET", "/backups/detail"),
    ("GET", "/backups/{id}"),
    ("POST", "/backups"),
    ("GET", "/os-services"),
    ("PUT", "/os-services/disable"),
    ("PUT", "/os-services/disable-log-reason"),
    ("PUT", "/os-services/enable"),
    ("GET", "/scheduler-stats/get_pools"),
]
DEEP = b'{"volume": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
LONG = "9" * 5000


def untoward(records: list[logging.LogRecord]) -> list[str]:
    """A traceback anywhere, or an error line of the API (the services may refuse work)."""
    return [
        r.getMessage()
        for r in records
        if r.exc_info
        or (r.levelno >= logging.ERROR and r.name.startswith(("cinder_lab.api", "uvicorn")))
    ]


def is_cinders_fault(r, status: int) -> bool:
    (name,) = r.json()
    return r.status_code == status and r.json()[name]["code"] == status


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("POST", "/volumes", b'{"volume": {"size": 1, "name": "\\ud800"}}', {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": "\\udfff"}}', {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": 1, "\\ud800": 1}}', {}, 400),
        ("POST", "/backups", b'{"backup": {"volume_id": "\\ud800"}}', {}, 400),
        ("PUT", "/os-services/disable", b'{"host": "\\ud800", "binary": "b"}', {}, 400),
        ("POST", "/volumes", f'{{"volume": {{"size": "{LONG}"}}}}'.encode(), {}, 400),
        ("POST", "/volumes", f'{{"volume": {{"size": {LONG}}}}}'.encode(), {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": 1e999}}', {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": -Infinity}}', {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": 1, "x": NaN}}', {}, 400),
        ("PUT", "/os-services/disable", b'{"host": "h", "binary": "b", "service": NaN}', {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": 1}, "volume": {"size": 2}}', {}, 400),
        ("POST", "/volumes", DEEP, {}, 400),
        ("POST", "/volumes", b'"volume"', {}, 400),
        ("POST", "/volumes", b"null", {}, 400),
        ("POST", "/volumes", b"\x00", {}, 400),
        ("POST", "/volumes", b'{"volume": {"size": 1}}', {"Content-Type": "text/plain"}, 415),
        ("POST", "/volumes", b'{"volume": {"size": 1}}', {"Content-Type": "\x7f"}, 400),
        ("GET", "/volumes", None, {"OpenStack-API-Version": f"volume 3.{LONG}"}, 400),
        ("GET", "/volumes", None, {"OpenStack-API-Version": f"volume {LONG}.0"}, 400),
        ("GET", "/volumes", None, {"OpenStack-API-Version": "volume 3.0" + " " * 300}, 400),
        ("GET", "/volumes", None, {"X-Auth-Token": "a:" + "p" * 300}, 400),
        ("GET", "/volumes", None, {"X-Auth-Token": "a:p\x01"}, 400),
        ("GET", "/volumes", None, {"X-Auth-Token": "é:p".encode("latin-1")}, 400),
        ("GET", "/volumes/%00", None, {}, 400),
        ("GET", "/volumes/%ED%A0%80", None, {}, 404),
        ("GET", "/os-services?host=%00", None, {}, 400),
        ("GET", "/scheduler-stats/get_pools?detail=%ff", None, {}, 400),
    ],
)
def test_hostile_requests_are_cinders_400(client, caplog, method, path, body, headers, status):
    before = snapshot()
    token = {} if "X-Auth-Token" in headers else TOKEN
    with caplog.at_level(logging.INFO):
        r = client.request(method, V + path, content=body, headers={**token, **headers})
    assert is_cinders_fault(r, status), (r.status_code, r.text[:300])
    assert snapshot() == before
    assert not untoward(caplog.records)


def json_text(value: object) -> str:
    """JSON text of ``value``; a lone surrogate comes out as the escape ``\\ud800``."""
    return json.dumps(value)


texts = st.text(max_size=12) | st.sampled_from(["\ud800", "\x00", LONG, "é", "\U0001f600"])
# Written as JSON text: Python's parser takes these, RFC 8259 does not (or not as numbers).
numbers = st.sampled_from(["1e999", "NaN", "-Infinity", LONG, "-" + LONG, "1.5", "0", "1"])
leaves = numbers | st.one_of(st.none(), st.booleans(), st.integers(), texts).map(json_text)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """Bodies of the routes' shapes with hostile leaves, duplicate keys and odd nesting."""
    keys = st.sampled_from(["volume", "backup", "size", "name", "volume_id", "host", "binary"])
    fields = draw(st.lists(st.tuples(keys | texts, leaves), max_size=4))
    inner = "{" + ", ".join(f"{json_text(k)}: {v}" for k, v in fields) + "}"
    depth = draw(st.sampled_from([0, 1, 40]))
    inner = "[" * depth + inner + "]" * depth
    wrapper = draw(st.sampled_from(["volume", "backup", None]))
    return (inner if wrapper is None else f'{{"{wrapper}": {inner}}}').encode()


header_values = st.sampled_from(
    ["volume 3.0", "volume latest", f"volume 3.{LONG}", "volume 99999999999.1", "", " ", "x" * 300]
) | st.text(alphabet=st.characters(max_codepoint=255), max_size=20)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ROUTES),
    item=st.sampled_from(["nope", "%00", "%ED%A0%80", "x" * 300, "%F0%9F%98%80"]),
    query=st.sampled_from(["", "?detail=true", "?host=%00", "?binary=%ff", "?detail=" + LONG]),
    body=st.one_of(st.none(), json_bodies(), st.binary(max_size=40)),
    content_type=st.sampled_from([None, "application/json", "text/plain", "application/json;x"]),
    version=st.one_of(st.none(), header_values),
    token=st.one_of(st.just("alice:p1"), header_values),
)
def test_any_request_to_any_route_is_never_a_5xx(
    client, caplog, route, item, query, body, content_type, version, token
):
    method, path = route
    headers = {"X-Auth-Token": token.encode("latin-1")}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if version is not None:
        headers["OpenStack-API-Version"] = version.encode("latin-1")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        r = client.request(method, V + path.format(id=item) + query, content=body, headers=headers)
    assert r.status_code < 500 or r.status_code == 503, (r.status_code, r.text[:300])
    if r.status_code >= 400 and r.status_code not in (404, 413):
        (name,) = r.json()
        assert r.json()[name]["code"] == r.status_code
    assert not untoward(caplog.records)
