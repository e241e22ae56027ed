"""Malformed, non-JSON and oversized messages published straight into a service's queue.

The service must keep serving, and say so once per bad message, in one line.
"""

from __future__ import annotations

import json

import kombu

from tests.broker import HOST, PORT
from tests.procs import run_cli, wait_until
from tests.services import all_up

BAD = {
    "not-json": b"\xff\xfe this is not json",
    "json-not-oslo": json.dumps({"hello": "world"}).encode(),
    "envelope-bad-inner": json.dumps({"oslo.version": "2.0", "oslo.message": "{nope"}).encode(),
    "unknown-method": json.dumps(
        {
            "oslo.version": "2.0",
            "oslo.message": json.dumps({"method": "no_such", "args": {}, "version": "2.0"}),
        }
    ).encode(),
    "oversized": json.dumps(
        {
            "oslo.version": "2.0",
            "oslo.message": json.dumps(
                {
                    "method": "create_backup",
                    "args": {"backup_id": "x" * 2_000_000},
                    "version": "2.0",
                }
            ),
        }
    ).encode(),
}


def test_bad_messages_do_not_stop_the_backup_service(rabbit_lab):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    procs = {
        s: rabbit_lab.start(s, conf)
        for s in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler")
    }
    wait_until(all_up(("cinder-backup", "maqi-kilo"), ("cinder-volume", "maqi-kilo@ceph")))
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume_id = json.loads(out.stdout)["id"]

    with kombu.Connection(
        hostname=HOST,
        port=PORT,
        userid="guest",
        password="guest",
        virtual_host=rabbit_lab.vhost.name,
    ) as conn:
        producer = conn.Producer()
        for body in BAD.values():
            producer.publish(
                body,
                exchange="openstack",
                routing_key="cinder-backup.maqi-kilo",
                content_type="application/json",
                content_encoding="utf-8",
            )

    # Still serving: a real backup after the bad ones.
    out = run_cli(conf, "backup-create", volume_id, "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "available"
    backup = procs["cinder-lab-backup"]
    assert backup.proc.poll() is None
    log = backup.output()
    assert "Traceback" not in log
    # Each bad message is reported once, in one line of bounded length.
    problems = [line for line in log.splitlines() if " ERROR " in line]
    assert len(problems) == len(BAD), "\n".join(p[:300] for p in problems)
    assert all(len(line) < 2000 for line in problems), max(problems, key=len)[:300]
