"""Issue 10 on the real RabbitMQ: each release's messages and topology, from real processes.

cinder-volume, cinder-backup and cinder-scheduler run as processes of their
own (``rabbit_lab``, a vhost of this test); the CLI is the API. The firehose
shows every publish: for a create and a backup, each message's method,
routing key, version, argument names and number of ``_context_*`` keys must
be the release's, and the queues, exchanges and consumers on the broker too.
"""

from __future__ import annotations

import json

import pytest

from cinder_lab.db import api as db
from cinder_lab.scenarios.broker_view import RabbitView
from tests.procs import run_cli, wait_until
from tests.releases import (
    BACKEND,
    CONTEXT_KEYS,
    EXPECTED,
    QUEUE,
    check_filter_properties,
    context_keys,
    requests,
)
from tests.services import all_up, wait_pools


@pytest.mark.parametrize("release", ["kilo", "current"])
def test_each_release_on_rabbitmq(rabbit_lab, release):
    conf = rabbit_lab.conf(
        release, "maqi-kilo", {"ceph": "ceph"}, extra_default=f"lab_release = {release}"
    )
    for script in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler"):
        rabbit_lab.start(script, conf)
    wait_until(all_up(("cinder-volume", BACKEND), ("cinder-backup", "maqi-kilo")), what="up rows")
    wait_pools(conf, 1)
    view = RabbitView()

    with view.watch() as created:
        out = run_cli(conf, "create", "1", "--wait", "-f", "json")
        assert out.returncode == 0, out.stderr
    volume = db.volume_get(json.loads(out.stdout)["id"])
    assert (volume.status, volume.host) == ("available", f"{BACKEND}#ceph")
    with view.watch() as backed_up:
        out = run_cli(conf, "backup-create", volume.id, "--wait", "-f", "json")
        assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "available"

    assert requests(created) == EXPECTED[release]["create"]
    assert requests(backed_up) == EXPECTED[release]["backup"]
    assert context_keys(created + backed_up) == {CONTEXT_KEYS[release]}
    to_backend = next(e for e in created if e.routing_key.startswith("cinder-volume."))
    check_filter_properties(release, to_backend.message["args"])
    replies = [e for e in backed_up if e.kind == "reply"]
    assert len(replies) == (3 if release == "current" else 0)
    if release == "current":
        # Each reply goes to the backup process's reply queue through the default exchange.
        assert {(e.exchange, e.routing_key.startswith("reply_")) for e in replies} == {("", True)}
        ask = next(e for e in backed_up if e.message.get("method") == "get_backup_device")
        assert ask.message["args"]["backup"]["versioned_object.name"] == "Backup"
        assert ask.message["_context_message_resource_type"] == "VOLUME_BACKUP"

    queues = rabbit_lab.vhost.queues()
    exchanges = rabbit_lab.vhost.exchanges()
    consumers = {name: q["consumers"] for name, q in queues.items()}
    assert consumers["cinder-backup.maqi-kilo"] == 1
    assert consumers["cinder-scheduler"] == 1
    if release == "kilo":
        assert consumers[f"cinder-volume.{BACKEND}"] == 1
        assert QUEUE not in queues
        assert f"cinder-volume.{BACKEND}_fanout" not in exchanges
    else:
        # Kilo's server queue is also the second server's topic queue: two consumers.
        assert consumers[f"cinder-volume.{BACKEND}"] == 2
        assert consumers[QUEUE] == 1
        assert exchanges[f"cinder-volume.{BACKEND}_fanout"] == "fanout"
        assert [q for q in queues if q.startswith(f"cinder-volume.{BACKEND}_fanout_")]
        # The backup process's reply queue (get-pools of wait_pools made another one).
        assert {e.routing_key for e in replies} <= set(queues)
