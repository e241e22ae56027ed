"""A request's messages as a sequence (observe/sequence.py, trace --sequence), in-process."""

from __future__ import annotations

import datetime
import re
import threading

import pytest

from cinder_lab import context, rpc
from cinder_lab.backup import api as backup_api
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.observe import sequence, sources, trace
from cinder_lab.observe.correlate import TraceEvent
from cinder_lab.volume import api as volume_api
from tests.procs import run_cli
from tests.procs import wait_status as wait

SCHED, BACKUP, VOLUME = (
    "cinder-scheduler maqi-kilo",
    "cinder-backup maqi-kilo",
    "cinder-volume maqi-kilo@ceph",
)


@pytest.fixture
def current(memory_conf: object):
    """Today's release, set before the ``lab`` fixture starts."""
    CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    yield
    CONF.clear_override("lab_release")
    rpc.reset_version_caps()


def test_todays_backup_as_a_sequence(current, lab):
    vol = wait(db.volume_get, volume_api.API().create(context.get_admin_context(), 1).id)
    ctxt = context.get_admin_context()
    events: list[TraceEvent] = []
    with trace.MemoryTap() as tap:
        correlator = trace.Correlator(trace.memory_resolver(), grace=0.5)
        bak = backup_api.API().create(ctxt, vol.id)
        assert wait(db.backup_get, bak.id).status == "available"
        trace.run(tap.records(poll=0.05), correlator, events.append, timeout=2)

    seq = sequence.Sequence()
    mine = [seq.arrow(ev) for ev in sequence.in_publish_order(events)]
    mine = [a for a in mine if a.request == ctxt.request_id]
    assert [(a.label.split(" v")[0], a.kind, a.sender, a.receivers) for a in mine] == [
        ("create_backup", "cast", sequence.UNNAMED, [SCHED]),
        ("create_backup", "cast", SCHED, [BACKUP]),
        ("get_backup_device", "cast", BACKUP, [VOLUME]),
        ("continue_backup", "cast", VOLUME, [BACKUP]),
        ("initialize_connection", "call", BACKUP, [VOLUME]),
        ("reply to initialize_connection", "reply", VOLUME, [BACKUP]),
        ("terminate_connection", "call", BACKUP, [VOLUME]),
        ("reply to terminate_connection", "reply", VOLUME, [BACKUP]),
        ("remove_export", "call", BACKUP, [VOLUME]),
        ("reply to remove_export", "reply", VOLUME, [BACKUP]),
    ]
    assert [a.order for a in mine] == sorted(a.order for a in mine)

    text = sequence.format_sequence(events)
    assert all(len(line) <= sequence.WIDTH for line in text.splitlines()), text
    block = text.split(f"== request {ctxt.request_id}: 10 message(s) ")[1].split("\n== ")[0]
    words = " ".join(
        re.split(r"\n  \d\d:\d\d", block)[0].split()
    )  # the lifelines wrap at 100 columns
    assert words.endswith(f"lifelines: {sequence.UNNAMED} | {SCHED} | {BACKUP} | {VOLUME}")
    assert re.search(rf"{BACKUP}( \(inferred\))?  ==> {VOLUME}", block)  # a call
    assert re.search(rf"{VOLUME}( \(inferred\))?  \.\.> {BACKUP}", block)  # its reply


def event(time: str, order: int, **kw: object) -> TraceEvent:
    base = {"kind": "cast", "exchange": "openstack", "routing_key": "k", "queues": ["k"]}
    return TraceEvent(time=f"2026-01-01T12:00:{time}", order=order, **{**base, **kw})


def test_order_is_the_publish_order_not_the_order_the_fate_was_known():
    # A fanout published first but known last (it waited for its grace), as the page got it.
    late = event(
        "00.290",
        7,
        kind="fanout",
        method="update_service_capabilities",
        exchange="cinder-scheduler_fanout",
        queues=[],
        request="r1",
        request_id="r1",
    )
    early = event(
        "00.344",
        9,
        method="create_backup",
        request="r1",
        request_id="r1",
        consumed_by=[f"{BACKUP} (pid 1)"],
        publisher="cinder-lab (pid 2)",
    )
    same_ms = event(
        "00.344",
        8,
        method="get_pools",
        request="r1",
        request_id="r1",
        consumed_by=[f"{SCHED} (pid 1)"],
        publisher="cinder-lab (pid 2)",
    )
    text = sequence.format_sequence([early, same_ms, late])
    heads = re.findall(r"^  12:00:\S+  (\w+) +(\w+)", text, re.M)
    assert heads == [
        ("FANOUT", "update_service_capabilities"),
        ("CAST", "get_pools"),
        ("CAST", "create_backup"),
    ]
    assert re.search(
        r"--X broker\n +dropped at exchange cinder-scheduler_fanout: no queue bound to it", text
    )
    assert "cinder-lab (pid 2)  --> cinder-scheduler maqi-kilo" in text


@pytest.mark.parametrize(
    "label,line",
    [
        (f"{BACKUP} (pid 12)", BACKUP),
        (f"{BACKUP} (pid 12) [same request id]", BACKUP),
        (f"{VOLUME} [by its queue name] from cinder-volume.maqi-kilo@ceph", VOLUME),
        ("cinder-lab (pid 42)", "cinder-lab (pid 42)"),
        (
            "connection 1.2.3.4:5 -> 6 [not listed by the broker]",
            "a connection the broker does not list",
        ),
        (None, None),
    ],
)
def test_a_lifeline_is_a_process(label, line):
    assert sequence.lifeline(label) == line


def test_the_broker_publish_time_when_it_gives_one():
    utc = datetime.datetime(2026, 1, 1, 12, 0, 0, 250000)
    local = utc.replace(tzinfo=datetime.UTC).astimezone().replace(tzinfo=None)
    assert sources.published_at({"timestamp": utc}) == local
    ms = int(utc.replace(tzinfo=datetime.UTC).timestamp() * 1000)
    assert sources.published_at({"headers": {"timestamp_in_ms": ms}}) == local
    assert sources.published_at({"headers": {}, "delivery_mode": 2}) is None


def test_trace_sequence_cli_in_single_process_mode(memory_conf):
    out = run_cli(memory_conf, "trace", "--sequence", "--timeout", "3")
    assert out.returncode == 0, out.stderr
    assert "the sequence of each request is printed then" in out.stderr
    # The volume service reports its pool to the schedulers: its args name the sender.
    assert re.search(
        rf"FANOUT update_service_capabilities v\S+ .*\n +{VOLUME} \(inferred\)", out.stdout
    )
    assert all(len(line) <= sequence.WIDTH for line in out.stdout.splitlines())
    bad = run_cli(memory_conf, "trace", "--sequence", "-f", "json")
    assert bad.returncode == 1 and bad.stdout == ""
    (line,) = bad.stderr.strip().splitlines()
    assert line.endswith("--sequence prints text: leave out -f json")


def test_a_message_nobody_took_yet_waits_at_the_broker():
    waiting = event("01.000", 1, method="create_backup", queues=["cinder-backup.maqi-kilo"])
    arrow = sequence.Sequence().arrow(waiting)
    assert (arrow.sender, arrow.receivers, arrow.dropped) == (sequence.UNNAMED, ["broker"], False)
    assert arrow.note == "waits in cinder-backup.maqi-kilo"
    # A fanout to two schedulers, one of which took it: the other's queue still holds it.
    fanout = event(
        "01.100",
        2,
        kind="fanout",
        method="update_service_capabilities",
        queues=["cinder-scheduler_fanout_a", "cinder-scheduler_fanout_b"],
        consumed_by=[f"{SCHED} (pid 3) from cinder-scheduler_fanout_a"],
        args={"service_name": "volume", "host": "maqi-kilo@ceph"},
        publisher=f"{VOLUME} [named in its args]",
    )
    arrow = sequence.Sequence().arrow(fanout)
    assert (arrow.sender, arrow.receivers) == (VOLUME, [SCHED, "broker"])
    assert arrow.note == "waits in cinder-scheduler_fanout_b" and arrow.inferred


def test_the_api_sending_again_with_its_request_id_is_not_taken_for_a_service(lab):
    # One context for two API calls (as a scenario does): the backup's cast comes from the
    # API, not from the volume service that took the last message of that request.
    ctxt = context.get_admin_context()
    events: list[TraceEvent] = []
    with trace.MemoryTap() as tap:
        correlator = trace.Correlator(trace.memory_resolver(), grace=0.5)
        vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
        bak = backup_api.API().create(ctxt, vol.id)
        assert wait(db.backup_get, bak.id).status == "available"
        trace.run(tap.records(poll=0.05), correlator, events.append, timeout=2)
    seq = sequence.Sequence()
    mine = [seq.arrow(ev) for ev in sequence.in_publish_order(events)]
    story = [(a.label.split(" v")[0], a.sender) for a in mine if a.request == ctxt.request_id]
    assert story == [
        ("create_volume", sequence.UNNAMED),
        ("create_volume", SCHED),
        ("create_backup", sequence.UNNAMED),
    ]


def test_a_get_backup_device_for_a_stopped_volume_service_waits_in_its_queue(current, lab):
    # Today's backup casts get_backup_device and waits for continue_backup with no deadline:
    # trace, trace --sequence and the web view (the same event and arrow) say where it waits.
    vol = wait(db.volume_get, volume_api.API().create(context.get_admin_context(), 1).id)
    lab.stop(lab.find("cinder-volume", "maqi-kilo@ceph"))
    queue = "cinder-volume.maqi-kilo@ceph.maqi-kilo"
    events: list[TraceEvent] = []
    seen = threading.Event()

    def emit(ev: TraceEvent) -> None:
        events.append(ev)
        if ev.method == "get_backup_device":
            seen.set()

    with trace.MemoryTap() as tap:
        correlator = trace.Correlator(trace.memory_resolver(), grace=0.5)
        bak = backup_api.API().create(context.get_admin_context(), vol.id)
        trace.run(tap.records(poll=0.05), correlator, emit, timeout=30, stop=seen)
    (ev,) = [e for e in events if e.method == "get_backup_device"]
    assert (ev.kind, ev.routing_key, ev.queues, ev.consumed_by) == ("cast", queue, [queue], [])
    assert f"-> {queue}  consumed by nobody yet (waits in the queue)" in trace.format_event(ev)
    arrow = sequence.Sequence().arrow(ev)
    assert (arrow.sender, arrow.receivers) == (BACKUP, [sequence.BROKER])
    assert arrow.to_dict()["note"] == f"waits in {queue}"  # the web's sequence view draws it
    assert f"waits in {queue}" in sequence.format_sequence(events)
    assert db.backup_get(bak.id).status == "creating"

    # Not stuck for good: the volume service comes back, takes the cast, the backup completes.
    lab.start_volume()
    assert wait(db.backup_get, bak.id).status == "available"
