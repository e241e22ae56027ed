"""cinder-lab-api over HTTP, in process (Starlette's TestClient on kombu+memory://).

Bad input gets Cinder's status codes and bodies, never a 500 or a traceback,
and changes nothing in the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cinder_lab.api import microversions
from cinder_lab.api.router import create_app
from cinder_lab.db import api as db
from tests.procs import wait_status

TOKEN = {"X-Auth-Token": "alice:p1"}
V = "/v3/p1"


@pytest.fixture
def client(lab) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def snapshot() -> tuple:
    """Every row a request could change."""
    return (
        [(v.id, v.status, v.host) for v in db.volume_get_all()],
        [(b.id, b.status) for b in db.backup_get_all()],
        [(s.host, s.binary, s.disabled, s.disabled_reason) for s in db.service_get_all()],
    )


def create(client: TestClient) -> dict:
    r = client.post(f"{V}/volumes", headers=TOKEN, json={"volume": {"size": 1, "name": "v"}})
    assert r.status_code == 202, r.text
    volume = r.json()["volume"]
    assert wait_status(db.volume_get, volume["id"]).status == "available"
    return volume


def test_versions_document(client):
    root = client.get("/")
    assert root.status_code == 300
    (version,) = root.json()["versions"]
    assert (version["id"], version["min_version"], version["version"]) == (
        "v3.0",
        "3.0",
        microversions.MAX_VERSION,
    )
    assert client.get("/v3/").json() == root.json()


def test_create_show_and_the_host_attribute(client):
    volume = create(client)
    r = client.get(f"{V}/volumes/{volume['id']}", headers=TOKEN)
    assert r.status_code == 200
    assert r.json()["volume"]["os-vol-host-attr:host"] == "maqi-kilo@ceph#ceph"
    assert r.json()["volume"]["name"] == "v"
    assert r.headers["OpenStack-API-Version"] == "volume 3.0"
    assert r.headers["x-openstack-request-id"].startswith("req-")
    # Without the project in the path, as today's Cinder also routes.
    listed = client.get("/v3/volumes/detail", headers=TOKEN).json()["volumes"]
    assert [v["id"] for v in listed] == [volume["id"]]


def test_backup_create_list_show(client):
    volume = create(client)
    r = client.post(f"{V}/backups", headers=TOKEN, json={"backup": {"volume_id": volume["id"]}})
    assert r.status_code == 202, r.text
    backup_id = r.json()["backup"]["id"]
    assert wait_status(db.backup_get, backup_id).status == "available"
    shown = client.get(f"{V}/backups/{backup_id}", headers=TOKEN).json()["backup"]
    assert (shown["status"], shown["volume_id"], shown["size"]) == ("available", volume["id"], 1)
    assert [b["id"] for b in client.get(f"{V}/backups", headers=TOKEN).json()["backups"]] == [
        backup_id
    ]


def test_kilo_service_not_found_is_cinders_500(client):
    """Kilo's backups controller raised HTTPInternalServerError for ServiceNotFound."""
    volume = create(client)
    body = {"host": "maqi-kilo", "binary": "cinder-backup"}
    assert client.put(f"{V}/os-services/disable", headers=TOKEN, json=body).status_code == 200
    before = snapshot()
    r = client.post(f"{V}/backups", headers=TOKEN, json={"backup": {"volume_id": volume["id"]}})
    assert r.status_code == 500
    assert r.json() == {
        "computeFault": {"code": 500, "message": "Service cinder-backup could not be found."}
    }
    assert snapshot() == before


def test_services_list_enable_disable(client):
    services = client.get(f"{V}/os-services", headers=TOKEN).json()["services"]
    assert {(s["binary"], s["host"], s["state"]) for s in services} == {
        ("cinder-volume", "maqi-kilo@ceph", "up"),
        ("cinder-backup", "maqi-kilo", "up"),
        ("cinder-scheduler", "maqi-kilo", "up"),
    }
    body = {"host": "maqi-kilo", "binary": "cinder-scheduler", "disabled_reason": "lab"}
    r = client.put(f"{V}/os-services/disable-log-reason", headers=TOKEN, json=body)
    assert r.json()["status"] == "disabled"
    assert db.service_get_by_args("maqi-kilo", "cinder-scheduler").disabled_reason == "lab"
    r = client.put(f"{V}/os-services/enable", headers=TOKEN, json=body)
    assert (r.status_code, db.service_get_by_args("maqi-kilo", "cinder-scheduler").disabled) == (
        200,
        False,
    )


def test_get_pools_is_a_call_to_the_scheduler(client):
    r = client.get(f"{V}/scheduler-stats/get_pools?detail=true", headers=TOKEN)
    (pool,) = r.json()["pools"]
    assert pool["name"] == "maqi-kilo@ceph#ceph"
    assert pool["capabilities"]["volume_backend_name"] == "ceph"
    r = client.get(f"{V}/scheduler-stats/get_pools?detail=maybe", headers=TOKEN)
    assert r.status_code == 400


def bad(field: object) -> str:
    return f"Invalid input for field/attribute size. Value: {field}."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Malformed request body"),
        (b"\xff\xfe", "Malformed request body"),
        (b"[]", "[] is not of type 'object'"),
        (b"{}", "'volume' is a required property"),
        (b'{"volume": 1}', "Invalid input for field/attribute volume. Value: 1. 1 is not of type"),
        (b'{"volume": {"size": "abc"}}', bad("abc") + " 'abc' does not match '^[0-9]+$'"),
        (b'{"volume": {"size": [1]}}', bad([1]) + " [1] is not of type 'integer', 'string'"),
        (b'{"volume": {"size": true}}', bad(True) + " True is not of type"),
        (b'{"volume": {"size": 1.5}}', bad(1.5) + " 1.5 is not of type"),
        # Python's parser (and so Cinder's) takes NaN; the lab refuses it as not JSON.
        (b'{"volume": {"size": NaN}}', "Malformed request body"),
        (b'{"volume": {"size": 0}}', bad(0) + " 0 is less than the minimum of 1"),
        (b'{"volume": {"size": 2147483648}}', bad(2147483648) + " 2147483648 is greater than"),
        (b'{"volume": {}}', "Invalid input received: Size of volume must be given."),
        (b'{"volume": {"size": 1, "name": 5}}', "Invalid input for field/attribute name."),
    ],
)
def test_bad_volume_bodies_are_cinders_400(client, body, message):
    before = snapshot()
    r = client.post(f"{V}/volumes", headers=TOKEN, content=body)
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"].startswith(message)
    assert r.json()["badRequest"]["code"] == 400
    assert snapshot() == before


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_is_webobs_413(client, chunked):
    before = snapshot()
    body = b'{"volume": {"size": 1, "name": "' + b"x" * 114688 + b'"}}'
    content = iter([body[:1000], body[1000:]]) if chunked else body
    r = client.post(f"{V}/volumes", headers=TOKEN, content=content)
    assert r.status_code == 413
    limit = "114688." if chunked else "max_request_body_size (114688)."
    assert r.json()["message"].startswith(f"Request is too large. Larger than {limit}")
    assert r.json()["code"] == "413 Request Entity Too Large"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("header", "status", "fault", "message"),
    [
        ("volume 3.41", 406, "computeFault", "Version 3.41 is not supported by the API. "),
        ("volume 2.0", 406, "computeFault", "Version 2.0 is not supported by the API. "),
        ("volume 3.x", 400, "badRequest", "API Version String 3.x is of invalid format."),
        ("compute 2.1", 400, "badRequest", "The server could not comply"),
    ],
)
def test_unsupported_microversions(client, header, status, fault, message):
    before = snapshot()
    headers = {**TOKEN, "OpenStack-API-Version": header}
    r = client.post(f"{V}/volumes", headers=headers, json={"volume": {"size": 1}})
    assert r.status_code == status
    assert r.json()[fault]["message"].startswith(message)
    assert snapshot() == before


def test_supported_microversions_are_echoed(client):
    for asked, answered in (("volume 3.27", "3.27"), ("volume latest", microversions.MAX_VERSION)):
        r = client.get(f"{V}/os-services", headers={**TOKEN, "OpenStack-API-Version": asked})
        assert r.headers["OpenStack-API-Version"] == f"volume {answered}"
        assert "cluster" in r.json()["services"][0]  # microversion 3.7


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("GET", "/volumes/nope", None, "Volume nope could not be found."),
        ("GET", "/backups/nope", None, "Backup nope could not be found."),
        ("POST", "/backups", {"backup": {"volume_id": "nope"}}, "Volume nope could not be found."),
        (
            "PUT",
            "/os-services/disable",
            {"host": "nohost", "binary": "cinder-backup"},
            "Could not find binary cinder-backup on host nohost.",
        ),
    ],
)
def test_unknown_ids_are_cinders_404(client, method, path, body, message):
    before = snapshot()
    r = client.request(method, V + path, headers=TOKEN, json=body)
    assert (r.status_code, r.json()) == (404, {"itemNotFound": {"code": 404, "message": message}})
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/os-services/disable", {"host": "maqi-kilo"}),
        ("PUT", "/os-services/disable", [1]),
        ("PUT", "/os-services/disable", {"host": 1, "binary": "cinder-backup"}),
        ("POST", "/backups", {"backup": {"volume_id": 7}}),
        ("POST", "/backups", {"backup": {}}),
        ("POST", "/backups", {"nothing": {}}),
    ],
)
def test_bad_bodies_elsewhere_are_400(client, method, path, body):
    before = snapshot()
    r = client.request(method, V + path, headers=TOKEN, json=body)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"badRequest"}
    assert snapshot() == before


def test_paths_and_auth(client):
    # An unknown path or method: the router's (webob's) 404.
    for method, path in (("GET", f"{V}/nothing"), ("DELETE", f"{V}/volumes")):
        r = client.request(method, path, headers=TOKEN)
        assert (r.status_code, r.json()["title"]) == (404, "Not Found")
    # A project in the path other than the token's.
    r = client.get("/v3/other/volumes", headers=TOKEN)
    assert r.json() == {"badRequest": {"code": 400, "message": "Malformed request url"}}
    # No token: noauth's handshake hands one out.
    r = client.get(f"{V}/volumes", headers={"X-Auth-Project-Id": "p1"})
    assert (r.status_code, r.headers["X-Auth-Token"]) == (204, "admin:p1")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/volumes", "/backups", "/os-services/disable"]),
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "volume": st.dictionaries(
                    st.sampled_from(["size", "name", "volume_type"]), json_values
                )
            }
        ),
        st.fixed_dictionaries({"backup": st.dictionaries(st.just("volume_id"), json_values)}),
    ),
)
def test_any_json_body_is_answered_without_a_500(client, path, body):
    method = "PUT" if path.startswith("/os-services") else "POST"
    r = client.request(method, V + path, headers=TOKEN, json=body)
    assert r.status_code in (202, 400, 404), (body, r.text)
    if r.status_code != 202:
        (fault,) = r.json()
        assert r.json()[fault]["code"] == r.status_code
