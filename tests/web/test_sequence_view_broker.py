"""The sequence view and ``trace --sequence`` against the real RabbitMQ (issue 23).

The services, ``cinder-lab web`` and ``cinder-lab trace --sequence`` run as the
lab's own processes in the test's vhost; the client commands are processes
too. Today's backup must read the same on the page (at 1280 and 1920 px) and
in the text: the client's cast to the scheduler, then each service's messages
in the order the broker saw them, from their sender to the service that took
them; a cast to a host with no queue ends at the broker, dropped.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import types

import pytest
from playwright.sync_api import expect

from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.observe.management import ManagementAPI
from cinder_lab.observe.sequence import BROKER, UNNAMED
from tests.integration.test_real_broker import all_up, wait_pools
from tests.procs import BIN, LabProcess, run_cli, wait_until
from tests.web.conftest import open_page, screenshot
from tests.web.test_live_view import load, services_behind
from tests.web.test_live_view_broker import free_port
from tests.web.test_sequence_view import TODAY, arrows, check_story, labels_apart, show_request

HOST = "maqi-kilo"
CLIENT = re.compile(r"cinder-lab \(pid \d+\)")


def client_first(expected: list[tuple], client: str) -> list[tuple]:
    """The story with the sender of its first message as the broker named it."""
    (method, kind, _api, to), *rest = expected
    return [(method, kind, client, to), *rest]


@pytest.mark.slow
@pytest.mark.broker
def test_a_backup_as_a_sequence_on_rabbitmq(rabbit_lab, browser, tmp_path):
    conf = rabbit_lab.conf("kilo", HOST, {"ceph": "ceph"}, extra_default="lab_release = current")
    for s in ("volume", "backup", "scheduler"):
        rabbit_lab.start(f"cinder-lab-{s}", conf)
    wait_until(all_up(("cinder-volume", f"{HOST}@ceph"), ("cinder-backup", HOST)))
    wait_pools(conf, 1)
    volume_id = json.loads(run_cli(conf, "create", "1", "--wait", "-f", "json").stdout)["id"]

    port = free_port()
    web = LabProcess("cinder-lab", conf, rabbit_lab.tmp, "web", "--port", str(port))
    rabbit_lab.procs.append(web)  # stopped by the fixture if the test fails first
    api = ManagementAPI("http://127.0.0.1:15672/", "guest", "guest", rabbit_lab.vhost.name)
    wait_until(lambda: "open http://" in web.output(), timeout=30, what="cinder-lab web to listen")
    wait_until(api.tracing, timeout=20, what="the firehose on while the page watches")
    url = f"http://127.0.0.1:{port}/"
    pages = [open_page(browser, 1280, 800), open_page(browser, 1920, 1080)]
    tracer = subprocess.Popen(
        [str(BIN / "cinder-lab"), "--config-file", str(conf), "trace", "--sequence"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "sequence of each request is printed then" in tracer.stderr.readline()
        p = pages[0]
        load(p, url)

        def served() -> bool:  # the management API lists a consumer within its stats interval
            p.page.reload()
            p.page.wait_for_function("window.cinderLab && window.cinderLab.cy !== null")
            return services_behind(p.page, f"q:cinder-volume.{HOST}@ceph.{HOST}") == [
                f"cinder-volume {HOST}@ceph"
            ]

        wait_until(served, timeout=40, interval=1, what="the management API to list consumers")
        load(pages[1], url)

        out = run_cli(conf, "backup-create", volume_id, "--wait", "-f", "json")
        assert out.returncode == 0, out.stderr
        backup_id = json.loads(out.stdout)["id"]
        # A cast to a host with no queue: dropped by RabbitMQ. Kilo's form carries only ids.
        CONF.set_override("lab_release", "kilo")
        rpc.init(CONF)
        try:
            nowhere = types.SimpleNamespace(id=backup_id, host="no-such-host")
            backup_rpcapi.BackupAPI().create_backup(context.get_admin_context(), nowhere)
        finally:
            rpc.cleanup()
            CONF.clear_override("lab_release")

        for p in pages:
            width = p.page.viewport_size["width"]
            rid = show_request(p.page, "create_backup", len(TODAY))
            first = arrows(p.page)[0]["from"]
            # The client's connection, if the broker listed it before the client left.
            assert CLIENT.fullmatch(first) or first == UNNAMED, first
            check_story(p.page, client_first(TODAY, first))
            labels_apart(p.page)
            assert p.page.evaluate("document.documentElement.scrollWidth") <= width
            ask = arrows(p.page)[2]
            p.page.locator(f'#seq-view g.arrow[data-seq="{ask["seq"]}"] rect.hit').click()
            envelope = p.page.locator("#envelope")
            expect(envelope).to_contain_text('"method": "get_backup_device"')
            expect(envelope).to_contain_text(f'"_context_request_id": "{rid}"')
            expect(envelope).to_contain_text(f'"sent_by": "cinder-backup {HOST} ')
            p.page.locator("#seq-view").scroll_into_view_if_needed()
            screenshot(p.page, f"web-sequence-rabbitmq-{width}.png", tmp_path)

            show_request(p.page, "create_backup", 1, exactly=True)  # the dropped cast
            dropped = [a for a in arrows(p.page) if a["dropped"]]
            assert [(a["to"], a["note"]) for a in dropped] == [
                (
                    BROKER,
                    "dropped at exchange openstack: no queue bound for routing key "
                    "cinder-backup.no-such-host",
                )
            ]
            assert p.errors == []
    finally:
        for p in pages:
            p.page.context.close()
        if tracer.poll() is None:
            tracer.send_signal(signal.SIGTERM)
        text, err = tracer.communicate(timeout=60)
    assert tracer.returncode == 0 and "Traceback" not in err, err
    check_text(text, rid)


def check_text(text: str, rid: str) -> None:
    """``trace --sequence``: the backup's request, in the page's order, in 100 columns."""
    assert all(len(line) <= 100 for line in text.splitlines()), text
    block = text.split(f"== request {rid}: ")[1].split("\n== request")[0]
    assert block.startswith(f"{len(TODAY)} message(s) ")
    heads = re.findall(r"^  \d\d:\d\d:\d\d\.\d{3}  (\w+) +(.+)$", block, re.M)
    assert [(k.lower(), what.split("  (+")[0].split(" v")[0]) for k, what in heads] == [
        (kind, method) for method, kind, _f, _t in TODAY
    ]
    # The backup service asks the volume service for the device, by name.
    maybe = r"( \(inferred\))?"
    assert re.search(f"cinder-backup {HOST}{maybe}  --> cinder-volume {HOST}@ceph", block)
    assert re.search(f"cinder-volume {HOST}@ceph{maybe}  ..> cinder-backup {HOST}", block)
    assert re.search(r"--X broker\n +dropped at exchange openstack: no queue bound", text), text
