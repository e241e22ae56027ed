"""The sequence view of a request, in a real browser, on the in-process broker (issue 23).

A backup made by the test must appear as one request: a lifeline per process,
its messages in publish order from their sender to the consumer that took
them, each a click away from its envelope; a cast to a host with no queue ends
at the broker's lifeline, dropped. What the page drew is read back from the
SVG: each arrow's ``data-*`` attributes and the coordinates of its line.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from cinder_lab import context
from cinder_lab.backup import api as backup_api
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.db import api as db
from cinder_lab.observe.sequence import BROKER, UNNAMED
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status, wait_until
from tests.web.conftest import open_page, screenshot
from tests.web.test_live_view import (
    load,
    release,  # noqa: F401 - lab_release kilo, then current
)

API = UNNAMED  # in-process the API is this process: the broker names no sender for it
SCHED, BACKUP, VOLUME = (
    "cinder-scheduler maqi-kilo",
    "cinder-backup maqi-kilo",
    "cinder-volume maqi-kilo@ceph",
)
# Today's backup, message by message: (method or reply, kind, sender, consumer).
TODAY = [
    ("create_backup", "cast", API, SCHED),
    ("create_backup", "cast", SCHED, BACKUP),
    ("get_backup_device", "cast", BACKUP, VOLUME),
    ("continue_backup", "cast", VOLUME, BACKUP),
    ("initialize_connection", "call", BACKUP, VOLUME),
    ("reply to initialize_connection", "reply", VOLUME, BACKUP),
    ("terminate_connection", "call", BACKUP, VOLUME),
    ("reply to terminate_connection", "reply", VOLUME, BACKUP),
    ("remove_export", "call", BACKUP, VOLUME),
    ("reply to remove_export", "reply", VOLUME, BACKUP),
]
KILO = [("create_backup", "cast", API, BACKUP)]


def arrows(page) -> list[dict]:
    """The arrows drawn, top to bottom, with their line's ends and their lifelines' x."""
    return page.evaluate(
        """() => {
          const svg = document.querySelector('#seq-view svg');
          if (!svg) return [];
          const x = n => {
            const l = [...svg.querySelectorAll('g.lifeline')].find(g => g.dataset.name === n);
            return l ? +l.querySelector('line.life').getAttribute('x1') : null; };
          return [...svg.querySelectorAll('g.arrow')].map(g => {
            const line = g.querySelector('line.line');
            return {seq: +g.dataset.seq, kind: g.dataset.kind, from: g.dataset.from,
                    to: g.dataset.to, y: +g.dataset.y, order: +g.dataset.order,
                    label: g.dataset.label, text: g.querySelector('text.label').textContent,
                    note: (g.querySelector('text.note') || {}).textContent || '',
                    dropped: g.classList.contains('dropped'),
                    x1: line ? +line.getAttribute('x1') : null,
                    x2: line ? +line.getAttribute('x2') : null,
                    xfrom: x(g.dataset.from), xto: x(g.dataset.to.split('|')[0])};
          }).sort((a, b) => a.y - b.y);
        }"""
    )


def lifelines(page) -> list[str]:
    return page.evaluate(
        "[...document.querySelectorAll('#seq-view g.lifeline')].map(g => g.dataset.name)"
    )


def show_request(page, method: str, count: int, exactly: bool = False) -> str:
    """Pick, in the page's list, the request whose first message is ``method``, once it has
    ``count`` messages (``exactly`` that many); returns its request id."""

    def find() -> str | None:
        requests = page.evaluate(
            """() => Object.entries(window.CinderSequence.state.requests)
                 .map(([id, ms]) => [id, ms.length, ms[0].arrow.label])"""
        )
        for rid, n, label in requests:
            if label.split(" v")[0] == method and (n == count if exactly else n >= count):
                return rid
        return None

    rid = wait_until(find, timeout=20, what=f"a request of {count} messages from {method}")
    page.select_option("#seq-request", rid)
    expect(page.locator("#seq-view svg")).to_have_attribute("data-request", rid)
    return rid


def check_story(page, expected: list[tuple]) -> list[dict]:
    drawn = arrows(page)
    got = [(a["label"].split(" v")[0], a["kind"], a["from"], a["to"]) for a in drawn]
    assert got == expected
    # Time downwards, in the broker's publish order; each line from its sender to its consumer.
    assert [a["order"] for a in drawn] == sorted(a["order"] for a in drawn)
    for a in drawn:
        assert a["x1"] == pytest.approx(a["xfrom"]), a
        assert abs(a["x2"] - a["xto"]) <= 8, a
    # One lifeline per process, in order of appearance.
    names = []
    for _m, _k, sender, consumer in expected:
        names += [n for n in (sender, consumer) if n not in names]
    assert lifelines(page) == names
    return drawn


def labels_apart(page) -> None:
    """No two arrow labels overlap, and none is smaller than 12 px."""
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#seq-view text.label, #seq-view text.note')]
             .map(t => { const b = t.getBoundingClientRect();
               return [t.textContent, b.left, b.top, b.right, b.bottom,
                       parseFloat(getComputedStyle(t).fontSize)]; })"""
    )
    for i, (a, ax1, ay1, ax2, ay2, size) in enumerate(boxes):
        assert size >= 12, a
        for b, bx1, by1, bx2, by2, _s in boxes[i + 1 :]:
            assert not (ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2), (a, b)


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_a_backup_as_a_sequence(
    release,  # noqa: F811 - the imported fixture
    lab,
    live,
    browser,
    width,
    height,
    tmp_path,
):
    vol = wait_status(db.volume_get, volume_api.API().create(context.get_admin_context(), 1).id)
    p = open_page(browser, width=width, height=height)
    try:
        load(p, live.url)
        ctxt = context.get_admin_context()
        bak = backup_api.API().create(ctxt, vol.id)
        assert wait_status(db.backup_get, bak.id).status == "available"
        expected = TODAY if release == "current" else KILO
        rid = show_request(p.page, "create_backup", len(expected))
        assert rid == ctxt.request_id
        drawn = check_story(p.page, expected)
        labels_apart(p.page)
        # The page never scrolls sideways.
        assert p.page.evaluate("document.documentElement.scrollWidth") <= width

        # Clicking an arrow opens its envelope, with the sender named.
        ask = drawn[2] if release == "current" else drawn[0]
        p.page.locator(f'#seq-view g.arrow[data-seq="{ask["seq"]}"] rect.hit').click()
        envelope = p.page.locator("#envelope")
        expect(envelope).to_have_attribute("data-seq", str(ask["seq"]))
        method = "get_backup_device" if release == "current" else "create_backup"
        expect(envelope).to_contain_text(f'"method": "{method}"')
        expect(envelope).to_contain_text(f'"_context_request_id": "{rid}"')
        if release == "current":
            expect(envelope).to_contain_text('"sent_by": "cinder-backup maqi-kilo')
            p.page.locator("#seq-view").scroll_into_view_if_needed()
            screenshot(p.page, f"web-sequence-{width}.png", tmp_path)
        assert p.errors == []
    finally:
        p.page.context.close()


def test_the_log_is_in_publish_order(lab, live, page):
    """Newest first by publish time, whatever order the tracer learned each message's fate."""
    load(page, live.url)
    vol = volume_api.API().create(context.get_admin_context(), 1)
    wait_status(db.volume_get, vol.id)
    bak = backup_api.API().create(context.get_admin_context(), vol.id)
    wait_status(db.backup_get, bak.id)
    wait_until(
        lambda: page.page.locator('#log li[data-method="create_backup"]').count() >= 1,
        what="the backup's cast in the log",
    )
    keys = page.page.evaluate("[...document.querySelectorAll('#log li')].map(l => l.dataset.key)")
    assert len(keys) >= 3 and keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_a_dropped_cast_ends_at_its_exchange(lab, live, browser, width, height, tmp_path):
    p = open_page(browser, width=width, height=height)
    try:
        load(p, live.url)
        ctxt = context.get_admin_context()
        backup_rpcapi.BackupAPI().create_backup(ctxt, SimpleNamespace(host="nowhere", id="b-1"))
        show_request(p.page, "create_backup", 1, exactly=True)
        (cast,) = arrows(p.page)
        assert (cast["kind"], cast["from"], cast["to"], cast["dropped"]) == (
            "cast",
            API,
            BROKER,
            True,
        )
        assert cast["note"] == (
            "dropped at exchange openstack: no queue bound for routing key cinder-backup.nowhere"
        )
        assert lifelines(p.page) == [API, BROKER]
        assert abs(cast["x2"] - cast["xto"]) <= 8
        mark = p.page.locator(f'#seq-view g.arrow[data-seq="{cast["seq"]}"] text.cross')
        expect(mark).to_have_text("\u2715")
        p.page.locator(f'#seq-view g.arrow[data-seq="{cast["seq"]}"] rect.hit').click()
        expect(p.page.locator("#envelope")).to_contain_text('"dropped": true')
        labels_apart(p.page)
        screenshot(p.page, f"web-sequence-dropped-{width}.png", tmp_path)
        assert p.errors == []
    finally:
        p.page.context.close()
