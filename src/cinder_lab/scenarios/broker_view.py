"""What a scenario can see of the broker: queues, bindings and the messages routed.

Lab-only. In the single-process mode the in-process broker is read directly;
against RabbitMQ the management HTTP API (port 15672, the transport URL's
credentials) gives queues and bindings.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator

import oslo_messaging as messaging
from oslo_config import cfg

from cinder_lab import memory_broker


class MemoryView:
    """The in-process broker of ``kombu+memory://``."""

    can_trace = True

    def queues(self) -> dict[str, tuple[int, int]]:
        """Queue -> (messages waiting, consumers)."""
        consumers = memory_broker.consumers()
        return {q: (n, consumers.get(q, 0)) for q, n in memory_broker.queues().items()}

    def bindings(self) -> list[tuple[str, str, str]]:
        """(exchange, routing key, queue)."""
        return memory_broker.bindings()

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[memory_broker.Published]]:
        """Collect every publish while the block runs."""
        events: list[memory_broker.Published] = []
        unsubscribe = memory_broker.subscribe(events.append)
        try:
            yield events
        finally:
            unsubscribe()


class RabbitView:
    """A RabbitMQ vhost through the management HTTP API."""

    can_trace = False

    def __init__(self, url: str) -> None:
        parsed = messaging.TransportURL.parse(cfg.CONF, url)
        host = parsed.hosts[0] if parsed.hosts else None
        self.api = f"http://{(host and host.hostname) or '127.0.0.1'}:15672/api"
        user = (host and host.username) or "guest"
        password = (host and host.password) or "guest"
        self.auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.vhost = urllib.parse.quote(parsed.virtual_host or "/", safe="")

    def _get(self, path: str) -> list[dict]:
        request = urllib.request.Request(
            f"{self.api}{path}", headers={"Authorization": f"Basic {self.auth}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def queues(self) -> dict[str, tuple[int, int]]:
        """Queue -> (messages, consumers); counts may lag a few seconds behind the broker."""
        rows = self._get(f"/queues/{self.vhost}?columns=name,messages,consumers")
        return {r["name"]: (r.get("messages") or 0, r.get("consumers") or 0) for r in rows}

    def bindings(self) -> list[tuple[str, str, str]]:
        """(exchange, routing key, queue), default-exchange bindings left out."""
        rows = self._get(f"/bindings/{self.vhost}")
        return sorted(
            (r["source"], r["routing_key"], r["destination"]) for r in rows if r["source"]
        )

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[memory_broker.Published]]:
        """No message view here: ``cinder-lab trace`` shows them from the firehose."""
        yield []


def for_url(url: str) -> MemoryView | RabbitView:
    """The view that fits a transport URL."""
    return MemoryView() if url.startswith("kombu+memory") else RabbitView(url)
