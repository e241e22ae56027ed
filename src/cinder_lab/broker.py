"""The lab's own probes of a running RPC server and of the broker (lab-only).

Kept beside ``rpc.py`` rather than in it: Cinder's ``rpc.py`` is transport,
clients, servers and ``RPCAPI`` only.
"""

from __future__ import annotations

import logging

import oslo_messaging as messaging

from cinder_lab import rpc
from cinder_lab.common.config import CONF

LOG = logging.getLogger(__name__)

__all__ = ["cancel_consumers", "queue_consumers"]


def cancel_consumers(server: messaging.RPCServer) -> None:
    """Cancel a stopped server's consumers before oslo.messaging closes its connection.

    oslo.messaging 18 (``impl_rabbit.Connection.close``) deletes the fanout queue
    while still consuming from it; RabbitMQ then tells the consumer with a
    ``basic.cancel`` (method 60,30) that arrives while the channel is closing, and
    py-amqp logs "Received method (60, 30) during closing channel". Cancelled
    first, the queue is deleted with no consumer on it and nothing arrives. The
    consume loop has stopped (``server.stop()``), so no other thread reads this
    connection. Best effort: the attributes are oslo.messaging's internals.
    """
    listener = getattr(getattr(server, "listener", None), "_poll_style_listener", None)
    conn = getattr(getattr(listener, "conn", None), "connection", None)
    consumers = getattr(conn, "_consumers", None)
    if not consumers:
        return
    try:
        with conn._connection_lock:
            for consumer, tag in list(consumers.items()):
                consumer.cancel(tag=tag)
    except Exception as e:  # a lost broker: the close that follows copes with it
        LOG.debug("%s: could not cancel consumers: %s", server, e)


def queue_consumers(queue: str) -> int | None:
    """How many consumers the broker counts on ``queue`` now; None if it has no such
    queue, cannot be asked, or is the in-process broker (no other process to see).

    A passive declare answers from the queue itself; the management API's counts
    lag by its statistics interval (5 s), too late for "did it just stop?".
    """
    if rpc.is_in_process(CONF):
        return None
    conn = rpc.kombu_connection(CONF)
    try:
        _name, _messages, consumers = conn.default_channel.queue_declare(queue, passive=True)
        return int(consumers)
    except Exception:  # no such queue (a 404 closes the channel), or no broker
        return None
    finally:
        conn.release()
