"""``os-reset_status`` on volumes and backups over HTTP, in process (cinder-lab-api).

The operator's way out of a record stuck in a transient status: Cinder's
paths, bodies, 202 with no body, and its 400/404 for what it refuses, with
nothing changed then.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cinder_lab import rpc
from cinder_lab.api.router import create_app
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.lab import Lab

TOKEN = {"X-Auth-Token": "alice:p1"}
V = "/v3/p1"


@pytest.fixture
def client(lab) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def stuck_volume() -> str:
    """A volume as an API killed between its INSERT and its cast leaves it."""
    return db.volume_create({"size": 1, "status": "creating", "availability_zone": "nova"}).id


def stuck_backup(volume_id: str) -> str:
    """A backup whose cast went to a gone host; its volume as that release's API left it."""
    backing_up = {"status": "backing-up"}
    if not config.is_kilo():  # previous_status arrived in Liberty
        backing_up["previous_status"] = "available"
    db.volume_update(volume_id, backing_up)
    values = {"volume_id": volume_id, "status": "creating", "host": "gone-host"}
    return db.backup_create(values).id


def rows() -> tuple:
    return (
        [(v.id, v.status) for v in db.volume_get_all()],
        [(b.id, b.status) for b in db.backup_get_all()],
    )


def action(client: TestClient, kind: str, item_id: str, body: object) -> object:
    return client.post(f"{V}/{kind}/{item_id}/action", headers=TOKEN, json=body)


def test_a_stuck_volume_and_backup_are_reset(client, lab):
    """Kilo (the fixture's release) has no workers table: the reset writes the status only."""
    assert models.classes().Worker is None
    volume_id = stuck_volume()
    r = action(client, "volumes", volume_id, {"os-reset_status": {"status": "ERROR"}})
    assert (r.status_code, r.content) == (202, b"")
    assert db.volume_get(volume_id).status == "error"
    backup_id = stuck_backup(volume_id)
    r = action(client, "backups", backup_id, {"os-reset_status": {"status": "error"}})
    assert (r.status_code, r.content) == (202, b"")
    assert db.backup_get(backup_id).status == "error"
    # As in Cinder, the backup's reset leaves its volume alone: that is a second reset.
    assert db.volume_get(volume_id).status == "backing-up"
    r = action(client, "volumes", volume_id, {"os-reset_status": {"status": "available"}})
    assert r.status_code == 202
    assert db.volume_get(volume_id).status == "available"


@pytest.mark.parametrize(
    ("kind", "body", "code", "message"),
    [
        ("volumes", {"os-reset_status": {"status": "deleting"}}, 400,
         "Cannot reset-state to deleting"),
        ("volumes", {"os-reset_status": {"status": "in-use"}}, 400,
         "Cannot reset-state to in-use because volume does not have any attachments."),
        ("volumes", {"os-reset_status": {}}, 400,
         "Must specify 'status', 'attach_status' or 'migration_status' for update."),
        ("volumes", {"os-reset_status": {"status": "nope"}}, 400,
         "Invalid input for field/attribute status. Value: nope. 'nope' is not a "
         "'volume_status'"),
        ("volumes", {"os-reset_status": {"attach_status": "attaching"}}, 400,
         "Invalid input for field/attribute attach_status. Value: attaching. 'attaching' is "
         "not a 'volume_attach_status'"),
        ("volumes", {"os-reset_status": {"status": 1}}, 400,
         "Invalid input for field/attribute status. Value: 1. 1 is not of type 'string', "
         "'null'"),
        ("volumes", {"os-reset_status": {"state": "error"}}, 400,
         "Additional properties are not allowed ('state' was unexpected)"),
        ("volumes", {"os-reset_status": "error"}, 400,
         "Invalid input for field/attribute os-reset_status. Value: error. 'error' is not of "
         "type 'object'"),
        ("volumes", {"os-extend": {"new_size": 2}}, 400,
         "There is no such action: os-extend. Verify the request body and Content-Type "
         "header and try again."),
        ("volumes", {"a": 1, "b": 2}, 400, "Malformed request body"),
        ("volumes", [1], 400, "Malformed request body"),
        ("backups", {"os-reset_status": {"status": "creating"}}, 400,
         "Invalid input for field/attribute status. Value: creating. 'creating' is not a "
         "'backup_status'"),
        ("backups", {"os-reset_status": {}}, 400, "'status' is a required property"),
        ("backups", {"os-reset_status": {"status": ""}}, 400,
         "Invalid input for field/attribute status. Value: . '' is not a 'backup_status'"),
        ("backups", {"os-reset_status": {"status": None}}, 400,
         "Invalid input for field/attribute status. Value: None. None is not of type "
         "'string'"),
    ],
)  # fmt: skip
def test_refused_resets_change_nothing(client, kind, body, code, message):
    volume_id = stuck_volume()
    item = volume_id if kind == "volumes" else stuck_backup(volume_id)
    before = rows()
    r = action(client, kind, item, body)
    fault = "badRequest" if code == 400 else "itemNotFound"
    assert (r.status_code, r.json()) == (code, {fault: {"code": code, "message": message}})
    assert rows() == before


@pytest.mark.parametrize(("kind", "name"), [("volumes", "Volume"), ("backups", "Backup")])
def test_unknown_ids_are_404(client, kind, name):
    r = action(client, kind, "nope", {"os-reset_status": {"status": "error"}})
    message = f"{name} nope could not be found."
    assert (r.status_code, r.json()) == (404, {"itemNotFound": {"code": 404, "message": message}})


def test_today_a_backup_reset_needs_an_up_backup_service(memory_conf):
    """Cinder's backup API asks for an up cinder-backup first (ServiceNotFound: 404)."""
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    lab = Lab()
    try:
        lab.start_all()
        with TestClient(create_app()) as client:
            backup_id = stuck_backup(stuck_volume())
            before = rows()
            lab.stop(lab.find("cinder-backup", "maqi-kilo"))
            row = db.service_get_by_args("maqi-kilo", "cinder-backup")
            db.service_update(row.id, {"disabled": True})
            r = action(client, "backups", backup_id, {"os-reset_status": {"status": "error"}})
            assert r.status_code == 404
            assert (
                r.json()["itemNotFound"]["message"] == "Service cinder-backup could not be found."
            )
            assert rows() == before
            db.service_update(row.id, {"disabled": False})
            # Its row is still up (service_down_time has not passed): Cinder's check passes.
            r = action(client, "backups", backup_id, {"os-reset_status": {"status": "error"}})
            assert r.status_code == 202
            assert db.backup_get(backup_id).status == "error"
    finally:
        lab.close()
        CONF.clear_override("lab_release")
        rpc.reset_version_caps()


def test_today_a_reset_forgets_the_volumes_workers_rows(memory_conf):
    """A restart's cleanup of that request no longer applies: its workers row is gone."""
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    lab = Lab()
    try:
        lab.start_all()
        with TestClient(create_app()) as client:
            volume_id = stuck_volume()
            service = lab.find("cinder-volume", "maqi-kilo@ceph").service_id
            db.worker_create({"resource_type": "Volume", "resource_id": volume_id,
                              "status": "creating", "service_id": service})  # fmt: skip
            assert len(db.worker_get_all(service)) == 1
            r = action(client, "volumes", volume_id, {"os-reset_status": {"status": "error"}})
            assert (r.status_code, r.content) == (202, b"")
            assert db.volume_get(volume_id).status == "error"
            assert db.worker_get_all(service) == []
    finally:
        lab.close()
        CONF.clear_override("lab_release")
        rpc.reset_version_caps()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["volumes", "backups"]),
    body=st.one_of(
        json_values,
        st.fixed_dictionaries({"os-reset_status": json_values}),
        st.fixed_dictionaries(
            {"os-reset_status": st.dictionaries(
                st.sampled_from(["status", "attach_status", "migration_status"]),
                st.sampled_from(["error", "available", "DETACHED", "none", "", "x"]) | json_values,
            )}
        ),
    ),
)  # fmt: skip
def test_any_action_body_is_answered_without_a_500(client, kind, body):
    volume_id = stuck_volume()
    item = volume_id if kind == "volumes" else stuck_backup(volume_id)
    r = action(client, kind, item, body)
    assert r.status_code in (202, 400), (body, r.text)
    if r.status_code == 400:
        assert list(r.json()) == ["badRequest"]
