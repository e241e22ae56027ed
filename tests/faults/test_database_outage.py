"""Fault: the database unavailable for a while (a MariaDB user locked out, its sessions killed).

Heartbeats fail and the rows turn ``down``; no service dies, RPC that needs no
database keeps working, an RPC method that needs it fails on its own (logged,
the server goes on), and once the database is back the heartbeats resume and
requests are served again.
"""

from __future__ import annotations

import json
import time

import oslo_messaging as messaging
import pytest

from cinder_lab import context, rpc
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import rpcapi as volume_rpcapi
from tests.procs import run_cli, wait_until
from tests.services import all_up

SERVICES = (
    ("cinder-volume", "maqi-kilo@ceph"),
    ("cinder-backup", "maqi-kilo"),
    ("cinder-scheduler", "maqi-kilo"),
)


def report_counts() -> dict[str, int]:
    return {s.binary: s.report_count for s in db.service_get_all()}


def test_database_outage_services_survive_and_heartbeats_resume(rabbit_lab, mariadb, report):
    rabbit_lab.db_url = mariadb.url
    conf = rabbit_lab.conf(
        "kilo", "maqi-kilo", {"ceph": "ceph"}, extra_default="periodic_interval = 1"
    )
    procs = [
        rabbit_lab.start(script, conf)
        for script in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler")
    ]
    wait_until(all_up(*SERVICES), what="services up on MariaDB")
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume = json.loads(out.stdout)

    before = report_counts()
    # This process's clients pin their versions from the rows now, as a running
    # service's have long done; during the outage they could not read them.
    rpc.init(CONF)
    scheduler_rpcapi.SchedulerAPI().version_cap()
    volume_rpcapi.VolumeAPI().version_cap()
    rpc.cleanup()
    db.dispose_engine()  # the test's own pooled session dies with the others
    mariadb.lock()
    outage_started = time.monotonic()
    # While it is down: the CLI fails in one line; RPC still carries messages, but
    # every method that reads the database fails on its server: get_pools too, as in
    # Cinder, whose scheduler lists only the backends whose services row is up.
    cli = run_cli(conf, "service-list")
    assert cli.returncode == 1 and len(cli.stderr.strip().splitlines()) == 1, cli.stderr
    assert "Traceback" not in cli.stderr and mariadb.password not in cli.stderr
    rpc.init(CONF)
    try:
        with pytest.raises(messaging.RemoteError) as failed:
            scheduler_rpcapi.SchedulerAPI().get_pools(context.get_admin_context())
        assert failed.value.exc_type == "OperationalError", failed.value
        volume_rpcapi.VolumeAPI().client.prepare(server="maqi-kilo@ceph", version="1.4").cast(
            context.get_admin_context(), "create_volume", volume_id=volume["id"]
        )
    finally:
        rpc.cleanup()
    time.sleep(max(0.0, 6 - (time.monotonic() - outage_started)))  # > service_down_time
    mariadb.unlock()
    outage = time.monotonic() - outage_started

    # Every row went down during the outage (no heartbeat landed), then comes back up.
    during = report_counts()
    # (A beat may land between `before` and the lock; the logs below show the failures.)
    assert all(during[b] <= before[b] + 2 for b in during), (before, during)
    wait_until(all_up(*SERVICES), timeout=30, what="rows up again")
    # Resumed means new beats landed after the outage, whatever the rows said at once.
    wait_until(
        lambda: all(n > during[b] for b, n in report_counts().items()),
        timeout=30,
        what="heartbeats resumed",
    )
    after = report_counts()
    assert all(after[b] > during[b] for b in after), (during, after)
    assert all(p.proc.poll() is None for p in procs), "a service died during the outage"

    out = run_cli(conf, "backup-create", volume["id"], "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "available"

    codes = rabbit_lab.stop_all()
    assert all(c == 0 for c in codes.values()), codes
    logs = {p.script: p.output() for p in procs}
    failed_beats = sum(log.count("heartbeat failed") for log in logs.values())
    report(
        "database locked out",
        outage_seconds=round(outage),
        heartbeats_failed=failed_beats,
        services_died=0,
        rpc_failed_during_outage=logs["cinder-lab-volume"].count("Exception during message"),
        periodic_failed=logs["cinder-lab-volume"].count("periodic task failed"),
    )
    assert logs["cinder-lab-volume"].count("periodic task failed") >= 1
    assert all(log.count("heartbeat failed") >= 2 for log in logs.values()), logs
    assert logs["cinder-lab-volume"].count("Exception during message handling") == 1
    for log in logs.values():
        assert mariadb.password not in log
