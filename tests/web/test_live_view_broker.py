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
