"""The graph a learner reads: its text size, its lines, and boxes that stay where they are.

Measured in Chromium from Cytoscape's own numbers: the rendered font size is a
label's ``font-size`` times the zoom; an edge's line runs between its rendered
end points; a box's position is its centre in graph coordinates.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from tests.procs import wait_until
from tests.web.conftest import open_page
from tests.web.test_live_view import load

MIN_FONT = 12.0


def font_sizes(page) -> list[float]:
    """Every box label's size on screen, in CSS px."""
    return page.evaluate(
        """() => { const cy = window.cinderLab.cy;
             return cy.nodes().not('.token, .drop-mark')
               .map(n => parseFloat(n.style('font-size')) * cy.zoom()); }"""
    )


def positions(page) -> dict[str, list[float]]:
    return page.evaluate(
        """() => Object.fromEntries(window.cinderLab.cy.nodes().not('.token, .drop-mark')
             .map(n => [n.id(), [n.position('x'), n.position('y')]]))"""
    )


def segments(page) -> list[tuple[str, str, tuple, tuple]]:
    """Every edge: source, target, and its drawn end points (rendered px)."""
    return [
        (s, t, tuple(a), tuple(b))
        for s, t, a, b in page.evaluate(
            """() => window.cinderLab.cy.edges().map(e => {
                 const a = e.renderedSourceEndpoint(), b = e.renderedTargetEndpoint();
                 return [e.source().id(), e.target().id(), [a.x, a.y], [b.x, b.y]]; })"""
        )
    ]


def shared_stretch(a: tuple, b: tuple) -> float:
    """How far two straight edges run along the same line (0 unless collinear)."""
    (p1, p2), (q1, q2) = a, b
    dx, dy = p2[0] - p1[0], p2[1] - p1[1]
    length = (dx * dx + dy * dy) ** 0.5
    if length == 0:
        return 0.0

    def off(p):  # distance of p from the line through a
        return abs((p[0] - p1[0]) * dy - (p[1] - p1[1]) * dx) / length

    if off(q1) > 1 or off(q2) > 1:
        return 0.0

    def along(p):
        return ((p[0] - p1[0]) * dx + (p[1] - p1[1]) * dy) / length

    lo, hi = sorted((along(q1), along(q2)))
    return max(0.0, min(hi, length) - max(lo, 0.0))


def check_legible(page) -> None:
    """Text at least 12 px; each row beside its consumer; no two unrelated edges share a line."""
    sizes = font_sizes(page)
    assert sizes and min(sizes) >= MIN_FONT, sorted(sizes)[:5]
    # Beside: the row's box and the consumer's box share some height, the row to the right.
    beside = page.evaluate(
        """() => window.cinderLab.cy.nodes('.consumer').map(c => {
             const s = c.outgoers('node.service');
             if (!s.length) { return null; }
             const a = c.boundingBox(), b = s[0].boundingBox();
             return [c.id(), Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1), b.x1 - a.x2];
           }).filter(x => x)"""
    )
    assert beside and all(shared > 4 and 0 < gap < 40 for _c, shared, gap in beside), beside
    edges = segments(page)
    for i, (s1, t1, a1, b1) in enumerate(edges):
        for s2, t2, a2, b2 in edges[i + 1 :]:
            if {s1, t1} & {s2, t2}:
                continue  # edges of one box may meet at it
            assert shared_stretch((a1, b1), (a2, b2)) < 2, (s1, t1, s2, t2)


@pytest.fixture(params=["kilo", "current"])
def release(request: pytest.FixtureRequest, memory_conf: object):
    """Kilo, and today's release whose volume service has two servers (two consumers)."""
    CONF.set_override("lab_release", request.param)
    rpc.reset_version_caps()
    yield request.param
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


@pytest.mark.parametrize("width", [1280, 1920])
def test_labels_are_12px_and_lines_do_not_merge(release, lab, live, browser, width):
    p = open_page(browser, width=width, height=800 if width == 1280 else 1080)
    try:
        load(p, live.url)
        check_legible(p.page)
        assert p.page.evaluate("CinderGraph.overlaps(window.cinderLab.cy)") == []
        assert p.errors == []
    finally:
        p.page.context.close()


def test_new_boxes_leave_the_others_where_they_are(lab, live, page):
    load(page, live.url)
    before = positions(page.page)
    # A call: the caller's reply queue and its listener appear (new boxes).
    assert scheduler_rpcapi.SchedulerAPI().get_pools(context.get_admin_context())
    wait_until(
        lambda: any(k.startswith("q:reply_") for k in positions(page.page)),
        timeout=20,
        what="the reply queue on the page",
    )
    after = positions(page.page)
    assert {k: after[k] for k in before} == before
    # A reply queue in use is not a dead end: it names its caller.
    reply = page.page.evaluate(
        """() => { const q = window.cinderLab.cy.nodes('.queue')
                     .filter(n => n.id().startsWith('q:reply_'))[0];
                   return [q.hasClass('dead'), q.data('label')]; }"""
    )
    assert reply[0] is False and "in use" in reply[1] and "NO CONSUMER" not in reply[1], reply
    assert "by " in reply[1], reply
    expect(page.page.locator("#dead-ends")).not_to_contain_text("reply_")
    assert page.errors == []


def test_a_drop_mark_follows_its_exchange(lab, live, page):
    load(page, live.url)
    ctxt = context.get_admin_context()
    backup_rpcapi.BackupAPI().create_backup(ctxt, SimpleNamespace(host="nowhere", id="b-1"))
    page.page.wait_for_function("window.cinderLab.cy.nodes('.drop-mark').length > 0")

    def mark_under_exchange() -> bool:
        return page.page.evaluate(
            """() => { const cy = window.cinderLab.cy, m = cy.nodes('.drop-mark')[0];
                 const ex = cy.getElementById(m.data('exchange'));
                 return Math.abs(m.position('x') - ex.position('x')) < 1 &&
                   Math.abs(m.position('y') - ex.position('y') - ex.data('h') / 2 - 14) < 1; }"""
        )

    assert mark_under_exchange()
    # Move every box (as a fresh layout would) and lay out again: the mark goes along.
    page.page.evaluate(
        """() => { const cy = window.cinderLab.cy;
             cy.nodes().not('.token, .drop-mark')
               .forEach(n => n.position('y', 5000 - n.position('y')));
             CinderGraph.relayout(cy); }"""
    )
    assert mark_under_exchange()
    page.page.click("#graph-tidy")
    assert mark_under_exchange()
    assert page.errors == []
