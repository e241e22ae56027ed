"""topology, trace and route on kombu+memory://: the in-process views, no broker."""

from __future__ import annotations

import json
import os
import re
from types import SimpleNamespace

import pytest

from cinder_lab import context, exception, memory_tap, utils
from cinder_lab.backup import api as backup_api
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.observe import envelope, graph, graph_page, route, topology, trace
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from cinder_lab.volume import api as volume_api
from tests.procs import run_cli
from tests.procs import wait_status as wait


def test_topology_maps_each_consumer_to_its_service(lab):
    topo = topology.snapshot(None)
    rows = {(s.binary, s.host): s.id for s in db.service_get_all()}
    served = {(c.queue, c.service.binary, c.service.host, c.service.id) for c in topo.consumers}
    expected_server_queues = {
        ("cinder-volume.maqi-kilo@ceph", "cinder-volume", "maqi-kilo@ceph"),
        ("cinder-backup.maqi-kilo", "cinder-backup", "maqi-kilo"),
        ("cinder-scheduler.maqi-kilo", "cinder-scheduler", "maqi-kilo"),
        ("cinder-volume", "cinder-volume", "maqi-kilo@ceph"),
        ("cinder-backup", "cinder-backup", "maqi-kilo"),
        ("cinder-scheduler", "cinder-scheduler", "maqi-kilo"),
    }
    assert {(q, b, h) for q, b, h, _id in served if not q.count("_fanout_")} == (
        expected_server_queues
    )
    assert all(rows[(b, h)] == row_id for _q, b, h, row_id in served)
    # Each topic's fanout queue is consumed by that topic's service, and nothing is dead.
    for q, b, _h, _id in served:
        if "_fanout_" in q:
            assert q.startswith(f"{b}_fanout_")
    assert topo.dead_ends() == []
    assert {c.pid for c in topo.consumers} == {topo.consumers[0].pid}
    assert {e.name: e.type for e in topo.exchanges} == {
        "openstack": "topic",
        "cinder-volume_fanout": "fanout",
        "cinder-backup_fanout": "fanout",
        "cinder-scheduler_fanout": "fanout",
    }


def test_stopped_service_leaves_a_dead_end_in_every_rendering(lab):
    lab.stop(lab.find("cinder-backup", "maqi-kilo"))
    # Kilo's cast (the default lab_release): only backup_id travels, to server=backup.host.
    backup = SimpleNamespace(id="b", host="maqi-kilo")
    backup_rpcapi.BackupAPI().create_backup(context.get_admin_context(), backup)
    topo = topology.snapshot(None)
    dead = {q.name: q for q in topo.dead_ends()}
    # The server queues outlive the process; the auto-delete fanout queue does not.
    assert set(dead) == {"cinder-backup", "cinder-backup.maqi-kilo"}
    assert dead["cinder-backup.maqi-kilo"].messages == 1
    assert dead["cinder-backup.maqi-kilo"].service.host == "maqi-kilo"

    mermaid = graph.mermaid(topo)
    assert mermaid.startswith("flowchart LR\n")
    (dead_line,) = [line for line in mermaid.splitlines() if line.startswith("  class ")]
    dead_ids = dead_line.split()[1].split(",")
    labels = {m[0]: m[1] for m in re.findall(r"^  (n\d+)\W+\"?([^<\"]+)", mermaid, re.M)}
    assert {labels[i] for i in dead_ids} >= {"cinder-backup", "cinder-backup.maqi-kilo"}
    assert "1 msg, 0 consumer(s)<br/>NO CONSUMER" in mermaid

    dot = graph.dot(topo)
    assert dot.startswith("digraph topology {") and dot.rstrip().endswith("}")
    assert 'cinder-backup.maqi-kilo\\n1 msg, 0 consumer(s)\\nNO CONSUMER", style=filled' in dot

    page = graph_page.html_page(topo)
    assert "NO CONSUMER" in page and 'class="dead"' in page
    # Self-contained: the scripts are inline; no script, stylesheet or image is fetched.
    assert "cytoscape" in page and "CinderGraph.create" in page
    assert not re.search(r"<script[^>]+src=|<link|<img|@import|<iframe", page)
    elements = {e["data"]["id"]: e for e in graph_page.elements(topo)}
    assert elements["q:cinder-backup.maqi-kilo"]["data"]["dead"] is True
    assert (
        "dead"
        in elements[
            "q:cinder-backup.maqi-kilo->svc:" + str(dead["cinder-backup.maqi-kilo"].service.id)
        ]["classes"]
    )


def test_trace_shows_cast_call_reply_and_a_dropped_cast(lab):
    ctxt = context.get_admin_context()
    vol = wait(db.volume_get, volume_api.API().create(ctxt, 1, name="v").id)
    events: list[trace.TraceEvent] = []
    with trace.MemoryTap() as tap:
        records = tap.records(poll=0.05)
        correlator = trace.Correlator(trace.memory_resolver(), grace=0.5)
        bak = backup_api.API().create(ctxt, vol.id)
        assert wait(db.backup_get, bak.id).status == "available"
        # Kilo's backup reads the volume locally: no call. get-pools is Kilo's call.
        assert scheduler_rpcapi.SchedulerAPI().get_pools(ctxt)
        lost = SimpleNamespace(id="b-1", host="no-such-host")
        backup_rpcapi.BackupAPI().create_backup(ctxt, lost)
        trace.run(records, correlator, events.append, count=4, timeout=5)

    cast, call, reply, dropped = events
    assert (cast.kind, cast.method, cast.exchange) == ("cast", "create_backup", "openstack")
    assert cast.routing_key == "cinder-backup.maqi-kilo"
    assert cast.queues == ["cinder-backup.maqi-kilo"]
    assert cast.args == {"backup_id": bak.id}
    assert cast.consumed_by == [f"cinder-backup maqi-kilo (pid {_pid()})"]
    assert cast.request_id and cast.request_id == call.request_id

    assert (call.kind, call.method, call.routing_key) == ("call", "get_pools", "cinder-scheduler")
    assert call.args == {"filters": None}
    assert call.reply_queue.startswith("reply_")
    assert call.consumed_by == [f"cinder-scheduler maqi-kilo (pid {_pid()})"]

    assert (reply.kind, reply.reply_to, reply.exchange) == ("reply", "get_pools", "")
    assert reply.routing_key == call.reply_queue == reply.queues[0]
    assert reply.msg_id == call.msg_id

    assert (dropped.kind, dropped.routing_key, dropped.queues) == (
        "cast",
        "cinder-backup.no-such-host",
        [],
    )
    assert dropped.dropped and dropped.to_dict()["dropped"] is True
    assert "!! DROPPED" in trace.format_event(dropped)
    assert "DROPPED" not in trace.format_event(cast)


def _pid() -> int:
    return os.getpid()


def test_route_explains_the_notes_failure(memory_conf):
    # The rows the note ended with: backup as maqi-kilo, volume as new_host_name@ceph.
    db.service_create({"host": "maqi-kilo", "binary": "cinder-backup", "topic": "cinder-backup"})
    db.service_create(
        {"host": "new_host_name@ceph", "binary": "cinder-volume", "topic": "cinder-volume"}
    )
    vol = db.volume_create({"size": 1, "status": "available", "host": "new_host_name@ceph#ceph"})
    explained = route.explain(vol.id, "backup")
    fields = dict(explained.fields)
    assert fields["extract_host(host, 'host')"] == "new_host_name"
    assert fields["routing key"] == "cinder-backup.new_host_name"
    assert fields["target"] == "Target(topic='cinder-backup', server='new_host_name', fanout=False)"
    assert not explained.ok
    assert explained.verdict.startswith(
        "REFUSED by backup/api.py: Service cinder-backup could not be found."
    )
    assert "no cinder-backup service with host 'new_host_name'" in explained.verdict
    assert "registered: 'maqi-kilo'" in explained.verdict
    # The fix: [DEFAULT] host = new_host_name for the backup service too.
    db.service_create(
        {"host": "new_host_name", "binary": "cinder-backup", "topic": "cinder-backup"}
    )
    fixed = route.explain(vol.id, "backup")
    assert fixed.ok and fixed.verdict.startswith("OK: cinder-backup new_host_name")


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"disabled": True, "disabled_reason": "maintenance"}, "disabled (maintenance)"),
        ({"availability_zone": "az2"}, "availability zone mismatch: service in 'az2'"),
        ({"updated_at": utils.utcnow().replace(year=2000)}, "down: last heartbeat"),
    ],
)
def test_route_gives_the_reason_backup_api_would_refuse(memory_conf, change, reason):
    row = db.service_create(
        {
            "host": "maqi-kilo",
            "binary": "cinder-backup",
            "topic": "cinder-backup",
            "availability_zone": "nova",
        }
    )
    db.service_heartbeat(row.id)
    db.service_update(row.id, change)
    vol = db.volume_create(
        {
            "size": 1,
            "status": "available",
            "host": "maqi-kilo@ceph#ceph",
            "availability_zone": "nova",
        }
    )
    explained = route.explain(vol.id, "backup")
    assert "Service cinder-backup could not be found." in explained.verdict
    assert reason in explained.verdict
    # backup/api.py agrees: its own check turns this service down too.
    assert backup_api.API._is_backup_service_enabled(None, vol, "maqi-kilo") is False


def test_route_volume_action_and_bad_host_strings(memory_conf):
    explained = route.explain("HostA@BackendB#PoolC", "volume")
    fields = dict(explained.fields)
    assert fields["routing key"] == "cinder-volume.HostA@BackendB"
    assert fields["extract_host(host, 'pool')"] == "PoolC"
    assert explained.verdict == "DEAD: no cinder-volume service HostA@BackendB (registered: none)"
    for bad in ("", "a b", "a#b#c", "a@b@c", "@b", "a@", "a#p@b"):
        with pytest.raises(exception.InvalidHost):
            route.explain(bad)
    with pytest.raises(exception.VolumeNotFound):
        route.explain("00000000-0000-0000-0000-000000000000")


def test_route_cli_one_line_errors(memory_conf):
    out = run_cli(memory_conf, "route", "a b")
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.strip() == "Invalid host: 'a b' is not host[@backend][#pool]"
    out = run_cli(memory_conf, "route", "HostA", "--action", "nope")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_topology_cli_in_single_process_mode(memory_conf):
    out = run_cli(memory_conf, "topology", "-f", "json")
    assert out.returncode == 0, out.stderr
    topo = json.loads(out.stdout)
    services = {(c["queue"], c["service"]["host"]) for c in topo["consumers"]}
    assert ("cinder-backup.maqi-kilo", "maqi-kilo") in services
    assert ("cinder-volume.maqi-kilo@ceph", "maqi-kilo@ceph") in services
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "name, parsed, key",
    [
        ("cinder-backup.maqi-kilo", ("server", "cinder-backup", "maqi-kilo"), None),
        (
            "cinder-volume.maqi-openstack.novalocal@lvmdriver-1",
            ("server", "cinder-volume", "maqi-openstack.novalocal@lvmdriver-1"),
            None,
        ),
        ("cinder-volume", ("topic", "cinder-volume", None), None),
        ("cinder-volume_fanout_" + "a" * 32, ("fanout", "cinder-volume", None), None),
        ("reply_" + "b" * 32, ("reply", None, None), None),
        ("cinder-lab-trace.0123", ("other", None, None), None),
        # Ocata's second server: topic cinder-volume.host@backend, server host.
        (
            "cinder-volume.maqi-kilo@ceph.maqi-kilo",
            ("server", "cinder-volume.maqi-kilo@ceph", "maqi-kilo"),
            ("cinder-volume", "maqi-kilo@ceph"),
        ),
        (
            "cinder-volume.maqi-kilo@ceph_fanout_" + "c" * 32,
            ("fanout", "cinder-volume.maqi-kilo@ceph", None),
            None,
        ),
    ],
)
def test_queue_names_tell_topic_and_server(memory_conf, name, parsed, key):
    assert topology.parse_queue(name) == parsed
    if key is not None:
        assert topology.service_key(parsed[1], parsed[2]) == key
    elif parsed[0] == "server":
        assert topology.service_key(parsed[1], parsed[2]) == (parsed[1], parsed[2])


def test_connection_names_tell_script_and_pid():
    assert topology.parse_connection_name("cinder-lab-backup:1234:5400e001-3d15") == (
        "cinder-lab-backup",
        1234,
    )
    assert topology.parse_connection_name("127.0.0.1:5 -> 127.0.0.1:5672") == (None, None)
    assert topology.parse_connection_name(None) == (None, None)


def _wrapped(msg: dict) -> bytes:
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(msg)}).encode()


@pytest.mark.parametrize(
    "exchange, routing_key, msg, kind",
    [
        ("openstack", "cinder-backup.h", {"method": "create_backup"}, "cast"),
        ("openstack", "cinder-volume.h@b", {"method": "m", "_reply_q": "reply_1"}, "call"),
        ("cinder-volume_fanout", "cinder-volume", {"method": "m"}, "fanout"),
        ("", "reply_" + "a" * 32, {"result": None, "failure": None, "ending": True}, "reply"),
        # oslo's call-monitor heartbeat is a reply too: ending False, no result.
        ("", "reply_" + "a" * 32, {"result": None, "failure": None, "ending": False}, "reply"),
        # Not replies: no reply fields, or not on the default exchange to a reply queue.
        ("", "reply_" + "a" * 32, {"hello": 1}, "other"),
        ("openstack", "reply_" + "a" * 32, {"result": 1}, "other"),
        ("", "cinder-backup", {"result": 1}, "other"),
    ],
)
def test_envelope_tells_cast_call_fanout_reply(exchange, routing_key, msg, kind):
    decoded = envelope.decode(_wrapped(msg))
    assert envelope.oslo_message(decoded) == msg
    assert envelope.classify(exchange, routing_key, msg) == kind
    # The in-process tap and the firehose trace agree: both ask the envelope module.
    published = memory_tap.Published(None, exchange, routing_key, [routing_key], decoded)
    assert published.kind == kind
    raw = trace.Raw("publish", exchange, routing_key, [routing_key], decoded, None)
    assert trace.make_event(raw).kind == kind


def test_envelope_keeps_what_is_not_json():
    assert envelope.decode(b"\xffnot json") == {"raw": "\ufffdnot json"}
    assert envelope.decode("[1, 2]") == {"raw": [1, 2]}
    assert envelope.oslo_message({"oslo.message": "not json"}) == {}


def test_describe_prints_two_lines_with_the_fate():
    reply = memory_tap.Published(None, "", "reply_x", [], {"result": 3, "ending": True})
    assert envelope.describe(reply) == (
        "  reply  (result)                     exchange=(default exchange) routing_key=reply_x\n"
        "         -> queue DROPPED: no queue bound"
    )


def test_describe_shows_versioned_objects_by_name_version_and_id():
    volume = {
        "versioned_object.name": "Volume",
        "versioned_object.namespace": "cinder",
        "versioned_object.version": "1.9",
        "versioned_object.data": {"id": "v-1", "host": "maqi-kilo@ceph#ceph"},
        "versioned_object.changes": ["host"],
    }
    device = {
        "versioned_object.name": "BackupDeviceInfo",
        "versioned_object.version": "1.0",
        "versioned_object.data": {"volume": volume, "secure_enabled": False},
    }
    msg = {"method": "continue_backup", "version": "2.0", "args": {"volume": volume}}
    msg["args"]["backup_device"] = device
    cast = memory_tap.Published(None, "openstack", "cinder-backup.h", ["cinder-backup.h"], msg)
    text = envelope.describe(cast)
    assert text.splitlines()[0].split()[:2] == ["cast", "continue_backup"]
    assert "v2.0" in text.splitlines()[0]
    assert text.splitlines()[2].split("   ")[-1] == (
        "backup_device=BackupDeviceInfo 1.0 (Volume 1.9 v-1) volume=Volume 1.9 v-1"
    )
    assert envelope.describe_args({"backup_id": "b", "force": True}) == 'backup_id="b" force=true'
    # trace -f json keeps the whole message; the text form names the object.
    raw = trace.Raw("publish", "openstack", "cinder-backup.h", ["cinder-backup.h"], msg, None)
    event = trace.make_event(raw)
    assert event.to_dict()["message"]["args"]["volume"] == volume
    assert event.version == "2.0"
    assert "volume=Volume 1.9 v-1" in trace.format_event(event)


def _rows_of_the_note() -> object:
    """An up cinder-backup on maqi-kilo, an up cinder-volume on new_host_name@ceph, a volume."""
    for host, binary in (("maqi-kilo", "cinder-backup"), ("new_host_name@ceph", "cinder-volume")):
        row = db.service_create({"host": host, "binary": binary, "topic": binary})
        db.service_heartbeat(row.id)
    return db.volume_create({"size": 1, "status": "available", "host": "new_host_name@ceph#ceph"})


def test_route_of_a_kilo_backup_reads_locally(memory_conf):
    vol = _rows_of_the_note()
    db.service_create(
        {"host": "new_host_name", "binary": "cinder-backup", "topic": "cinder-backup"}
    )
    db.service_heartbeat(db.service_get_by_args("new_host_name", "cinder-backup").id)
    explained = route.explain(vol.id, "backup")
    fields = dict(explained.fields)
    assert fields["lab_release"] == "kilo"
    assert "reads the volume through its own driver for [ceph], no RPC" in fields["then"]
    assert explained.ok, explained.verdict
    assert "needs [ceph] in the backup host's enabled_backends" in explained.verdict
    assert not [name for name, _ in explained.fields if name.startswith("to volume")]


@pytest.mark.parametrize("same_host", [False, True])
def test_route_of_a_current_backup_goes_through_the_scheduler(memory_conf, same_host):
    CONF.set_override("lab_release", "current")
    CONF.set_override("backup_use_same_host", same_host)
    try:
        vol = _rows_of_the_note()
        explained = route.explain(vol.id, "backup")
    finally:
        CONF.clear_override("lab_release")
        CONF.clear_override("backup_use_same_host")
    fields = dict(explained.fields)
    assert fields["routing key"] == "cinder-scheduler"
    if same_host:
        # Kilo's rule, moved to the scheduler: the API accepts, the backup ends in error.
        assert "NONE" in fields["scheduler picks"]
        assert not explained.ok
        assert explained.verdict.startswith("FAILS LATER: the API accepts")
        assert "Service not found for creating backup." in explained.verdict
        assert "no cinder-backup service with host 'new_host_name'" in explained.verdict
        return
    assert fields["scheduler picks"].endswith("(up or down: reports only): maqi-kilo")
    assert fields["to backup: routing key"] == "cinder-backup.maqi-kilo"
    key = "cinder-volume.new_host_name@ceph.new_host_name"
    assert fields["to volume: routing key"] == key
    assert explained.ok, explained.verdict
    assert explained.verdict.startswith("OK: a scheduler picks cinder-backup maqi-kilo")
    assert f"casts get_backup_device to {key}" in explained.verdict
