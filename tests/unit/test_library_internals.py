"""One test per library internal the lab patches or reads: each fails loudly, naming the
internal, when a new release of oslo.messaging, futurist or kombu moves it.

pyproject.toml bounds those libraries above for the same reason.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import oslo_messaging as messaging
from futurist import _thread as futurist_thread
from kombu.transport import memory
from oslo_messaging._drivers import impl_rabbit

from cinder_lab import broker, rpc, service
from cinder_lab.common.config import CONF


def test_futurist_idle_workers_wait_max_idle_for():
    """broker.prompt_worker_stop: futurist's idle worker waits MAX_IDLE_FOR for work."""
    assert "self.MAX_IDLE_FOR" in inspect.getsource(futurist_thread.ThreadWorker), (
        "futurist._thread.ThreadWorker no longer waits MAX_IDLE_FOR: broker.prompt_worker_stop "
        "has no effect, and every stop waits a second again"
    )
    broker.prompt_worker_stop()
    assert futurist_thread.ThreadWorker.MAX_IDLE_FOR == broker.WORKER_IDLE_CHECK


def test_oslo_messaging_sets_the_memory_polling_interval_to_zero():
    """rpc.set_memory_polling_floor: the busy loop it prevents is oslo.messaging's doing."""
    assert "transport.polling_interval = 0" in inspect.getsource(impl_rabbit.Connection), (
        "impl_rabbit.Connection no longer sets polling_interval = 0: revisit "
        "rpc.set_memory_polling_floor"
    )
    rpc.set_memory_polling_floor()
    transport = memory.Transport.__new__(memory.Transport)
    transport.polling_interval = 0.0
    assert transport.polling_interval == rpc.POLL_FLOOR


# What memory_tap wraps, with the arguments its wrappers pass on (kombu 5).
TAPPED = {
    "_get": ["self", "queue", "timeout"],
    "basic_publish": ["self", "message", "exchange", "routing_key", "kwargs"],
    "basic_consume": ["self", "queue", "no_ack", "callback", "consumer_tag", "kwargs"],
    "basic_cancel": ["self", "consumer_tag"],
    "_lookup": ["self", "exchange", "routing_key", "default"],
}


def test_the_memory_channel_methods_memory_tap_wraps():
    """memory_tap.install: kombu's memory Channel, before any wrapping (a fresh interpreter)."""
    code = (
        "import inspect, json; from kombu.transport import memory; "
        f"print(json.dumps({{n: list(inspect.signature(getattr(memory.Channel, n)).parameters)"
        f" for n in {sorted(TAPPED)!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == TAPPED, "kombu's memory Channel changed: see memory_tap.py"


def test_a_servers_consumers_where_cancel_consumers_finds_them(memory_conf: Path):
    """service.cancel_consumers reads server.listener._poll_style_listener.conn.connection
    ._consumers and ._connection_lock (oslo.messaging 18, impl_rabbit)."""
    rpc.init(CONF)
    server = rpc.get_server(messaging.Target(topic="cinder-lab-internals", server="h"), [object()])
    server.start()
    try:
        listener = server.listener._poll_style_listener
        conn = listener.conn.connection
        assert conn._consumers, "no consumers where cancel_consumers looks"
        assert all(isinstance(c, impl_rabbit.Consumer) for c in conn._consumers)
        assert "tag" in inspect.signature(impl_rabbit.Consumer.cancel).parameters
        assert hasattr(conn._connection_lock, "__enter__")
    finally:
        server.stop()
        service.cancel_consumers(server)
        server.wait()
