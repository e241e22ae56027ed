"""OpenTelemetry: one backup-create gives linked spans, API cast to the volume's replies.

Run under ``lab_release = current``: today's backup is the long chain (API ->
scheduler -> backup -> get_backup_device cast -> continue_backup -> three
calls). Kilo's backup is one cast and a local read, nothing to link.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading

import pytest
from opentelemetry import trace as otel
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cinder_lab import context, rpc
from cinder_lab import tracing as spans
from cinder_lab.backup import api as backup_api
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.volume import api as volume_api
from tests.procs import wait_status, wait_until

EXPORTER = InMemorySpanExporter()


def _provider() -> None:
    # A process has one global provider; the first test installs it, later ones reuse it.
    if isinstance(otel.get_tracer_provider(), otel.ProxyTracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        otel.set_tracer_provider(provider)


@pytest.fixture
def traced_lab(memory_conf):
    with open(memory_conf, "a") as f:
        f.write("[oslo_messaging_tracing]\ntracing_enabled = true\n")
    config.parse_args(["--config-file", str(memory_conf)])
    config.CONF.set_override("lab_release", "current")
    rpc.reset_version_caps()
    _provider()
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1)
    EXPORTER.clear()
    yield lab
    lab.close()
    EXPORTER.clear()
    config.CONF.clear_override("lab_release")
    rpc.reset_version_caps()


def test_backup_create_gives_linked_spans(traced_lab):
    assert spans.enabled(config.CONF)
    ctxt = context.get_admin_context()
    vol = wait_status(db.volume_get, volume_api.API().create(ctxt, 1).id, timeout=10)
    EXPORTER.clear()
    bak = backup_api.API().create(ctxt, vol.id)
    assert wait_status(db.backup_get, bak.id, timeout=10).status == "available"
    # The outermost server span ends last: the backup's continue_backup.
    wait_until(
        lambda: "BackupManager.continue_backup" in {s.name for s in EXPORTER.get_finished_spans()},
        timeout=5,
        interval=0.05,
        what="the continue_backup span",
    )
    finished = EXPORTER.get_finished_spans()
    ids = {s.context.span_id: s for s in finished}

    def one(name, under=None):
        """The one span called ``name`` (whose parent is called ``under``)."""
        (found,) = [
            s
            for s in finished
            if s.name == name
            and (under is None or (s.parent and ids[s.parent.span_id].name == under))
        ]
        return found

    def parent(child, of):
        assert child.parent is not None, f"{child.name} has no parent"
        assert child.parent.span_id == of.context.span_id, f"{child.name} not under {of.name}"

    queue = "cinder-volume.maqi-kilo@ceph"
    api_cast = one("cinder-scheduler.create_backup")  # oslo.messaging, the API's cast
    at_scheduler = one("create_backup receive", under="cinder-scheduler.create_backup")
    scheduler = one("SchedulerManager.create_backup")  # the lab's
    to_backup = one("cinder-backup.create_backup")
    at_backup = one("create_backup receive", under="cinder-backup.create_backup")
    backup = one("BackupManager.create_backup")
    ask = one(f"{queue}.get_backup_device")  # a cast since 3.17: no reply span
    served = one("get_backup_device receive")
    volume_manager = one("VolumeManager.get_backup_device")
    answer = one("cinder-backup.continue_backup")
    resumed = one("continue_backup receive")
    continued = one("BackupManager.continue_backup")

    assert api_cast.parent is None  # the trace starts at the API
    for child, of in [
        (at_scheduler, api_cast),
        (scheduler, at_scheduler),
        (to_backup, scheduler),
        (at_backup, to_backup),
        (backup, at_backup),
        (ask, backup),
        (served, ask),
        (volume_manager, served),
        (answer, volume_manager),
        (resumed, answer),
        (continued, resumed),
    ]:
        parent(child, of)
    mine = [api_cast, at_scheduler, scheduler, to_backup, at_backup, backup, ask]
    mine += [served, volume_manager, answer, resumed, continued]
    for method in ("initialize_connection", "terminate_connection", "remove_export"):
        call = one(f"{queue}.{method} call")  # the lab's, around the call
        send = one(f"{queue}.{method}")  # oslo.messaging, the call itself
        receive = one(f"{method} receive")
        reply = one(f"{method} reply")  # the lab's: the answer came back
        parent(call, continued)
        parent(send, call)
        parent(receive, send)
        parent(reply, call)
        assert send.attributes["messaging.operation"] == "call"
        # The reply comes back after the volume service served the call.
        assert receive.end_time <= reply.start_time <= call.end_time
        mine += [call, send, receive, reply]
    # Only the backup's spans: a capability fanout may run beside it in its own trace.
    assert {s.context.trace_id for s in mine} == {api_cast.context.trace_id}

    assert api_cast.kind == otel.SpanKind.PRODUCER
    assert at_backup.kind == otel.SpanKind.CONSUMER
    assert ask.attributes["messaging.operation"] == "cast"
    assert (
        api_cast.attributes["openstack.request_id"] == at_backup.attributes["openstack.request_id"]
    )


def test_tracing_off_makes_no_span(memory_conf):
    _provider()
    EXPORTER.clear()
    lab = Lab()
    try:
        lab.start_all()
        lab.wait_for_pools(1)
    finally:
        lab.close()
    assert not spans.enabled(config.CONF)
    assert EXPORTER.get_finished_spans() == ()


SCRIPT = """
import sys, time
from cinder_lab.common import config
config.parse_args(["--config-file", sys.argv[1]])
config.CONF.set_override("lab_release", "current")  # today's chain of linked spans
from cinder_lab import context, rpc
from cinder_lab.backup import api as backup_api
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.volume import api as volume_api

def wait(get, obj_id):
    deadline = time.monotonic() + 10
    while get(obj_id).status == "creating" and time.monotonic() < deadline:
        time.sleep(0.02)
    return get(obj_id)

lab = Lab()
lab.start_all()
lab.wait_for_pools(1)
ctxt = context.get_admin_context()
vol = wait(db.volume_get, volume_api.API().create(ctxt, 1).id)
print(wait(db.backup_get, backup_api.API().create(ctxt, vol.id).id).status)
lab.close()  # closes the transport, which flushes the spans
"""


class Collector(http.server.BaseHTTPRequestHandler):
    """The smallest OTLP/HTTP trace receiver: keeps each decoded export request."""

    received: list = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        Collector.received.append((self.path, request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, *args: object) -> None:
        pass


def test_spans_reach_an_otlp_collector(memory_conf):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Collector.received = []
    try:
        with open(memory_conf, "a") as f:
            f.write(
                "[oslo_messaging_tracing]\ntracing_enabled = true\n"
                f"otel_exporter_otlp_endpoint = http://127.0.0.1:{server.server_port}\n"
            )
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(memory_conf)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "available"
    assert {path for path, _ in Collector.received} == {"/v1/traces"}
    spans = [
        span
        for _, request in Collector.received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    by_name = {s.name: s for s in spans}
    cast = by_name["cinder-scheduler.create_backup"]
    receive = [s for s in spans if s.name == "create_backup receive"]
    reply = by_name["remove_export reply"]
    assert cast.span_id in {s.parent_span_id for s in receive}
    assert {s.trace_id for s in receive} == {reply.trace_id} == {cast.trace_id}
    assert by_name["get_backup_device receive"].trace_id == cast.trace_id
