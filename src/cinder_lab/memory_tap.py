"""A window on the in-process broker of ``kombu+memory://`` (single-process mode).

kombu's memory transport routes with the same exchange types as RabbitMQ
(topic, fanout, the default exchange for replies), so the queues, bindings
and routing decisions seen here are the ones RabbitMQ would make. This module
records each publish with the queues it was routed to, and reads the state.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kombu.transport import memory

from cinder_lab import rpc

_LOCK = threading.Lock()
_LISTENERS: list[Callable[[Published], None]] = []
_DELIVERY_LISTENERS: list[Callable[[Delivered], None]] = []
_CONSUMERS: dict[tuple[int, str], str] = {}  # (channel, consumer tag) -> queue
_INSTALLED = False


@dataclass
class Published:
    """One message as the broker saw it: where it went, and what it carried."""

    time: datetime.datetime
    exchange: str
    routing_key: str
    queues: list[str]
    envelope: dict = field(repr=False)

    @property
    def message(self) -> dict:
        """The oslo message inside the ``{"oslo.version", "oslo.message"}`` envelope."""
        inner = self.envelope.get("oslo.message")
        if isinstance(inner, str):
            try:
                return json.loads(inner)
            except ValueError:
                return {}
        return self.envelope

    @property
    def kind(self) -> str:
        """cast, call, fanout or reply, told apart as oslo.messaging marks them."""
        msg = self.message
        if "method" not in msg:
            return "reply"
        if self.exchange.endswith("_fanout"):
            return "fanout"
        return "call" if "_reply_q" in msg else "cast"


def describe(event: Published) -> str:
    """One routed message in two lines: kind, method, exchange, routing key -> queues."""
    msg = event.message
    method = msg.get("method", "(result)" if "result" in msg else "(reply)")
    target = ", ".join(event.queues) if event.queues else "DROPPED: no queue bound"
    exchange = event.exchange or "(default exchange)"
    return (
        f"  {event.kind:<6} {method:<28} exchange={exchange} "
        f"routing_key={event.routing_key}\n{'':9}-> queue {target}"
    )


@dataclass
class Delivered:
    """One message taken from a queue by a consumer channel (``channel`` is its id)."""

    queue: str
    channel: int
    envelope: dict = field(repr=False)


def decode_envelope(body: object) -> dict:
    """A JSON message body as a dict; anything else is kept as ``{"raw": ...}``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        value = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return {"raw": body}
    return value if isinstance(value, dict) else {"raw": value}


def install() -> None:
    """Start recording publishes and consumers of the memory transport (idempotent)."""
    global _INSTALLED
    with _LOCK:
        if _INSTALLED:
            return
        _INSTALLED = True
    original_publish = memory.Channel.basic_publish
    original_consume = memory.Channel.basic_consume
    original_cancel = memory.Channel.basic_cancel
    original_get = memory.Channel._get

    def basic_publish(self, message, exchange, routing_key, **kwargs):  # type: ignore[no-untyped-def]
        # Ask the exchange where the message will go before it goes there.
        queues = [routing_key] if not exchange else self._lookup(exchange, routing_key)
        event = Published(
            time=datetime.datetime.now(),
            exchange=exchange or "",
            routing_key=routing_key,
            queues=[q for q in queues if q],
            envelope=decode_envelope(message.get("body")),
        )
        for listener in list(_LISTENERS):
            listener(event)
        return original_publish(self, message, exchange, routing_key, **kwargs)

    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):  # type: ignore[no-untyped-def]
        with _LOCK:
            # Tags repeat across connections ('1', '2', ...): key them by channel.
            _CONSUMERS[(id(self), consumer_tag)] = queue
        return original_consume(self, queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_cancel(self, consumer_tag):  # type: ignore[no-untyped-def]
        with _LOCK:
            _CONSUMERS.pop((id(self), consumer_tag), None)
        return original_cancel(self, consumer_tag)

    def _get(self, queue, timeout=None):  # type: ignore[no-untyped-def]
        # Only a consumer's channel polls a queue: this is the delivery to that consumer.
        message = original_get(self, queue, timeout)
        if _DELIVERY_LISTENERS:
            props = message.get("properties", {})
            body = self.decode_body(message.get("body"), props.get("body_encoding"))
            event = Delivered(queue=queue, channel=id(self), envelope=decode_envelope(body))
            for listener in list(_DELIVERY_LISTENERS):
                listener(event)
        return message

    memory.Channel._get = _get
    memory.Channel.basic_publish = basic_publish
    memory.Channel.basic_consume = basic_consume
    memory.Channel.basic_cancel = basic_cancel
    rpc.set_memory_polling_floor()


def subscribe(listener: Callable[[Published], None]) -> Callable[[], None]:
    """Call ``listener`` for every publish; returns a function that unsubscribes."""
    install()
    _LISTENERS.append(listener)
    return lambda: _LISTENERS.remove(listener)


def subscribe_deliveries(listener: Callable[[Delivered], None]) -> Callable[[], None]:
    """Call ``listener`` each time a consumer takes a message; returns the unsubscriber."""
    install()
    _DELIVERY_LISTENERS.append(listener)
    return lambda: _DELIVERY_LISTENERS.remove(listener)


def exchanges() -> dict[str, str]:
    """Exchange name -> type, as the in-process broker holds them."""
    state = memory.Transport.global_state
    return {name: ex.get("type", "?") for name, ex in state.exchanges.items()}


def bindings() -> list[tuple[str, str, str]]:
    """``(exchange, routing_key, queue)`` for every binding."""
    state = memory.Transport.global_state
    return sorted((ex, key, queue) for (queue, ex, key) in state.bindings)


def queues() -> dict[str, int]:
    """Queue name -> messages waiting."""
    return {name: q.qsize() for name, q in memory.Channel.queues.items()}


def consumers() -> dict[str, int]:
    """Queue name -> number of consumers."""
    with _LOCK:
        counts: dict[str, int] = {}
        for queue in _CONSUMERS.values():
            counts[queue] = counts.get(queue, 0) + 1
    return counts


def consumer_list() -> list[tuple[int, str, str]]:
    """``(channel id, consumer tag, queue)`` for every consumer, as a broker lists them."""
    with _LOCK:
        return sorted((chan, tag, queue) for (chan, tag), queue in _CONSUMERS.items())


def reset() -> None:
    """Forget every exchange, binding and queue (between single-process runs)."""
    memory.Transport.global_state.clear()
    memory.Channel.queues.clear()
    with _LOCK:
        _CONSUMERS.clear()
