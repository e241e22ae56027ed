"""Fault: services SIGKILLed in the middle of a request.

RPC is at-most-once: the server acks before the method runs, so a killed
process takes its request with it. Today the volume and scheduler managers
record what they are working on (a ``workers`` row, as Cinder does since
Newton); on restart each turns exactly those records ``error`` with a reason.
cinder-backup keeps no such row: it resets every ``creating`` backup of its
host. Nothing stays ``creating`` forever, and a retry is served. (Kilo had no
``workers`` table: tests/unit/test_cleanup_at_start.py shows what it did.)
"""

from __future__ import annotations

import json
import os
import signal

from cinder_lab import context, rpc
from cinder_lab.backup.manager import INCOMPLETE
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.objects.volume import Volume
from cinder_lab.volume import api as volume_api
from cinder_lab.volume import rpcapi as volume_rpcapi
from tests.procs import LabProcess, run_cli, wait_until
from tests.services import all_up

SERVICES = (
    ("cinder-volume", "maqi-kilo@ceph"),
    ("cinder-backup", "maqi-kilo"),
    ("cinder-scheduler", "maqi-kilo"),
)
SCRIPTS = ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (cinder-lab-volume forks one per backend)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def kill_hard(proc: LabProcess) -> None:
    """SIGKILL a service and its children: no cleanup, no last words."""
    for child in children(proc.proc.pid):
        os.kill(child, signal.SIGKILL)
    proc.kill()


def working_on(resource_id: str) -> bool:
    return any(
        w.resource_id == resource_id for s in db.service_get_all() for w in db.worker_get_all(s.id)
    )


def test_killed_mid_request_ends_in_error_with_reason(rabbit_lab, report):
    today = "lab_release = current"
    conf = rabbit_lab.conf("today", "maqi-kilo", {"ceph": "ceph"}, extra_default=today)
    slow = rabbit_lab.conf(
        "slow",
        "maqi-kilo",
        {"ceph": "ceph"},
        extra_default=f"{today}\nfake_work_seconds = create_backup:300,create_volume:300",
    )
    procs = [rabbit_lab.start(script, slow) for script in SCRIPTS]
    wait_until(all_up(*SERVICES), what="services up")
    source = db.volume_create(
        {"size": 1, "status": "available", "host": "maqi-kilo@ceph#ceph", "name": "source"}
    )
    placed = db.volume_create(
        {"size": 1, "status": "creating", "host": "maqi-kilo@ceph#ceph", "name": "placed"}
    )

    # The scheduler places volumes and backups only once it heard of them, or fails them at once.
    wait_until(lambda: run_cli(slow, "get-pools", "-f", "value").stdout.strip(), what="pools")
    # 1. a backup in cinder-backup
    out = run_cli(slow, "backup-create", source.id, "-f", "json")
    assert out.returncode == 0, out.stderr
    backup_id = json.loads(out.stdout)["id"]
    # 2. a volume in cinder-volume (cast straight to its backend, as the scheduler would)
    rpc.init(CONF)
    try:
        ctxt = context.get_admin_context()
        spec = volume_api.request_spec(placed, ctxt)
        volume_rpcapi.VolumeAPI().create_volume(ctxt, Volume.from_row(placed), spec, {})
    finally:
        rpc.cleanup()
    # 3. a volume in cinder-scheduler
    out = run_cli(slow, "create", "1", "--name", "scheduling", "-f", "json")
    assert out.returncode == 0, out.stderr
    scheduling_id = json.loads(out.stdout)["id"]

    requests = [backup_id, placed.id, scheduling_id]
    wait_until(lambda: all(working_on(r) for r in requests[1:]), what="both volumes in work")
    wait_until(lambda: "Create backup started" in procs[1].output(), what="the backup in work")
    for proc in procs:
        rabbit_lab.procs.remove(proc)
        kill_hard(proc)
    assert db.backup_get(backup_id).status == "creating"
    assert {db.volume_get(v).status for v in (placed.id, scheduling_id)} == {"creating"}

    restarted = [rabbit_lab.start(script, conf) for script in SCRIPTS]
    # The rows still look up (the last beats are fresh): wait for the new processes to serve,
    # which they do only after init_host cleaned up.
    wait_until(
        lambda: all("INFO cinder_lab.service starting" in p.output() for p in restarted),
        what="restarted services serving",
    )
    backup = db.backup_get(backup_id)
    placed_now, scheduling_now = db.volume_get(placed.id), db.volume_get(scheduling_id)
    assert (backup.status, backup.fail_reason) == ("error", INCOMPLETE)
    assert db.volume_get(source.id).status == "available"
    assert placed_now.status == "error"
    assert "cinder-volume maqi-kilo@ceph restarted" in placed_now.status_reason
    assert scheduling_now.status == "error"
    assert "cinder-scheduler maqi-kilo restarted" in scheduling_now.status_reason
    assert not any(working_on(r) for r in requests[1:])

    # Served on retry: the same backup request, sent again, completes.
    out = run_cli(conf, "backup-create", source.id, "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "available"

    ended = [backup.status, placed_now.status, scheduling_now.status]
    report(
        "services killed mid-request",
        sent=len(requests),
        served=0,
        error_with_reason=ended.count("error"),
        left_creating=ended.count("creating"),
        served_on_retry=1,
    )
    assert sum(p.output().count("was interrupted when") for p in restarted) == 2
    assert restarted[1].output().count("Resetting backup") == 1
