"""The command box of the single-process mode: typed on the page, travelling the page.

In the single-process mode the services are threads of the web server on its
in-process broker; a ``cinder-lab`` client in another terminal has a broker of
its own. The box runs the client's calls in the server's process, so what the
learner types travels the page; bad input gets one line and changes nothing.
After a story the server's own services come back and the page is live again.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from cinder_lab.db import api as db
from tests.web.conftest import open_page, screenshot
from tests.web.test_live_view import animation, load

ID = re.compile(r"volume ([0-9a-f-]{36}): available")


def post(url: str, body: bytes, content_type: str = "application/json", origin: str = "") -> tuple:
    """POST to the command endpoint; (status, the JSON answer)."""
    headers = {"Content-Type": content_type}
    if origin:
        headers["Origin"] = origin
    req = urllib.request.Request(url + "api/commands/run", body, headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def page_errors(p) -> list[str]:
    """The page's console errors, less the browser's own line for each refused command."""
    refused = "the server responded with a status of 4"
    return [e for e in p.errors if refused not in e]


def type_command(page, line: str) -> str:
    """Type one line in the box and return what it printed (the newest entry)."""
    out = page.locator("#command-output")
    before = out.locator("div").count()
    page.fill("#command", line)
    page.click("#command-run")
    expect(out.locator("div")).to_have_count(before + 1, timeout=30_000)
    return out.locator("div").first.inner_text()


@pytest.mark.parametrize("width", [1280, 1920])
def test_typed_commands_travel_the_page(lab, live, browser, width, tmp_path):
    p = open_page(browser, width=width, height=1000 if width == 1280 else 1080)
    page = p.page
    try:
        load(p, live.url)
        expect(page.locator("#commands")).to_be_visible()
        created = type_command(page, "create 1 --name typed")
        volume_id = ID.search(created).group(1)
        assert "host maqi-kilo@ceph#ceph" in created
        # The create left from the server's process: its casts travel the graph.
        assert animation(page, "create_volume", "q:cinder-scheduler")["visited"][0][-1].startswith(
            "svc:"
        )
        assert animation(page, "create_volume", "q:cinder-volume.maqi-kilo@ceph")

        out = type_command(page, f"backup-create {volume_id}")
        assert ": available, host maqi-kilo" in out, out
        cast = animation(page, "create_backup", "q:cinder-backup.maqi-kilo")
        assert cast["visited"][0][-1].startswith("svc:")

        out = type_command(page, "service-disable maqi-kilo cinder-backup --reason 'typed'")
        assert out.endswith("cinder-backup maqi-kilo: disabled"), out
        row = page.locator('#services tr[data-service="cinder-backup maqi-kilo"]')
        expect(row).to_have_class(re.compile("disabled"))
        out = type_command(page, f"backup-create {volume_id}")
        assert "ERROR: Service cinder-backup could not be found." in out, out
        type_command(page, "service-enable maqi-kilo cinder-backup")
        expect(row).not_to_have_class(re.compile("disabled"))

        # The note's change: the backend moves to new_host_name; backups of new volumes fail.
        out = type_command(page, "config [ceph] host new_host_name")
        assert "restarted cinder-volume new_host_name@ceph" in out, out
        new_row = page.locator('#services tr[data-service="cinder-volume new_host_name@ceph"]')
        expect(new_row).to_have_attribute("data-state", "up")
        # The graph learns queues from its own poll, after the row turned up: wait for it.
        page.wait_for_function(
            "window.cinderLab.cy.getElementById('q:cinder-volume.new_host_name@ceph').length > 0"
        )
        # Until the old row is down the scheduler may still choose it, as in Cinder.
        old_row = page.locator('#services tr[data-service="cinder-volume maqi-kilo@ceph"]')
        expect(old_row).to_have_attribute("data-state", "down", timeout=30_000)
        created = type_command(page, "create 1")
        moved = ID.search(created)
        assert moved is not None and "new_host_name@ceph#ceph" in created, created
        out = type_command(page, f"backup-create {moved.group(1)}")
        assert "ERROR: Service cinder-backup could not be found." in out, out
        screenshot(page, f"web-commands-{width}.png", tmp_path)
        assert page_errors(p) == []
    finally:
        page.context.close()


BAD = [
    ("rm -rf /", "unknown command 'rm'"),
    ("create 1; touch /tmp/cinder-lab-pwned", "unrecognized arguments"),
    ("create 1;", "size"),
    ("$(touch /tmp/cinder-lab-pwned)", "unknown command"),
    ("create 'one", "cannot split the line"),
    ("create -1", "size"),
    ("create banana", "size"),
    ("backup-create no-such-volume", "no-such-volume"),
    ("service-disable nowhere cinder-backup", "nowhere"),
    ("config [nova] host x", "no section [nova]"),
    ("config ceph volume_backend_name x", "not one the box sets"),
    ("config ceph host 'bad host'", "config: "),
    ("config ceph host", "give a VALUE"),
    ("", "type a command"),
    ("create 1\nlist", "one printable line"),
    ("x" * 400, "at most"),
]


def test_bad_input_gets_one_line_and_changes_nothing(lab, live, tmp_path):
    rows = [(s.host, s.binary, s.disabled) for s in db.service_get_all()]
    volumes = len(db.volume_get_all())
    for line, error in BAD:
        status, body = post(live.url, json.dumps({"command": line}).encode())
        assert status == 400, (line, status, body)
        assert error in body["error"] and "\n" not in body["error"], (line, body)
    for body, content_type, code in [
        (b"create 1", "text/plain", 415),
        (b"command=create+1", "application/x-www-form-urlencoded", 415),
        (b"{not json", "application/json", 400),
        (b'["create 1"]', "application/json", 400),
        (b'{"command": 1}', "application/json", 400),
        (json.dumps({"command": "create 1", "pad": "x" * 5000}).encode(), "application/json", 413),
    ]:
        status, answer = post(live.url, body, content_type)
        assert status == code and "\n" not in answer["error"], (body[:40], status, answer)
    status, answer = post(live.url, b'{"command": "create 1"}', origin="http://evil.example")
    assert status == 403 and "cross-site" in answer["error"]
    assert [(s.host, s.binary, s.disabled) for s in db.service_get_all()] == rows
    assert len(db.volume_get_all()) == volumes
    assert not (tmp_path.parent / "cinder-lab-pwned").exists()


def test_bad_input_on_the_page_is_one_line(lab, live, page):
    load(page, live.url)
    out = type_command(page.page, "create; reboot")
    assert out.splitlines()[1].startswith("ERROR: ") and len(out.splitlines()) == 2, out
    expect(page.page.locator("#command")).to_have_value("create; reboot")  # left to fix
    assert page_errors(page) == []


@pytest.mark.slow
def test_after_a_story_the_lab_is_live_again(live_own, page, tmp_path):
    load(page, live_own.url)
    row = page.page.locator('#services tr[data-service="cinder-backup maqi-kilo"]')
    expect(row).to_have_attribute("data-state", "up")
    page.page.select_option("#story-select", "backup-host-mismatch")
    page.page.click("#story-start")
    steps = page.page.locator("#story-steps")
    expect(steps).to_have_attribute("data-status", "waiting", timeout=30_000)
    expect(page.page.locator("#command-run")).to_be_disabled()
    status, answer = post(live_own.url, b'{"command": "list"}')
    assert status == 409 and "is running: stop it first" in answer["error"], answer
    page.page.click("#story-stop")
    expect(steps).to_have_attribute("data-status", "stopped", timeout=30_000)

    # The server's own services again: every row up, every queue consumed, the box works.
    wait = {"timeout": 30_000}
    expect(page.page.locator("#services tbody tr")).to_have_count(3, **wait)
    for tr in page.page.locator("#services tbody tr").all():
        expect(tr).to_have_attribute("data-state", "up", **wait)
    expect(page.page.locator("#dead-ends")).to_contain_text("Every queue has a consumer.", **wait)
    created = type_command(page.page, "create 1")
    assert ID.search(created) and "maqi-kilo@ceph#ceph" in created, created
    assert page_errors(page) == []
