"""A window on the in-process broker of ``kombu+memory://`` (single-process mode).

kombu's memory transport routes with the same exchange types as RabbitMQ
(topic, fanout, the default exchange for replies), so the queues, bindings
and routing decisions seen here are the ones RabbitMQ would make. This module
records each publish with the queues it was routed to, and reads the state;
what a message is (cast, call, reply) is ``observe.envelope``'s to say. Lab-only:
only the diagnostic tools, the scenarios and the demo import it.
"""

from __future__ import annotations

import datetime
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from futurist import _thread as futurist_thread
from kombu.transport import memory

from cinder_lab import rpc
from cinder_lab.observe import envelope as envelope_mod

_LOCK = threading.Lock()
_LISTENERS: list[Callable[[Published], None]] = []
_DELIVERY_LISTENERS: list[Callable[[Delivered], None]] = []
_CONSUMERS: dict[tuple[int, str], str] = {}  # (channel, consumer tag) -> queue
_INSTALLED = False
_ORDER = itertools.count(1)  # publish order: two publishes may share a clock reading


@dataclass
class Published:
    """One message as the broker saw it: where it went, and what it carried."""

    time: datetime.datetime
    exchange: str
    routing_key: str
    queues: list[str]
    envelope: dict = field(repr=False)
    order: int = 0  # this broker's publish count: the order of publishes with one time
    serving: bool = False  # sent by a thread serving an RPC message (not the API's)

    @property
    def message(self) -> dict:
        """The oslo message inside the envelope (see ``observe.envelope``)."""
        return envelope_mod.oslo_message(self.envelope)

    @property
    def kind(self) -> str:
        """cast, call, fanout, reply or other (see ``observe.envelope.classify``)."""
        return envelope_mod.kind(self)


@dataclass
class Delivered:
    """One message taken from a queue by a consumer channel (``channel`` is its id)."""

    queue: str
    channel: int
    envelope: dict = field(repr=False)


def _serving() -> bool:
    """True in a thread of an RPC server's pool: a service sending while it serves a message.

    oslo.messaging's threading executor is futurist's ThreadPoolExecutor, whose
    workers are ``futurist._thread.ThreadWorker`` (futurist 3.x). Anything else
    (the API or a client in this process, a service's own timer) is not serving.
    """
    return isinstance(threading.current_thread(), futurist_thread.ThreadWorker)


def _tap_publish(original: Callable) -> Callable:
    def basic_publish(self, message, exchange, routing_key, **kwargs):
        # Ask the exchange where the message will go before it goes there.
        queues = [routing_key] if not exchange else self._lookup(exchange, routing_key)
        with _LOCK:  # the time and the count taken together: both say the publish order
            now, order = datetime.datetime.now(), next(_ORDER)
        event = Published(
            time=now,
            exchange=exchange or "",
            routing_key=routing_key,
            queues=[q for q in queues if q],
            envelope=envelope_mod.decode(message.get("body")),
            order=order,
            serving=_serving(),
        )
        for listener in list(_LISTENERS):
            listener(event)
        return original(self, message, exchange, routing_key, **kwargs)

    return basic_publish


def _tap_consumers(consume: Callable, cancel: Callable) -> tuple[Callable, Callable]:
    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        with _LOCK:
            # Tags repeat across connections ('1', '2', ...): key them by channel.
            _CONSUMERS[(id(self), consumer_tag)] = queue
        return consume(self, queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_cancel(self, consumer_tag):
        with _LOCK:
            _CONSUMERS.pop((id(self), consumer_tag), None)
        return cancel(self, consumer_tag)

    return basic_consume, basic_cancel


def _tap_get(original: Callable) -> Callable:
    def _get(self, queue, timeout=None):
        # Only a consumer's channel polls a queue: this is the delivery to that consumer.
        message = original(self, queue, timeout)
        if _DELIVERY_LISTENERS:
            props = message.get("properties", {})
            body = self.decode_body(message.get("body"), props.get("body_encoding"))
            event = Delivered(queue=queue, channel=id(self), envelope=envelope_mod.decode(body))
            for listener in list(_DELIVERY_LISTENERS):
                listener(event)
        return message

    return _get


def install() -> None:
    """Start recording publishes and consumers of the memory transport (idempotent)."""
    global _INSTALLED
    with _LOCK:
        if _INSTALLED:
            return
        _INSTALLED = True
    channel = memory.Channel
    channel._get = _tap_get(channel._get)
    channel.basic_publish = _tap_publish(channel.basic_publish)
    channel.basic_consume, channel.basic_cancel = _tap_consumers(
        channel.basic_consume, channel.basic_cancel
    )
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
