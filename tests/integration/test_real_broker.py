"""The console scripts as processes on the real RabbitMQ: what the broker shows.

Each test has its own vhost, so the listings are exactly the lab's.
"""

from __future__ import annotations

import json

from cinder_lab.db import api as db
from tests.procs import run_cli, wait_until
from tests.services import all_up, fanout_queues, rows, wait_pools


def channels_of(consumers):
    """channel pid -> set of queues it consumes."""
    by_channel: dict[str, set[str]] = {}
    for c in consumers:
        by_channel.setdefault(str(c["channel_pid"]), set()).add(c["queue_name"])
    return by_channel


def test_one_host_two_backends_topology(rabbit_lab):
    host = "maqi-openstack.novalocal"
    conf = rabbit_lab.conf(
        "openstack", host, {"lvmdriver-1": "lvmdriver-1", "whatever_it_is": "new_lvm_backend"}
    )
    rabbit_lab.start("cinder-lab-volume", conf)
    rabbit_lab.start("cinder-lab-scheduler", conf)
    backends = [f"{host}@lvmdriver-1", f"{host}@whatever_it_is"]
    wait_until(
        all_up(*[("cinder-volume", b) for b in backends], ("cinder-scheduler", host)),
        what="two volume rows and a scheduler row up",
    )
    wait_pools(conf, 2)

    vh = rabbit_lab.vhost
    queues = vh.queues()
    volume_fanouts = fanout_queues(queues, "cinder-volume")
    scheduler_fanouts = fanout_queues(queues, "cinder-scheduler")
    assert len(volume_fanouts) == 2 and len(scheduler_fanouts) == 1
    named = {
        "cinder-volume",
        f"cinder-volume.{host}@lvmdriver-1",
        f"cinder-volume.{host}@whatever_it_is",
        "cinder-scheduler",
        f"cinder-scheduler.{host}",
    }
    cinder_queues = {q for q in queues if not q.startswith("reply_")}
    assert cinder_queues == named | set(volume_fanouts) | set(scheduler_fanouts)
    # Both backend processes consume the shared topic queue; every other queue has one.
    assert queues["cinder-volume"]["consumers"] == 2
    assert all(queues[q]["consumers"] == 1 for q in cinder_queues - {"cinder-volume"})

    assert vh.exchanges() == {
        "openstack": "topic",
        "cinder-volume_fanout": "fanout",
        "cinder-scheduler_fanout": "fanout",
    }
    expected_bindings = {("openstack", q, q) for q in named}
    expected_bindings |= {("cinder-volume_fanout", "cinder-volume", q) for q in volume_fanouts}
    expected_bindings |= {
        ("cinder-scheduler_fanout", "cinder-scheduler", q) for q in scheduler_fanouts
    }
    assert vh.bindings() == expected_bindings

    # Which consumer serves which queue: one channel per process, three queues each.
    by_channel = channels_of(c for c in vh.consumers() if not c["queue_name"].startswith("reply_"))
    for backend in backends:
        (channel,) = [ch for ch, qs in by_channel.items() if f"cinder-volume.{backend}" in qs]
        qs = by_channel[channel]
        assert "cinder-volume" in qs and len(fanout_queues(qs, "cinder-volume")) == 1
        assert len(qs) == 3

    out = run_cli(conf, "create", "1", "--volume-type", "new_lvm_backend", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume = json.loads(out.stdout)
    assert volume["status"] == "available"
    assert volume["os-vol-host-attr:host"] == f"{host}@whatever_it_is#new_lvm_backend"


def test_kilo_host_volume_backup_scheduler(rabbit_lab):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    for script in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler"):
        rabbit_lab.start(script, conf)
    wait_until(
        all_up(
            ("cinder-volume", "maqi-kilo@ceph"),
            ("cinder-backup", "maqi-kilo"),
            ("cinder-scheduler", "maqi-kilo"),
        ),
        what="volume, backup and scheduler rows up",
    )
    wait_pools(conf, 1)
    vh = rabbit_lab.vhost
    queues = vh.queues()
    named = {
        "cinder-volume",
        "cinder-volume.maqi-kilo@ceph",
        "cinder-backup",
        "cinder-backup.maqi-kilo",
        "cinder-scheduler",
        "cinder-scheduler.maqi-kilo",
    }
    fanouts = {
        topic: fanout_queues(queues, topic)
        for topic in ("cinder-volume", "cinder-backup", "cinder-scheduler")
    }
    assert all(len(f) == 1 for f in fanouts.values()), fanouts
    cinder_queues = {q for q in queues if not q.startswith("reply_")}
    assert cinder_queues == named | {f[0] for f in fanouts.values()}
    assert {q: queues[q]["consumers"] for q in cinder_queues} == {q: 1 for q in cinder_queues}
    assert set(vh.exchanges()) == {
        "openstack",
        "cinder-volume_fanout",
        "cinder-backup_fanout",
        "cinder-scheduler_fanout",
    }
    bindings = vh.bindings()
    assert ("openstack", "cinder-backup.maqi-kilo", "cinder-backup.maqi-kilo") in bindings
    assert ("cinder-backup_fanout", "cinder-backup", fanouts["cinder-backup"][0]) in bindings

    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume = json.loads(out.stdout)
    assert volume["os-vol-host-attr:host"] == "maqi-kilo@ceph#ceph"
    out = run_cli(conf, "backup-create", volume["id"], "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    backup = json.loads(out.stdout)
    assert (backup["status"], backup["host"], backup["volume_host"]) == (
        "available",
        "maqi-kilo",
        "maqi-kilo@ceph",
    )
    # Kilo's backup read the volume through its own driver: it made no call, so no
    # reply queue of the backup process exists (the scheduler's get-pools client has gone).
    backup_channel = [
        c["channel_pid"] for c in vh.consumers() if c["queue_name"] == "cinder-backup.maqi-kilo"
    ]
    reply = [c for c in vh.consumers() if c["queue_name"].startswith("reply_")]
    assert backup_channel and not {c["channel_pid"] for c in reply} & set(backup_channel)


def test_killed_backup_service_goes_down_and_backups_are_refused(rabbit_lab):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    rabbit_lab.start("cinder-lab-volume", conf)
    backup_proc = rabbit_lab.start("cinder-lab-backup", conf)
    rabbit_lab.start("cinder-lab-scheduler", conf)
    wait_until(all_up(("cinder-backup", "maqi-kilo"), ("cinder-scheduler", "maqi-kilo")))
    wait_pools(conf, 1)
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    volume_id = json.loads(out.stdout)["id"]

    rabbit_lab.procs.remove(backup_proc)
    backup_proc.kill()
    wait_until(lambda: not rows()[("cinder-backup", "maqi-kilo")], what="backup row down")
    listed = json.loads(
        run_cli(conf, "service-list", "--binary", "cinder-backup", "-f", "json").stdout
    )
    assert [(r["Host"], r["State"]) for r in listed] == [("maqi-kilo", "down")]

    out = run_cli(conf, "backup-create", volume_id)
    assert out.returncode == 1
    assert out.stderr.strip() == "Service cinder-backup could not be found."
    assert db.backup_get_all() == []
