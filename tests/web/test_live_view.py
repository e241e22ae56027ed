"""The live view in a real browser, on the in-process broker (issue 13).

Each test drives Debian's Chromium through Playwright against ``cinder-lab
web``'s app serving the ``lab`` fixture's services, and reads what the page
shows: the graph (Cytoscape's own node positions), the message log, the
services table. The page keeps, in ``window.cinderLab.animations``, each node
a travelling message really reached, which is what "animated along its path"
is checked against.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from cinder_lab import context, rpc
from cinder_lab.backup import api as backup_api
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.observe import graph, topology
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status, wait_until
from tests.web.conftest import open_page, screenshot

NOTE_QUEUES = {
    "q:cinder-volume.maqi-kilo@ceph": "cinder-volume maqi-kilo@ceph",
    "q:cinder-backup.maqi-kilo": "cinder-backup maqi-kilo",
    "q:cinder-scheduler.maqi-kilo": "cinder-scheduler maqi-kilo",
}


def load(p, url: str) -> None:
    p.page.goto(url)
    p.page.wait_for_function("window.cinderLab && window.cinderLab.cy !== null")
    expect(p.page.locator("#status")).to_have_text("live")


def services_behind(page, queue_id: str) -> list[str]:
    """The first line of every services box the queue leads to, through its consumer."""
    return page.evaluate(
        """id => window.cinderLab.cy.getElementById(id).successors('node.service')
                .map(n => n.data('label').split('\\n')[0])""",
        queue_id,
    )


def animation(page, method: str, via: str | None = None) -> dict:
    """The first message of ``method`` (through node ``via``) whose token reached every node."""

    def done():
        for a in page.evaluate("window.cinderLab.animations"):
            if via is not None and not any(via in path for path in a["paths"]):
                continue
            if a["method"] == method and all(
                len(v) == len(p) for v, p in zip(a["visited"], a["paths"], strict=True)
            ):
                return a
        return None

    def why() -> str:
        seen = page.evaluate("Object.values(window.cinderLab.messages)")
        return json.dumps([m for m in seen if m["method"] == method], indent=1)[:3000]

    try:
        return wait_until(done, timeout=20, what=f"{method} to travel its path on the page")
    except AssertionError as e:
        raise AssertionError(f"{e}; the page's messages of {method}: {why()}") from None


def row_id(binary: str, host: str) -> int:
    return db.service_get_by_args(host, binary).id


def test_page_shows_the_notes_queues_with_their_services(lab, live, page, tmp_path):
    load(page, live.url)
    for queue, service in NOTE_QUEUES.items():
        expect(page.page.locator("body")).to_be_visible()
        assert services_behind(page.page, queue) == [service]
    rows = page.page.locator("#services tbody tr")
    expect(rows).to_have_count(3)
    for service in NOTE_QUEUES.values():
        row = page.page.locator(f'#services tr[data-service="{service}"]')
        expect(row).to_have_attribute("data-state", "up")
    expect(page.page.locator("#dead-ends")).to_contain_text("Every queue has a consumer.")
    screenshot(page.page, "web-live.png", tmp_path)
    assert page.errors == []


@pytest.fixture(params=["kilo", "current"])
def release(request: pytest.FixtureRequest, memory_conf: object):
    """``[DEFAULT] lab_release`` for the test, set before the ``lab`` fixture starts."""
    CONF.set_override("lab_release", request.param)
    rpc.reset_version_caps()
    yield request.param
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


def test_backup_create_travels_to_the_backup_then_the_volume_service(
    release, lab, live, page, tmp_path
):
    ctxt = context.get_admin_context()
    vol = wait_status(db.volume_get, volume_api.API().create(ctxt, 1, name="v").id)
    load(page, live.url)
    bak = backup_api.API().create(ctxt, vol.id)
    assert wait_status(db.backup_get, bak.id).status == "available"

    # The cast that reaches cinder-backup.maqi-kilo (today's API sends it to the scheduler
    # first, which casts it on): queue, its consumer, the cinder-backup row.
    backup_row = row_id("cinder-backup", "maqi-kilo")
    to_backup = animation(page.page, "create_backup", "q:cinder-backup.maqi-kilo")
    ((ex, queue, consumer, service),) = to_backup["visited"]
    assert (to_backup["kind"], ex, queue) == ("cast", "ex:openstack", "q:cinder-backup.maqi-kilo")
    assert consumer.startswith("consumer:") and service == f"svc:{backup_row}"

    entry = page.page.locator(f'#log li[data-seq="{to_backup["seq"]}"]')
    expect(entry).to_contain_text("cinder-backup.maqi-kilo")
    entry.click()
    envelope = page.page.locator("#envelope")
    expect(envelope).to_contain_text('"method": "create_backup"')
    expect(envelope).to_contain_text(bak.id)
    expect(envelope).to_contain_text('"_context_request_id": "req-')
    expect(envelope).to_contain_text('"oslo.version": "2.0"')

    if release == "kilo":
        # Kilo's cinder-backup read the volume through its own driver: nothing to cinder-volume.
        assert not [
            a
            for a in page.page.evaluate("window.cinderLab.animations")
            if any("cinder-volume" in p for path in a["paths"] for p in path)
            and a["seq"] > to_backup["seq"]
        ]
        return
    # Today: then get_backup_device to the volume service, which answers with continue_backup.
    expect(envelope).to_contain_text('"versioned_object.name": "Backup"')
    ask = animation(page.page, "get_backup_device")
    ((ex, queue, _consumer, service),) = ask["visited"]
    assert (ask["kind"], queue) == ("cast", "q:cinder-volume.maqi-kilo@ceph.maqi-kilo")
    assert service == f"svc:{row_id('cinder-volume', 'maqi-kilo@ceph')}"
    assert ask["seq"] > to_backup["seq"]
    answer = animation(page.page, "continue_backup")
    assert answer["visited"][0][-1] == f"svc:{backup_row}" and answer["seq"] > ask["seq"]
    expect(page.page.locator('#log li[data-kind="reply"]').first).to_contain_text(
        "reply to remove_export"
    )
    screenshot(page.page, "web-message.png", tmp_path)
    assert page.errors == []


def test_a_cast_to_a_missing_host_shows_as_dropped(lab, live, page):
    load(page, live.url)
    ctxt = context.get_admin_context()
    backup_rpcapi.BackupAPI().create_backup(ctxt, SimpleNamespace(host="nowhere", id="b-1"))

    dropped = page.page.locator("#log li.dropped", has_text="cinder-backup.nowhere")
    expect(dropped).to_contain_text("DROPPED at exchange openstack")
    cast = animation(page.page, "create_backup")
    assert cast["dropped"] is True and cast["visited"] == [["ex:openstack"]]
    marks = page.page.evaluate("window.cinderLab.cy.nodes('.drop-mark').map(n => n.data('label'))")
    assert "\u2715 DROPPED cinder-backup.nowhere" in marks
    assert page.errors == []


def test_a_stopped_service_turns_down_on_the_page(lab, live, page):
    load(page, live.url)
    row = page.page.locator('#services tr[data-service="cinder-backup maqi-kilo"]')
    expect(row).to_have_attribute("data-state", "up")
    lab.stop(lab.find("cinder-backup", "maqi-kilo"))
    # Down once service_down_time passed since the last beat: at most that plus a beat,
    # plus the page's own poll; 2 s more for a loaded machine.
    bound = CONF.service_down_time + CONF.report_interval + live.watcher.interval + 2
    expect(row).to_have_attribute("data-state", "down", timeout=bound * 1000)
    expect(row.locator("td.state")).to_have_text("down")
    # Its server queue is left with no consumer: a dead end, flagged in the graph.
    expect(page.page.locator("#dead-ends")).to_contain_text(
        "DEAD END: cinder-backup.maqi-kilo: nobody consumes it"
    )
    assert page.page.evaluate(
        "window.cinderLab.cy.getElementById('q:cinder-backup.maqi-kilo').hasClass('dead')"
    )
    assert page.errors == []


@pytest.mark.parametrize("width", [1280, 1920])
def test_no_two_boxes_overlap(lab, live, browser, width, tmp_path):
    # A dead end too: its dashed edge to the row skips the consumers' column.
    lab.stop(lab.find("cinder-backup", "maqi-kilo"))
    ctxt = context.get_admin_context()
    backup_rpcapi.BackupAPI().create_backup(ctxt, SimpleNamespace(host="maqi-kilo", id="b"))
    p = open_page(browser, width=width)
    try:
        load(p, live.url)
        expect(p.page.locator("#dead-ends")).to_contain_text("cinder-backup.maqi-kilo")
        p.page.wait_for_function(
            "window.cinderLab.cy.getElementById('q:cinder-backup.maqi-kilo').hasClass('dead')"
        )
        boxes = p.page.evaluate(
            """() => window.cinderLab.cy.nodes().not('.token, .drop-mark').map(n => {
                   const b = n.renderedBoundingBox({includeLabels: true});
                   return [n.id(), b.x1, b.y1, b.x2, b.y2]; })"""
        )
        assert len(boxes) >= 15
        for i, (a, ax1, ay1, ax2, ay2) in enumerate(boxes):
            for b, bx1, by1, bx2, by2 in boxes[i + 1 :]:
                assert not (ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2), (a, b)
        # Readable: the page never scrolls sideways and every box is inside the graph's frame.
        assert p.page.evaluate("document.documentElement.scrollWidth") <= width
        frame = p.page.evaluate("document.getElementById('graph').getBoundingClientRect().width")
        assert all(0 <= x1 and x2 <= frame for _id, x1, _y1, x2, _y2 in boxes)
        screenshot(p.page, f"web-{width}.png", tmp_path)
        assert p.errors == []
    finally:
        p.page.context.close()


def test_the_static_topology_page_shares_the_layout(lab, page, tmp_path):
    lab.stop(lab.find("cinder-backup", "maqi-kilo"))
    html = tmp_path / "topology.html"
    html.write_text(graph.html_page(topology.snapshot(None)))
    fetched: list[str] = []
    page.page.on("request", lambda r: fetched.append(r.url))
    page.page.goto(html.as_uri())
    page.page.wait_for_function("window.cinderLab && window.cinderLab.cy")
    ids = page.page.evaluate("window.cinderLab.cy.elements().map(e => e.id())")
    expected = [e["data"]["id"] for e in graph.elements(topology.snapshot(None))]
    assert "q:cinder-backup.maqi-kilo" in ids and set(expected) == set(ids)
    assert page.page.evaluate("CinderGraph.overlaps(window.cinderLab.cy)") == []
    assert fetched == [html.as_uri()], "the page fetched something besides itself"
    assert page.errors == []


@pytest.mark.slow
def test_story_mode_runs_the_note_one_step_at_a_time(live_stories, page, tmp_path):
    load(page, live_stories.url)
    page.page.select_option("#story-select", "backup-host-mismatch")
    page.page.click("#story-start")
    steps = page.page.locator("#story-steps")
    expect(steps).to_have_attribute("data-status", "waiting", timeout=30_000)
    expect(steps.locator(".story-step")).to_have_count(1)
    expect(steps).to_contain_text("[ok] backup to cinder-backup.maqi-kilo: available")
    expect(page.page.locator('#log li[data-method="create_backup"]').first).to_contain_text(
        "cinder-backup.maqi-kilo"
    )

    # Step 2 moves the backend to new_host_name: the page follows the change of host.
    page.page.click("#story-next")
    expect(steps.locator(".story-step")).to_have_count(2, timeout=30_000)
    expect(steps).to_have_attribute("data-status", "waiting", timeout=30_000)
    expect(steps).to_contain_text("[ok] refused: Service cinder-backup could not be found.")
    new_row = page.page.locator('#services tr[data-service="cinder-volume new_host_name@ceph"]')
    expect(new_row).to_have_attribute("data-state", "up")
    old_row = page.page.locator('#services tr[data-service="cinder-volume maqi-kilo@ceph"]')
    expect(old_row).to_have_attribute("data-state", "down")
    state = json.loads(page.page.evaluate("fetch('/api/stories').then(r => r.text())"))
    assert state["state"]["status"] == "waiting" and state["state"]["failures"] == []
    screenshot(page.page, "web-story.png", tmp_path)

    page.page.click("#story-stop")
    expect(steps).to_have_attribute("data-status", "stopped", timeout=30_000)
    assert page.errors == []


@pytest.mark.parametrize("release", ["current"], indirect=True)
def test_an_old_row_shows_an_older_object_on_the_page(release, lab, live, page):
    """A cinder-volume row at objects 1.38: the backup's volume travels as Volume 1.8."""
    ctxt = context.get_admin_context()
    vol = wait_status(db.volume_get, volume_api.API().create(ctxt, 1, name="v").id)
    row = db.service_get_by_args("maqi-kilo@ceph", "cinder-volume")
    db.service_update(row.id, {"object_current_version": "1.38"})
    rpc.reset_version_caps()
    lab.stop(lab.find("cinder-backup", "maqi-kilo"))
    lab.start_backup()  # a new process pins its clients at start
    load(page, live.url)
    bak = backup_api.API().create(ctxt, vol.id)
    assert wait_status(db.backup_get, bak.id).status == "available"

    attach = animation(page.page, "initialize_connection")
    page.page.locator(f'#log li[data-seq="{attach["seq"]}"]').click()
    envelope = page.page.locator("#envelope")
    expect(envelope).to_contain_text('"versioned_object.name": "Volume"')
    expect(envelope).to_contain_text('"versioned_object.version": "1.8"')
    assert page.errors == []
