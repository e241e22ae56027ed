"""OpenTelemetry: one backup-create gives linked spans, API cast to the volume's reply."""

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

from cinder_lab import context
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
    _provider()
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1)
    EXPORTER.clear()
    yield lab
    lab.close()
    EXPORTER.clear()


def test_backup_create_gives_linked_spans(traced_lab):
    assert spans.enabled(config.CONF)
    ctxt = context.get_admin_context()
    vol = wait_status(db.volume_get, volume_api.API().create(ctxt, 1).id, timeout=10)
    EXPORTER.clear()
    bak = backup_api.API().create(ctxt, vol.id)
    assert wait_status(db.backup_get, bak.id, timeout=10).status == "available"
    # The outermost server span ends last.
    wait_until(
        lambda: "create_backup receive" in {s.name for s in EXPORTER.get_finished_spans()},
        timeout=5,
        interval=0.05,
        what="the create_backup receive span",
    )
    finished = EXPORTER.get_finished_spans()
    by_name = {s.name: s for s in finished}

    cast = by_name["cinder-backup.create_backup"]  # oslo.messaging, the API's cast
    receive = by_name["create_backup receive"]  # oslo.messaging, in cinder-backup
    manager = by_name["BackupManager.create_backup"]  # the lab's
    call = by_name["cinder-volume.get_backup_device call"]  # the lab's, around the call
    send = by_name["cinder-volume.get_backup_device"]  # oslo.messaging, the call itself
    served = by_name["get_backup_device receive"]  # oslo.messaging, in cinder-volume
    volume_manager = by_name["VolumeManager.get_backup_device"]  # the lab's
    reply = by_name["get_backup_device reply"]  # the lab's: the answer came back

    def parent(child, of):
        assert child.parent is not None, f"{child.name} has no parent"
        assert child.parent.span_id == of.context.span_id, f"{child.name} not under {of.name}"

    assert cast.parent is None  # the trace starts at the API
    parent(receive, cast)
    parent(manager, receive)
    parent(call, manager)
    parent(send, call)
    parent(served, send)
    parent(volume_manager, served)
    parent(reply, call)
    # Only the backup's spans: a capability fanout may run beside it in its own trace.
    mine = [cast, receive, manager, call, send, served, volume_manager, reply]
    trace_ids = {s.context.trace_id for s in mine}
    assert trace_ids == {cast.context.trace_id}

    kinds = {s.name: s.kind for s in by_name.values()}
    assert kinds["cinder-backup.create_backup"] == otel.SpanKind.PRODUCER
    assert kinds["create_backup receive"] == otel.SpanKind.CONSUMER
    assert kinds["get_backup_device reply"] == otel.SpanKind.CONSUMER
    assert cast.attributes["messaging.operation"] == "cast"
    assert send.attributes["messaging.operation"] == "call"
    assert cast.attributes["openstack.request_id"] == receive.attributes["openstack.request_id"]
    # The reply comes back after the volume service served the call.
    assert served.end_time <= reply.start_time <= call.end_time


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
from cinder_lab import context
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
    cast = by_name["cinder-backup.create_backup"]
    receive = by_name["create_backup receive"]
    reply = by_name["get_backup_device reply"]
    assert receive.parent_span_id == cast.span_id
    assert receive.trace_id == reply.trace_id == cast.trace_id
    assert by_name["get_backup_device receive"].trace_id == cast.trace_id
