"""``cinder-lab web`` against the real RabbitMQ, in a real browser (issue 13).

The services run as the lab's own processes in the test's vhost; ``cinder-lab
web`` runs as a process too, reading the management API and the firehose, and
must leave the firehose off when it stops. The management API lists a new
consumer's connection within a statistics interval, so the page is given that
long to show the services behind the queues.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from cinder_lab.common.config import CONF
from cinder_lab.observe.management import ManagementAPI
from tests.procs import LabProcess, free_port, run_cli, wait_until
from tests.services import all_up, wait_pools
from tests.web.conftest import screenshot
from tests.web.test_live_view import animation, load, row_id, services_behind

HOST = "maqi-kilo"


@pytest.mark.slow
def test_live_view_of_a_backup_create_on_rabbitmq(rabbit_lab, page, tmp_path):
    # Today's release: a backup asks the volume service for its device (Kilo's does not).
    conf = rabbit_lab.conf("kilo", HOST, {"ceph": "ceph"}, extra_default="lab_release = current")
    procs = {
        s: rabbit_lab.start(f"cinder-lab-{s}", conf) for s in ("volume", "backup", "scheduler")
    }
    wait_until(all_up(("cinder-volume", f"{HOST}@ceph"), ("cinder-backup", HOST)))
    wait_pools(conf, 1)
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    volume_id = json.loads(out.stdout)["id"]

    port = free_port()
    web = LabProcess("cinder-lab", conf, rabbit_lab.tmp, "web", "--port", str(port))
    rabbit_lab.procs.append(web)  # stopped by the fixture if the test fails first
    api = ManagementAPI("http://127.0.0.1:15672/", "guest", "guest", rabbit_lab.vhost.name)
    url = f"http://127.0.0.1:{port}/"
    wait_until(lambda: "open http://" in web.output(), timeout=30, what="cinder-lab web to listen")
    wait_until(api.tracing, timeout=20, what="the firehose on while the page watches")

    load(page, url)

    def served() -> bool:
        page.page.reload()
        page.page.wait_for_function("window.cinderLab && window.cinderLab.cy !== null")
        return services_behind(page.page, f"q:cinder-backup.{HOST}") == [
            f"cinder-backup {HOST}"
        ] and services_behind(page.page, f"q:cinder-volume.{HOST}@ceph.{HOST}") == [
            f"cinder-volume {HOST}@ceph"
        ]

    wait_until(served, timeout=40, interval=1, what="the management API to list consumers")
    expect(page.page.locator("#status")).to_have_text("live")

    out = run_cli(conf, "backup-create", volume_id, "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    cast = animation(page.page, "create_backup", f"q:cinder-backup.{HOST}")
    assert len(cast["visited"][0]) == 4, page.page.evaluate(
        f"JSON.stringify(window.cinderLab.messages[{cast['seq']}])"
    )
    ((_ex, queue, _consumer, service),) = cast["visited"]
    assert queue == f"q:cinder-backup.{HOST}" and service == f"svc:{row_id('cinder-backup', HOST)}"
    call = animation(page.page, "get_backup_device")
    assert len(call["visited"][0]) == 4, page.page.evaluate(
        f"JSON.stringify(window.cinderLab.messages[{call['seq']}])"
    )
    ((_ex, queue, _consumer, service),) = call["visited"]
    assert queue == f"q:cinder-volume.{HOST}@ceph.{HOST}"
    assert service == f"svc:{row_id('cinder-volume', f'{HOST}@ceph')}"
    screenshot(page.page, "web-rabbitmq.png", tmp_path)

    # cinder-backup killed: no clean stop, no last heartbeat. Its row turns down on the
    # page once service_down_time passed since the last beat (2 s more for a busy machine).
    row = page.page.locator(f'#services tr[data-service="cinder-backup {HOST}"]')
    expect(row).to_have_attribute("data-state", "up")
    rabbit_lab.procs.remove(procs["backup"])
    procs["backup"].kill()
    bound = CONF.service_down_time + CONF.report_interval + 0.5 + 2
    expect(row).to_have_attribute("data-state", "down", timeout=bound * 1000)
    assert page.errors == []

    assert rabbit_lab.stop(web) == 0, web.output()  # SIGTERM, as Ctrl-C or systemd would
    assert api.tracing() is False, "cinder-lab web left the firehose on"
    assert "Traceback" not in web.output()


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.serial  # nine lab processes: alone, so the others' start-up waits hold
def test_the_notes_two_machines_are_legible_at_1280(rabbit_lab, browser):
    """The note's two machines on RabbitMQ (29 boxes): 12 px text at 1280 px and at 1920."""
    openstack = rabbit_lab.conf(
        "openstack",
        "maqi-openstack.novalocal",
        {"lvmdriver-1": "lvmdriver-1", "whatever_it_is": "new_lvm_backend"},
    )
    kilo = rabbit_lab.conf("kilo", HOST, {"ceph": "ceph"})
    for conf in (openstack, kilo):
        for s in ("volume", "backup", "scheduler"):
            rabbit_lab.start(f"cinder-lab-{s}", conf)
    rows = [
        ("cinder-volume", "maqi-openstack.novalocal@lvmdriver-1"),
        ("cinder-volume", "maqi-openstack.novalocal@whatever_it_is"),
        ("cinder-volume", f"{HOST}@ceph"),
        ("cinder-backup", HOST),
        ("cinder-backup", "maqi-openstack.novalocal"),
    ]
    wait_until(all_up(*rows), timeout=60, what="both machines' services up")
    port = free_port()
    web = LabProcess("cinder-lab", kilo, rabbit_lab.tmp, "web", "--port", str(port))
    rabbit_lab.procs.append(web)
    wait_until(lambda: "open http://" in web.output(), timeout=30, what="cinder-lab web to listen")
    url = f"http://127.0.0.1:{port}/"
    for width, height in ((1280, 800), (1920, 1080)):
        legible_at(browser, url, width, height, rabbit_lab.tmp)
    assert rabbit_lab.stop(web) == 0, web.output()


NAMED = """() => window.cinderLab.cy.nodes('.consumer')
             .filter(c => c.outgoers('node.service').length).length"""


def legible_at(browser, url: str, width: int, height: int, tmp) -> None:
    """The page at one window size, once the management API named every consumer."""
    from tests.web.conftest import open_page
    from tests.web.test_graph_layout import check_legible

    p = open_page(browser, width=width, height=height)
    try:

        def named() -> bool:
            p.page.goto(url)
            p.page.wait_for_function("window.cinderLab && window.cinderLab.cy !== null")
            return p.page.evaluate(NAMED) >= 7

        wait_until(named, timeout=60, interval=1, what="the services named on the page")
        boxes = p.page.evaluate("window.cinderLab.cy.nodes().not('.token, .drop-mark').length")
        assert boxes >= 25, boxes
        check_legible(p.page)
        assert p.page.evaluate("CinderGraph.overlaps(window.cinderLab.cy)") == []
        assert p.page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(p.page, f"web-rabbitmq-two-machines-{width}.png", tmp)
        assert p.errors == []
    finally:
        p.page.context.close()
