"""``make demo``: the note's whole story in one process, no broker needed.

Services run as threads on ``kombu+memory://`` with SQLite in a temporary
directory. The steps are the ``backup-host-mismatch`` scenario's
(:class:`~cinder_lab.scenarios.backup_host_mismatch.NoteStory`); on the way the
demo prints the host strings, the messages (exchange, routing key, the queues the
broker routed them to) and the rows that result.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import prettytable

from cinder_lab import clock, memory_tap, utils
from cinder_lab.cmd import common, launcher
from cinder_lab.cmd.shell import SERVICE_COLUMNS, service_row
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.observe import envelope, topology
from cinder_lab.scenarios.backup_host_mismatch import NoteStory
from cinder_lab.scenarios.base import MEMORY_URL, Stage
from cinder_lab.volume import volume_utils

# The demo's [DEFAULT], in the order it prints; the story's steps set host and backends.
DEFAULTS: dict[str, object] = {
    "host": "maqi-kilo",
    "storage_availability_zone": "nova",
    "transport_url": MEMORY_URL,
    "enabled_backends": "ceph",
    "report_interval": 1,
    "service_down_time": 3,
    "rpc_response_timeout": 10,
}
Events = list[memory_tap.Published]


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


def flush(events: Events) -> None:
    """Print the messages routed since the last flush."""
    for event in events:
        say(envelope.describe(event))
    events.clear()


def services_table() -> None:
    """``cinder-lab service-list``."""
    table(list(SERVICE_COLUMNS[:6]), [service_row(s)[:6] for s in db.service_get_all()])


def host_strings() -> None:
    """Step 1: ``extract_host`` at each level."""
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


def start(story: NoteStory, events: Events) -> None:
    """Step 2: the three services on maqi-kilo, the messages, bindings and consumers."""
    heading("2. Start cinder-volume ([ceph]), cinder-backup and cinder-scheduler")
    text = story.start_kilo().read_text()
    say(text.rstrip().replace("\n", "\n  | ").join(["  | ", ""]))
    say("\n  Messages at start-up (capabilities fanned out to the scheduler):")
    flush(events)
    say("  The first report was DROPPED: no scheduler had bound a fanout queue yet.")
    say("  So the scheduler, once up, fans out publish_service_capabilities and")
    say("  every volume service reports again.")
    say("\n  Bindings on the broker (exchange, routing key -> queue):")
    for ex, key, queue in story.s.broker.bindings():
        if queue.startswith("cinder"):
            say(f"    {ex:<26} {key:<32} -> {queue}")
    services_table()
    say("\n  Who consumes each queue (cinder-lab topology: consumer -> services row):")
    for c in topology.snapshot(None).consumers:
        if c.service is not None:
            say(f"    {c.queue:<58} <- {c.service.binary} {c.service.host}")


def create_and_back_up(story: NoteStory, events: Events) -> tuple[models.Volume, models.Backup]:
    """Steps 3 and 4: a volume through the scheduler, then its backup."""
    heading("3. cinder-lab create 1: API -> scheduler -> cinder-volume.maqi-kilo@ceph")
    vol = story.s.create_volume(1, name="vol-1")
    flush(events)
    say(f"\n  volume {vol.id}: status={vol.status} host={vol.host}")

    heading("4. cinder-lab backup-create: cast to extract_host(host, 'host')")
    say(f"  extract_host({vol.host!r}, 'host') = {volume_utils.extract_host(vol.host, 'host')!r}")
    bak = story.s.create_backup(vol.id)
    flush(events)
    say(f"\n  backup {bak.id}: status={bak.status} host={bak.host} volume_host={bak.volume_host}")
    say("  No message to cinder-volume: Kilo's cinder-backup read the volume through its own")
    say("  driver for [ceph] (built as CONF.host@ceph), so it had to run on the volume's host.")
    return vol, bak


def failure(story: NoteStory, events: Events) -> models.Volume:
    """Step 5: ``[ceph] host = new_host_name``; the new volume's backup is refused."""
    heading("5. The note's failure: [ceph] host = new_host_name")
    say("  | [ceph]\n  | volume_backend_name = ceph\n  | host = new_host_name")
    say("  cinder-volume restarts as new_host_name@ceph; cinder-backup stays maqi-kilo.")
    say("  (waiting for maqi-kilo@ceph to turn down, or the scheduler may still pick it)")
    story.move_backend_host()
    vol2 = story.s.create_volume(1, volume_type="ceph", name="vol-2")
    flush(events)
    say(
        f"\n  new volume host: {vol2.host}; backup would go to cinder-backup."
        f"{volume_utils.extract_host(vol2.host, 'host')}, but cinder-backup is "
        "registered as maqi-kilo"
    )
    refused = story.refused_backup(vol2.id)
    if refused is None:
        say("  !! the backup was accepted: the lab did not reproduce the note")
        raise SystemExit(1)
    say(f"  backup-create fails: {refused}")
    flush(events)
    say("  (nothing was sent: the API refused before casting)")
    return vol2


def fix(story: NoteStory, events: Events, vol2: models.Volume) -> models.Backup:
    """Step 6: ``[DEFAULT] host = new_host_name``; backups work; the old rows and queues stay."""
    heading("6. The fix: [DEFAULT] host = new_host_name, every service restarted")
    story.fix_default_host()
    events.clear()
    bak2 = story.s.create_backup(vol2.id)
    flush(events)
    say(f"\n  backup {bak2.id}: status={bak2.status} host={bak2.host}")
    say("\n  The old rows stay behind and turn down after service_down_time (3 s):")
    story.old_rows_down()
    services_table()
    say("\n  The old queues stay too, with nobody consuming them (cinder-lab topology):")
    for q in topology.snapshot(None).dead_ends():
        say(f"    !! {q.name}: {q.messages} message(s), no consumer; {topology.dead_end_note(q)}")
    return bak2


def story(tmp: str) -> None:
    """The demo's steps, from host strings to the note's failure and fix."""
    host_strings()
    stage = Stage("cinder-lab", Path(tmp), out=say, defaults=DEFAULTS, database="cinder-lab.sqlite")
    note = NoteStory(stage)
    try:
        with stage.watch() as events:
            start(note, events)
            vol, bak = create_and_back_up(note, events)
            vol2 = failure(note, events)
            bak2 = fix(note, events, vol2)
        ok = (
            vol.host == "maqi-kilo@ceph#ceph"
            and bak.status == "available"
            and vol2.host == "new_host_name@ceph#ceph"
            and bak2.status == "available"
            and not any(
                utils.service_is_up(s)
                for s in db.service_get_all()
                if s.host.startswith("maqi-kilo")
            )
        )
    finally:
        stage.close()
    heading("Done" if ok else "The lab did not behave as the note describes")
    say("  This was Kilo (lab_release = kilo). Today's route: lab_release = current, and")
    say("  cinder-lab scenario run backup-through-the-releases.")
    say("  Watch it live: cinder-lab --config-file etc/cinder-lab/in-process.conf web,")
    say("  then open http://127.0.0.1:8080/ (story mode runs this story step by step).")
    if not ok:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cinder-lab-demo`` (``make demo``)."""
    common.setup_logging(logging.ERROR)
    memory_tap.install()

    def body() -> int:
        # One process on kombu+memory://: the waits for rows to turn down skip time
        # on the lab's clock instead of sleeping through it (the same rows, sooner).
        clock.take_control()
        # And the services stop as promptly as the launcher's do (futurist's idle check).
        launcher.prompt_stop_defaults(CONF)
        try:
            with tempfile.TemporaryDirectory(prefix="cinder-lab-demo-") as tmp:
                story(tmp)
        finally:
            clock.release()
        return 0

    return common.run("cinder-lab-demo", body)


if __name__ == "__main__":
    sys.exit(main())
