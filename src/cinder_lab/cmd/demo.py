"""``make demo``: the note's whole story in one process, no broker needed.

Services run as threads on ``kombu+memory://`` with SQLite in a temporary
directory. Each step prints the host strings, the messages (exchange, routing
key, the queues the broker routed them to) and the rows that result.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable

import prettytable

from cinder_lab import context, exception, memory_tap, utils
from cinder_lab.backup import api as backup_api
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.observe import topology
from cinder_lab.volume import api as volume_api
from cinder_lab.volume import volume_utils

CONFIG = """\
[DEFAULT]
host = maqi-kilo
storage_availability_zone = nova
transport_url = kombu+memory:////
enabled_backends = ceph
report_interval = 1
service_down_time = 3
rpc_response_timeout = 10

[database]
connection = sqlite:///{tmp}/cinder-lab.sqlite

[ceph]
volume_backend_name = ceph
{ceph_extra}"""


def say(text: str = "") -> None:
    """Print a line of the story."""
    print(text, flush=True)


def heading(text: str) -> None:
    """Print a step title."""
    say()
    say(f"== {text} ".ljust(78, "="))


def table(columns: list[str], rows: list[tuple]) -> None:
    """Print rows the way the cinder client does."""
    t = prettytable.PrettyTable(columns)
    t.align = "l"
    for row in rows:
        t.add_row(row)
    say("\n".join("  " + line for line in t.get_string().splitlines()))


class Recorder:
    """Collects the messages the in-process broker routes during one step."""

    def __init__(self) -> None:
        self.events: list[memory_tap.Published] = []
        memory_tap.subscribe(self.events.append)

    def flush(self) -> None:
        for event in self.events:
            say(memory_tap.describe(event))
        self.events.clear()


def services_table() -> None:
    """``cinder-lab service-list``."""
    from cinder_lab.cmd.shell import SERVICE_COLUMNS, service_row

    table(list(SERVICE_COLUMNS[:6]), [service_row(s)[:6] for s in db.service_get_all()])


def wait_status(get: Callable[[str], object], obj_id: str, busy: str) -> object:
    """Wait until a row leaves its busy status."""
    deadline = time.monotonic() + 30
    row = get(obj_id)
    while row.status == busy and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
        row = get(obj_id)
    return row


def load(tmp: str, ceph_extra: str = "", default_host: str = "maqi-kilo") -> str:
    """Write the embedded config and parse it into CONF."""
    path = os.path.join(tmp, "cinder-lab.conf")
    text = CONFIG.format(tmp=tmp, ceph_extra=ceph_extra).replace(
        "host = maqi-kilo", f"host = {default_host}"
    )
    with open(path, "w") as f:
        f.write(text)
    config.parse_args(["--config-file", path])
    return text


def story(tmp: str) -> None:
    """The demo's steps, from host strings to the note's failure and fix."""
    heading("1. The host string: host@backend#pool")
    for host in ("maqi-openstack.novalocal@lvmdriver-1#lvmdriver-1", "HostX@BackendY"):
        say(f"  extract_host({host!r}):")
        for level in ("host", "backend", "pool"):
            say(f"    level={level:<8} -> {volume_utils.extract_host(host, level)!r}")
        say(
            f"    level=pool, default_pool_name=True -> "
            f"{volume_utils.extract_host(host, 'pool', True)!r}"
        )
    say("  volume RPCs route to the backend level, backup RPCs to the host level.")

    heading("2. Start cinder-volume ([ceph]), cinder-backup and cinder-scheduler")
    say(load(tmp).rstrip().replace("\n", "\n  | ").join(["  | ", ""]))
    rec = Recorder()
    lab = Lab()
    lab.start_all()
    lab.wait_for_pools(1)
    say("\n  Messages at start-up (capabilities fanned out to the scheduler):")
    rec.flush()
    say("  The first report was DROPPED: no scheduler had bound a fanout queue yet.")
    say("  So the scheduler, once up, fans out publish_service_capabilities and")
    say("  every volume service reports again.")
    say("\n  Bindings on the broker (exchange, routing key -> queue):")
    for ex, key, queue in memory_tap.bindings():
        if queue.startswith("cinder"):
            say(f"    {ex:<26} {key:<32} -> {queue}")
    services_table()
    say("\n  Who consumes each queue (cinder-lab topology: consumer -> services row):")
    for c in topology.snapshot(None).consumers:
        if c.service is not None:
            say(f"    {c.queue:<58} <- {c.service.binary} {c.service.host}")

    ctxt = context.get_admin_context()
    heading("3. cinder-lab create 1: API -> scheduler -> cinder-volume.maqi-kilo@ceph")
    vol = volume_api.API().create(ctxt, 1, name="vol-1")
    vol = wait_status(db.volume_get, vol.id, "creating")
    rec.flush()
    say(f"\n  volume {vol.id}: status={vol.status} host={vol.host}")

    heading("4. cinder-lab backup-create: cast to extract_host(host, 'host')")
    say(f"  extract_host({vol.host!r}, 'host') = {volume_utils.extract_host(vol.host, 'host')!r}")
    bak = backup_api.API().create(ctxt, vol.id)
    bak = wait_status(db.backup_get, bak.id, "creating")
    rec.flush()
    say(f"\n  backup {bak.id}: status={bak.status} host={bak.host} volume_host={bak.volume_host}")

    heading("5. The note's failure: [ceph] host = new_host_name")
    say("  | [ceph]\n  | volume_backend_name = ceph\n  | host = new_host_name")
    say("  cinder-volume restarts as new_host_name@ceph; cinder-backup stays maqi-kilo.")
    lab.stop(lab.find("cinder-volume", "maqi-kilo@ceph"))
    say("  (waiting for maqi-kilo@ceph to turn down, or the scheduler may still pick it)")
    while utils.service_is_up(db.service_get_by_args("maqi-kilo@ceph", "cinder-volume")):
        time.sleep(0.2)
    load(tmp, ceph_extra="host = new_host_name\n")
    lab.start_volume()
    lab.wait_for_pools(2)
    vol2 = volume_api.API().create(ctxt, 1, name="vol-2", volume_type="ceph")
    vol2 = wait_status(db.volume_get, vol2.id, "creating")
    rec.flush()
    say(
        f"\n  new volume host: {vol2.host}; backup would go to cinder-backup."
        f"{volume_utils.extract_host(vol2.host, 'host')}, but cinder-backup is "
        "registered as maqi-kilo"
    )
    try:
        backup_api.API().create(ctxt, vol2.id)
        say("  !! the backup was accepted: the lab did not reproduce the note")
        raise SystemExit(1)
    except exception.ServiceNotFound as e:
        say(f"  backup-create fails: {e}")
    rec.flush()
    say("  (nothing was sent: the API refused before casting)")

    heading("6. The fix: [DEFAULT] host = new_host_name, every service restarted")
    lab.stop_all()
    load(tmp, default_host="new_host_name")
    lab.start_all()
    lab.wait_for_pools(1)
    rec.events.clear()
    bak2 = backup_api.API().create(ctxt, vol2.id)
    bak2 = wait_status(db.backup_get, bak2.id, "creating")
    rec.flush()
    say(f"\n  backup {bak2.id}: status={bak2.status} host={bak2.host}")
    say("\n  The old rows stay behind and turn down after service_down_time (3 s):")
    time.sleep(3.5)
    services_table()
    say("\n  The old queues stay too, with nobody consuming them (cinder-lab topology):")
    for q in topology.snapshot(None).dead_ends():
        say(f"    !! {q.name}: {q.messages} message(s), no consumer; {topology.dead_end_note(q)}")
    lab.close()

    ok = (
        vol.host == "maqi-kilo@ceph#ceph"
        and bak.status == "available"
        and vol2.host == "new_host_name@ceph#ceph"
        and bak2.status == "available"
        and not any(
            utils.service_is_up(s) for s in db.service_get_all() if s.host.startswith("maqi-kilo")
        )
    )
    heading("Done" if ok else "The lab did not behave as the note describes")
    if not ok:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cinder-lab-demo`` (``make demo``)."""
    common.setup_logging(logging.ERROR)
    memory_tap.install()

    def body() -> int:
        with tempfile.TemporaryDirectory(prefix="cinder-lab-demo-") as tmp:
            story(tmp)
            db.dispose_engine()
        return 0

    return common.run("cinder-lab-demo", body)


if __name__ == "__main__":
    sys.exit(main())
