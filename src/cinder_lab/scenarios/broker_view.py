"""What a scenario can see of the broker: queues, bindings and the messages routed.

Lab-only. In the single-process mode the in-process broker is read directly;
against RabbitMQ the management HTTP API gives queues and bindings, and the
firehose (as ``cinder-lab trace`` uses it) the messages.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from oslo_config import cfg

from cinder_lab import memory_tap, utils
from cinder_lab.observe import trace
from cinder_lab.observe.management import ManagementAPI


class MemoryView:
    """The in-process broker of ``kombu+memory://``."""

    can_trace = True

    def queues(self) -> dict[str, tuple[int, int]]:
        """Queue -> (messages waiting, consumers)."""
        consumers = memory_tap.consumers()
        return {q: (n, consumers.get(q, 0)) for q, n in memory_tap.queues().items()}

    def queue_names(self) -> set[str]:
        """The queues that exist."""
        return set(memory_tap.queues())

    def bindings(self) -> list[tuple[str, str, str]]:
        """(exchange, routing key, queue)."""
        return memory_tap.bindings()

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[memory_tap.Published]]:
        """Collect every publish while the block runs."""
        events: list[memory_tap.Published] = []
        unsubscribe = memory_tap.subscribe(events.append)
        try:
            yield events
        finally:
            unsubscribe()


class RabbitView:
    """A RabbitMQ vhost: the management API for queues, the firehose for messages."""

    can_trace = True

    def __init__(self) -> None:
        self._api: ManagementAPI | None = None

    @property
    def api(self) -> ManagementAPI:
        # Built on first use: the scenario writes transport_url into CONF first.
        if self._api is None:
            self._api = ManagementAPI.from_conf(cfg.CONF)
        return self._api

    def queue_names(self) -> set[str]:
        """The queues that exist, asked without touching them (a declare renews x-expires)."""
        return {q["name"] for q in self.api.queues()}

    def queues(self) -> dict[str, tuple[int, int]]:
        """Queue -> (messages, consumers), asked of each queue itself.

        The management API lists the queues, but its counts lag a statistics
        interval behind; a passive queue.declare answers with the live counts.
        """
        names = [q["name"] for q in self.api.queues()]
        counts: dict[str, tuple[int, int]] = {}
        conn = trace.amqp_connection(cfg.CONF)()
        try:
            for name in names:
                channel = conn.channel()
                try:
                    _name, messages, consumers = channel.queue_declare(name, passive=True)
                    counts[name] = (messages, consumers)
                except Exception:  # gone since it was listed
                    pass
                finally:
                    with contextlib.suppress(Exception):
                        channel.close()
        finally:
            conn.release()
        return counts

    def bindings(self) -> list[tuple[str, str, str]]:
        """(exchange, routing key, queue), default-exchange bindings left out."""
        return sorted(
            (b["source"], b["routing_key"], b["destination"])
            for b in self.api.bindings()
            if b["source"]
        )

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[memory_tap.Published]]:
        """Collect every publish in the vhost from the firehose while the block runs."""
        events: list[memory_tap.Published] = []
        stop = threading.Event()
        with trace.Firehose(self.api, trace.amqp_connection(cfg.CONF)) as hose:

            def pump() -> None:
                for raw in hose.records(poll=0.1):
                    if raw is not None and raw.what == "publish":
                        events.append(
                            memory_tap.Published(
                                raw.time, raw.exchange, raw.routing_key, raw.queues, raw.envelope
                            )
                        )
                    if stop.is_set():
                        return

            thread = utils.spawn(pump, "firehose-pump")
            try:
                yield events
            finally:
                # The firehose copies arrive a moment after the publishes they report:
                # wait at least a second, and on while copies are still coming in.
                utils.wait_until(settled(events), timeout=5, interval=1.0)
                stop.set()
                thread.join(timeout=10)


def settled(events: list) -> Callable[[], bool]:
    """A predicate that holds once ``events`` has not grown since it was last asked."""
    last = [-1]

    def check() -> bool:
        grew = len(events) != last[0]
        last[0] = len(events)
        return not grew

    return check


def for_url(url: str) -> MemoryView | RabbitView:
    """The view that fits a transport URL."""
    return MemoryView() if url.startswith("kombu+memory") else RabbitView()
