"""topology, trace and route against the real RabbitMQ and its management API.

Each test has its own vhost; none may leave the firehose on or a queue behind.
The management API refreshes its statistics every few seconds, so listings
are polled until they show what the processes already did.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import types

import pytest

from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from tests.procs import BIN, run_cli, wait_until
from tests.services import all_up, fanout_queues, rows, wait_pools

HOST = "maqi-openstack.novalocal"


@pytest.fixture
def mgmt(vhost):
    """The test vhost's management API (the vhost fixture made sure it answers)."""
    api = vhost.api
    yield api
    # Whatever the test did, the firehose is off and no tap queue is left.
    assert api.tracing() is False
    assert not [q for q in vhost.queues() if q.startswith("cinder-lab-trace.")]


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def topology_json(conf, *extra) -> dict:
    out = run_cli(conf, "topology", "-f", "json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_two_backends_topology_maps_each_consumer_to_its_row_and_pid(rabbit_lab, mgmt):
    conf = rabbit_lab.conf(
        "openstack", HOST, {"lvmdriver-1": "lvmdriver-1", "whatever_it_is": "new_lvm_backend"}
    )
    volume = rabbit_lab.start("cinder-lab-volume", conf)
    scheduler = rabbit_lab.start("cinder-lab-scheduler", conf)
    backends = [f"{HOST}@lvmdriver-1", f"{HOST}@whatever_it_is"]
    wait_until(all_up(*[("cinder-volume", b) for b in backends], ("cinder-scheduler", HOST)))

    def complete():
        topo = topology_json(conf)
        cinder = [c for c in topo["consumers"] if c["queue"].startswith("cinder")]
        return topo if len(cinder) == 9 and all(c["service"] for c in cinder) else None

    topo = wait_until(complete, timeout=40, what="9 consumers listed by the management API")
    queues = {q["name"]: q for q in topo["queues"]}
    volume_fanouts = fanout_queues(queues, "cinder-volume")
    scheduler_fanouts = fanout_queues(queues, "cinder-scheduler")
    named = {
        "cinder-volume",
        *(f"cinder-volume.{b}" for b in backends),
        "cinder-scheduler",
        f"cinder-scheduler.{HOST}",
    }
    assert {q for q in queues if not q.startswith("reply_")} == (
        named | set(volume_fanouts) | set(scheduler_fanouts)
    )
    assert queues["cinder-volume"]["consumers"] == 2
    assert {e["name"]: e["type"] for e in topo["exchanges"]} == {
        "openstack": "topic",
        "cinder-volume_fanout": "fanout",
        "cinder-scheduler_fanout": "fanout",
    }
    bindings = {(b["source"], b["routing_key"], b["destination"]) for b in topo["bindings"]}
    assert bindings == (
        {("openstack", q, q) for q in named}
        | {("cinder-volume_fanout", "cinder-volume", q) for q in volume_fanouts}
        | {("cinder-scheduler_fanout", "cinder-scheduler", q) for q in scheduler_fanouts}
    )

    row_ids = {(s.binary, s.host): s.id for s in db.service_get_all()}
    consumers = [c for c in topo["consumers"] if c["queue"].startswith("cinder")]
    pid_of = {}
    for c in consumers:
        svc = c["service"]
        assert svc["id"] == row_ids[(svc["binary"], svc["host"])]
        assert (svc["status"], svc["state"]) == ("enabled", "up")
        # One process per service: every queue it consumes maps to the same row.
        assert pid_of.setdefault(c["pid"], svc["id"]) == svc["id"]
    for backend in backends:
        (c,) = [c for c in consumers if c["queue"] == f"cinder-volume.{backend}"]
        assert (c["service"]["binary"], c["service"]["host"]) == ("cinder-volume", backend)
        assert c["process"] == "cinder-lab-volume"
        # Each backend is a child process of the cinder-lab-volume launcher.
        assert parent_pid(c["pid"]) == volume.proc.pid
        shared = [s for s in consumers if s["queue"] == "cinder-volume" and s["pid"] == c["pid"]]
        assert len(shared) == 1 and shared[0]["service"]["host"] == backend
    assert len({c["pid"] for c in consumers if c["process"] == "cinder-lab-volume"}) == 2
    sched = [c for c in consumers if c["service"]["binary"] == "cinder-scheduler"]
    assert len(sched) == 3 and {c["pid"] for c in sched} == {scheduler.proc.pid}

    out = run_cli(conf, "topology", "--graph", "mermaid")
    assert out.returncode == 0 and out.stdout.startswith("flowchart LR")
    assert f"cinder-volume {HOST}@lvmdriver-1<br/>services row" in out.stdout
    with_amq = topology_json(conf, "--all")
    assert "amq.topic" in {e["name"] for e in with_amq["exchanges"]}


class TraceProcess:
    """``cinder-lab trace -f json`` in the background, its lines collected as they come."""

    def __init__(self, conf, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "cinder-lab"), "--config-file", str(conf), "trace", "-f", "json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.banner = self.proc.stderr.readline()  # printed once the firehose is on
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return code, self.proc.stderr.read()


def test_trace_shows_cast_call_reply_and_dropped(rabbit_lab, mgmt):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    for script in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler"):
        rabbit_lab.start(script, conf)
    wait_until(all_up(("cinder-volume", "maqi-kilo@ceph"), ("cinder-backup", "maqi-kilo")))
    wait_pools(conf, 1)
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    volume_id = json.loads(out.stdout)["id"]

    tracer = TraceProcess(conf, "--timeout", "90")
    try:
        assert "through the firehose (turned on; off on exit)" in tracer.banner, tracer.banner
        assert mgmt.tracing() is True
        out = run_cli(conf, "backup-create", volume_id, "--wait", "-f", "json")
        assert out.returncode == 0, out.stderr
        backup_id = json.loads(out.stdout)["id"]
        # Kilo's backup reads locally; a call and its reply: the client asks a scheduler.
        out = run_cli(conf, "get-pools", "-f", "json")
        assert out.returncode == 0, out.stderr
        # A cast to a host with no service: RabbitMQ drops it and the cast returns normally.
        rpc.init(CONF)
        try:
            nowhere = types.SimpleNamespace(id=backup_id, host="no-such-host")
            backup_rpcapi.BackupAPI().create_backup(context.get_admin_context(), nowhere)
        finally:
            rpc.cleanup()

        def dropped():
            return [e for e in tracer.events if e["dropped"]]

        wait_until(dropped, timeout=20, what="the dropped cast in the trace")
    finally:
        code, err = tracer.stop(signal.SIGTERM)
    assert code == 0, err
    assert "Traceback" not in err

    by_method = {}
    for e in tracer.events:
        by_method.setdefault((e["kind"], e["method"] or e["reply_to"]), []).append(e)
    (cast, bad) = by_method[("cast", "create_backup")]
    assert (cast["exchange"], cast["routing_key"], cast["queues"]) == (
        "openstack",
        "cinder-backup.maqi-kilo",
        ["cinder-backup.maqi-kilo"],
    )
    assert cast["args"] == {"backup_id": backup_id} and not cast["dropped"]
    # By pid, or by queue name when the management API had not listed the channel yet.
    assert cast["consumed_by"][0].startswith("cinder-backup maqi-kilo ")
    # Kilo's cinder-backup read the volume through its own driver: no call to cinder-volume.
    assert not [e for e in tracer.events if e["method"] == "get_backup_device"]
    (call,) = by_method[("call", "get_pools")]
    assert (call["routing_key"], call["queues"]) == ("cinder-scheduler", ["cinder-scheduler"])
    assert call["args"] == {"filters": None} and call["version"] == "1.7"
    assert call["reply_queue"].startswith("reply_")
    assert call["consumed_by"][0].startswith("cinder-scheduler maqi-kilo (pid ")
    (reply,) = by_method[("reply", "get_pools")]
    assert (reply["exchange"], reply["routing_key"], reply["queues"]) == (
        "",
        call["reply_queue"],
        [call["reply_queue"]],
    )
    assert reply["msg_id"] == call["msg_id"]
    assert reply["publisher"].startswith("cinder-scheduler maqi-kilo (pid ")
    assert (bad["routing_key"], bad["queues"], bad["dropped"]) == (
        "cinder-backup.no-such-host",
        [],
        True,
    )

    # --count bounds a run: the volume service's periodic fanout is the next message.
    out = subprocess.run(
        [str(BIN / "cinder-lab"), "--config-file", str(conf), "trace", "--count", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(tuple("0123456789")), out.stdout
    assert "FANOUT update_service_capabilities v1.0  exchange=cinder-scheduler_fanout" in out.stdout
    assert 'host="maqi-kilo@ceph"' in out.stdout  # the args, on one line
    assert "consumed by cinder-scheduler maqi-kilo (pid " in out.stdout


def test_the_notes_failure_explained_by_route_then_fixed(rabbit_lab, mgmt):
    """The note's story on the broker: [ceph] host = new_host_name, what route and
    topology say about it, then the fix, [DEFAULT] host = new_host_name."""
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    old_volume = rabbit_lab.start("cinder-lab-volume", conf)
    rabbit_lab.start("cinder-lab-backup", conf)
    rabbit_lab.start("cinder-lab-scheduler", conf)
    wait_until(all_up(("cinder-volume", "maqi-kilo@ceph"), ("cinder-backup", "maqi-kilo")))
    assert rabbit_lab.stop(old_volume) == 0
    bad = rabbit_lab.conf(
        "bad", "maqi-kilo", {"ceph": "ceph"}, extra_backend="host = new_host_name"
    )
    rabbit_lab.start("cinder-lab-volume", bad)
    wait_until(all_up(("cinder-volume", "new_host_name@ceph")), what="new_host_name@ceph up")
    wait_until(lambda: not rows()[("cinder-volume", "maqi-kilo@ceph")], what="old row down")
    out = run_cli(bad, "create", "1", "--wait", "-f", "json")
    volume = json.loads(out.stdout)
    assert volume["os-vol-host-attr:host"] == "new_host_name@ceph#ceph"

    out = run_cli(bad, "route", volume["id"], "-f", "json")
    assert out.returncode == 0, out.stderr
    fields = json.loads(out.stdout)
    assert fields["extract_host(host, 'host')"] == "new_host_name"
    assert fields["routing key"] == fields["queue"] == "cinder-backup.new_host_name"
    assert fields["queue now"] == "NO SUCH QUEUE: the broker would drop the message"
    assert fields["verdict"] == (
        "REFUSED by backup/api.py: Service cinder-backup could not be found. "
        "(no cinder-backup service with host 'new_host_name' (registered: 'maqi-kilo'))"
    )
    # The API refuses exactly so, and route sent nothing.
    out = run_cli(bad, "backup-create", volume["id"])
    assert out.returncode == 1
    assert out.stderr.strip() == "Service cinder-backup could not be found."
    assert "cinder-backup.new_host_name" not in rabbit_lab.vhost.queues()
    assert db.backup_get_all() == []
    assert db.volume_get(volume["id"]).status == "available"

    def volume_route():
        out = run_cli(bad, "route", volume["id"], "--action", "volume", "-f", "json")
        fields = json.loads(out.stdout)
        return fields if fields["verdict"].startswith("OK") else None

    fields = wait_until(volume_route, timeout=30, what="the volume route served")
    assert fields["routing key"] == "cinder-volume.new_host_name@ceph"
    assert "= cinder-volume new_host_name@ceph (up)" in fields["consumer now"]

    # The old backend's queue stays behind with nobody consuming it: a dead end.
    seen: list = []

    def old_queue_dead():
        topo = topology_json(bad)
        q = {q["name"]: q for q in topo["queues"]}.get("cinder-volume.maqi-kilo@ceph")
        seen[:] = [
            q,
            [c for c in topo["consumers"] if c["queue"] == "cinder-volume.maqi-kilo@ceph"],
        ]
        return q if q and q["consumers"] == 0 else None

    try:
        q = wait_until(old_queue_dead, timeout=45, what="the old queue without consumer")
    except AssertionError as e:
        raise AssertionError(f"{e}; last seen: {seen}") from None
    assert (q["service"]["host"], q["service"]["state"]) == ("maqi-kilo@ceph", "down")
    out = run_cli(bad, "topology")
    assert "!! DEAD END: cinder-volume.maqi-kilo@ceph: nobody consumes it" in out.stdout
    assert "its service cinder-volume maqi-kilo@ceph is down" in out.stdout

    # The fix: [DEFAULT] host = new_host_name for every service.
    codes = rabbit_lab.stop_all()
    assert all(c == 0 for c in codes.values()), codes
    fixed = rabbit_lab.conf("fixed", "new_host_name", {"ceph": "ceph"})
    for script in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler"):
        rabbit_lab.start(script, fixed)
    wait_until(all_up(("cinder-backup", "new_host_name"), ("cinder-volume", "new_host_name@ceph")))
    out = run_cli(fixed, "backup-create", volume["id"], "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["host"] == "new_host_name"

    # The old rows stay behind, down; the old queue stays too, with nobody consuming.
    wait_until(lambda: not rows()[("cinder-backup", "maqi-kilo")], what="old backup row down")
    listed = {
        (r["Binary"], r["Host"]): r["State"]
        for r in json.loads(run_cli(fixed, "service-list", "-f", "json").stdout)
    }
    assert listed[("cinder-volume", "maqi-kilo@ceph")] == "down"
    assert listed[("cinder-volume", "new_host_name@ceph")] == "up"
    assert rabbit_lab.vhost.queues()["cinder-backup.maqi-kilo"]["consumers"] == 0


def test_two_traces_at_once_do_not_blind_each_other(rabbit_lab, mgmt):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    rabbit_lab.start("cinder-lab-scheduler", conf)
    wait_until(all_up(("cinder-scheduler", "maqi-kilo")))
    first = TraceProcess(conf, "--timeout", "90")
    second = TraceProcess(conf, "--timeout", "90")
    try:
        assert mgmt.tracing() is True
        code, err = first.stop(signal.SIGTERM)
        assert code == 0, err
        # The first trace turned the firehose on, but the second still taps it.
        assert mgmt.tracing() is True
        run_cli(conf, "get-pools")
        wait_until(
            lambda: [e for e in second.events if e["method"] == "get_pools"],
            what="the second trace to see get_pools",
        )
    finally:
        code, err = second.stop(signal.SIGHUP)
        first.stop()
    assert code == 0, err
    # The last one out turned it off (the fixture checks that and that no tap is left).


def test_trace_refuses_a_timeout_that_is_not_a_finite_positive_number(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\ntransport_url = kombu+memory:////\n")
    for bad in ("nan", "inf", "-5", "0"):
        out = run_cli(conf, "trace", "--timeout", bad)
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_killed_trace_leaves_the_firehose_to_the_next_one(rabbit_lab, mgmt):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    killed = TraceProcess(conf, "--timeout", "90")
    assert "(turned on; off on exit)" in killed.banner, killed.banner
    assert mgmt.firehose_marked() is True
    killed.stop(signal.SIGKILL)
    # Nobody switched it off, but the vhost's tag remembers a cinder-lab trace switched it on.
    assert (mgmt.tracing(), mgmt.firehose_marked()) == (True, True)
    second = TraceProcess(conf, "--timeout", "90")
    assert "(left on by an earlier cinder-lab trace; off on exit)" in second.banner
    code, err = second.stop(signal.SIGTERM)
    assert code == 0, err
    assert (mgmt.tracing(), mgmt.firehose_marked()) == (False, False)


def test_a_firehose_an_operator_switched_on_stays_on(rabbit_lab, mgmt):
    conf = rabbit_lab.conf("kilo", "maqi-kilo", {"ceph": "ceph"})
    mgmt.set_tracing(True)  # rabbitmqctl trace_on: no cinder-lab tag
    try:
        tracer = TraceProcess(conf, "--timeout", "90")
        assert "(was already on; left on)" in tracer.banner, tracer.banner
        code, err = tracer.stop(signal.SIGTERM)
        assert code == 0, err
        assert (mgmt.tracing(), mgmt.firehose_marked()) == (True, False)
    finally:
        mgmt.set_tracing(False)
