"""OpenTelemetry spans of the RPC path, exported over OTLP.

With ``[oslo_messaging_tracing] tracing_enabled = true`` oslo.messaging 18.3
makes a PRODUCER span for each cast and call (``<topic>.<method>``) and a
CONSUMER span when a server receives it (``<method> receive``); the
``traceparent`` travels in the message as ``_context_traceparent``, so the
receive span is the child of the send span, and a call made while serving is
the child of that receive. It has no span for the reply of a call. The lab
adds its own (cinder-lab's tracer): a span around each manager method, and
around each ``call`` a CLIENT span holding oslo's PRODUCER span and a
``<method> reply`` span for the answer that came back.

Mirrors nothing in Cinder (Cinder traces with osprofiler); this module sets
up the tracer provider (one per process, named after the script) and the
lab's extra spans.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Iterator

from oslo_config import cfg

from cinder_lab import exception

_PROVIDER = None


def enabled(conf: cfg.ConfigOpts) -> bool:
    """True when ``[oslo_messaging_tracing] tracing_enabled`` is set."""
    try:
        return bool(conf.oslo_messaging_tracing.tracing_enabled)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def _exporter(conf: cfg.ConfigOpts) -> object:
    opts = conf.oslo_messaging_tracing
    endpoint = opts.otel_exporter_otlp_endpoint.rstrip("/")
    try:
        if opts.otlp_protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter(endpoint=endpoint, insecure=opts.insecure, timeout=5)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=5)
    except ImportError as e:
        raise exception.ConfigError(
            reason=f"tracing_enabled needs the OTLP exporter ({e.name} is missing): "
            "pip install 'cinder-lab[tracing]'"
        ) from None


def setup(conf: cfg.ConfigOpts) -> None:
    """Install a tracer provider exporting over OTLP, unless one is already set.

    An existing provider (a test's in-memory one, or one set by middleware) is
    kept, as oslo.messaging itself does.
    """
    global _PROVIDER
    if not enabled(conf):
        return
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as e:
        raise exception.ConfigError(
            reason=f"tracing_enabled needs opentelemetry-sdk ({e.name} is missing): "
            "pip install 'cinder-lab[tracing]'"
        ) from None
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    name = conf.oslo_messaging_tracing.tracing_service_name
    if name == "openstack":  # oslo's default: name the process instead
        name = os.path.basename(sys.argv[0]) or "cinder-lab"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    # Short batches: the lab's processes are short-lived and stopped by signals.
    provider.add_span_processor(BatchSpanProcessor(_exporter(conf), schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _PROVIDER = provider


def shutdown() -> None:
    """Export what is left; called when the process's transport closes."""
    global _PROVIDER
    if _PROVIDER is not None:
        _PROVIDER.force_flush(5000)
        _PROVIDER.shutdown()
        _PROVIDER = None


def _tracer() -> object:
    from opentelemetry import trace

    return trace.get_tracer("cinder_lab")


class TracedEndpoint:
    """Wraps a manager so each RPC method it serves runs in a span of its own."""

    def __init__(self, manager: object) -> None:
        self._manager = manager

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._manager, name)
        # Only methods: 'target' is a (callable) Target the dispatcher must see as it is.
        if name.startswith("_") or not inspect.isroutine(attr):
            return attr
        span_name = f"{type(self._manager).__name__}.{name}"

        @functools.wraps(attr)
        def traced(*args: object, **kwargs: object) -> object:
            from opentelemetry import trace

            with _tracer().start_as_current_span(span_name, kind=trace.SpanKind.INTERNAL) as span:
                span.set_attribute("cinder_lab.host", str(getattr(self._manager, "host", "")))
                return attr(*args, **kwargs)

        return traced


class TracedCallContext:
    """A prepared client whose ``call`` is wrapped in a CLIENT span with a reply span."""

    def __init__(self, cctxt: object, target: object) -> None:
        self._cctxt = cctxt
        self._target = target

    def cast(self, ctxt: object, method: str, **kwargs: object) -> None:
        return self._cctxt.cast(ctxt, method, **kwargs)

    def call(self, ctxt: object, method: str, **kwargs: object) -> object:
        from opentelemetry import trace

        topic = getattr(self._target, "topic", "?")
        server = getattr(self._target, "server", None)
        tracer = _tracer()
        name = f"{topic}.{method} call"
        with tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT) as s:
            s.set_attribute("rpc.method", method)
            s.set_attribute("messaging.destination.name", f"{topic}.{server}" if server else topic)
            result = self._cctxt.call(ctxt, method, **kwargs)
            with tracer.start_as_current_span(
                f"{method} reply", kind=trace.SpanKind.CONSUMER
            ) as reply:
                reply.set_attribute("messaging.operation", "receive")
                reply.set_attribute("rpc.method", method)
                if isinstance(result, dict):
                    reply.set_attribute("cinder_lab.reply_keys", sorted(map(str, result)))
            return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._cctxt, name)


class TracedClient:
    """An RPC client whose prepared contexts trace their calls."""

    def __init__(self, client: object) -> None:
        self._client = client

    def prepare(self, **kwargs: object) -> TracedCallContext:
        cctxt = self._client.prepare(**kwargs)
        return TracedCallContext(cctxt, getattr(cctxt, "target", None))

    def call(self, ctxt: object, method: str, **kwargs: object) -> object:
        return self.prepare().call(ctxt, method, **kwargs)

    def cast(self, ctxt: object, method: str, **kwargs: object) -> None:
        return self._client.cast(ctxt, method, **kwargs)

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


@contextlib.contextmanager
def span(name: str) -> Iterator[None]:
    """A lab span when tracing is on; nothing otherwise."""
    from cinder_lab.common.config import CONF

    if not enabled(CONF):
        yield
        return
    with _tracer().start_as_current_span(name):
        yield
