"""docs/objects.md's example is a real message: run the lab, compare what the page shows.

Every key the page shows must be in the real ``create_volume`` the scheduler
casts to the backend, with the same value; ids, request ids, unique ids and
times, which change from run to run, must have the same form. The
``versioned_object.*`` keys shown for the Volume are all it has: no changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinder_lab import context, memory_tap, rpc
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status

DOC = Path(__file__).parents[2] / "docs" / "objects.md"
ROUTING_KEY = "cinder-volume.maqi-kilo@ceph.maqi-kilo"
VOLATILE = [
    re.compile(r"^req-[0-9a-f-]{36}$"),
    re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    re.compile(r"^[0-9a-f]{32}$"),
    re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"),
]


def json_examples() -> list[dict]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)]


def differences(shown: object, real: object, where: str = "") -> list[str]:
    """Where the page's ``shown`` is not the real message (a subset, volatile values by form)."""
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            return [f"{where}: not a mapping"]
        found = [f"{where}.{k}: missing" for k in shown if k not in real]
        return found + [
            d for k in shown if k in real for d in differences(shown[k], real[k], f"{where}.{k}")
        ]
    pattern = next((p for p in VOLATILE if isinstance(shown, str) and p.match(shown)), None)
    if pattern is not None:
        return [] if isinstance(real, str) and pattern.match(real) else [f"{where}: {real!r}"]
    return [] if shown == real else [f"{where}: page {shown!r}, real {real!r}"]


@pytest.fixture
def current_lab(memory_conf: object) -> Iterator[Lab]:
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1)
    yield lab
    lab.close()
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


def test_the_create_volume_example_is_what_the_lab_sends(current_lab):
    events: list = []
    unsubscribe = memory_tap.subscribe(events.append)
    try:
        ctxt = context.RequestContext(user_id="lab-user", project_id="lab-project")
        volume = volume_api.API().create(ctxt, 1, name="vol1")
        wait_status(db.volume_get, volume.id)
    finally:
        unsubscribe()
    real = next(
        e
        for e in events
        if e.message.get("method") == "create_volume" and e.routing_key == ROUTING_KEY
    )
    [shown] = json_examples()
    assert f"`{ROUTING_KEY}`" in DOC.read_text()  # the page names where it went
    assert differences(shown, real.message) == []
    envelope = {k for k in real.message["args"]["volume"] if k.startswith("versioned_object.")}
    assert envelope == set(shown["args"]["volume"])  # no versioned_object.changes
    assert sorted(real.message["args"]) == [
        "allow_reschedule",
        "filter_properties",
        "request_spec",
        "volume",
    ]
