"""Every RPC message as it passes: where it was sent, where it went, who took it.

Lab-only; it answers the note's question "can I print the RPC messages as they
pass?". On RabbitMQ the records come from the firehose, which sees every
publish and delivery of a vhost: a tap queue bound with ``#`` to the control
exchange would miss replies, fanouts and dropped casts. In the single-process
mode the in-process tap gives the same two streams (``observe/sources.py``).
``observe/correlate.py`` pairs each publish with its deliveries and names the
services; this module runs that loop and writes what a learner reads.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

from cinder_lab import utils
from cinder_lab.observe.correlate import (
    Correlator,
    Resolver,
    TraceEvent,
    make_event,
    memory_resolver,
    rabbit_resolver,
)

# The trace's parts, under the names ``cinder-lab trace`` and the scenarios use.
from cinder_lab.observe.envelope import describe_args
from cinder_lab.observe.sources import FIREHOSE, Firehose, MemoryTap, Raw, amqp_connection

__all__ = [
    "FIREHOSE",
    "Correlator",
    "Firehose",
    "MemoryTap",
    "Raw",
    "Resolver",
    "TraceEvent",
    "amqp_connection",
    "format_event",
    "make_event",
    "memory_resolver",
    "rabbit_resolver",
    "run",
]


def run(
    records: Iterator[Raw | None],
    correlator: Correlator,
    emit: Callable[[TraceEvent], None],
    count: int | None = None,
    timeout: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Feed records to the correlator and emit events until ``count``, ``timeout`` or ``stop``."""
    deadline = time.monotonic() + timeout if timeout else None
    emitted = 0
    for raw in records:
        if raw is not None:
            correlator.add(raw)
        over = (deadline is not None and time.monotonic() >= deadline) or bool(
            stop and stop.is_set()
        )
        for ev in correlator.ready(flush=over):
            emit(ev)
            emitted += 1
            if count is not None and emitted >= count:
                return emitted
        if over:
            return emitted
    return emitted


def format_event(ev: TraceEvent, nodes: bool = False) -> str:
    """Two or three lines a learner can read as the messages pass.

    ``nodes``: in a cluster, name the node each publish and delivery went through.
    """
    clock = ev.time[11:23] if len(ev.time) > 11 else ev.time
    what = ev.method or (f"reply to {ev.reply_to}" if ev.reply_to else "(reply)")
    what += f" v{ev.version}" if ev.version else ""
    exchange = ev.exchange or "(default)"
    head = f"{clock} {ev.kind.upper():<6} {what}  exchange={exchange} routing_key={ev.routing_key}"
    if nodes and ev.node:
        head += f"  via {ev.node}"
    if ev.dropped:
        fate = "!! DROPPED: the broker routed it to NO queue; the sender was not told"
    else:
        took = "; ".join(
            label + (f" via {node}" if nodes and node else "")
            for label, node in itertools.zip_longest(
                ev.consumed_by, ev.delivered_on[: len(ev.consumed_by)]
            )
        )
        took = took or "nobody yet (waits in the queue)"
        fate = f"-> {', '.join(ev.queues)}  consumed by {took}"
    lines = [head, f"{'':13}{fate}"]
    details = []
    if ev.args:
        details.append(f"args: {describe_args(ev.args)}")
    if ev.request_id:
        details.append(f"request_id={ev.request_id}")
    if ev.reply_queue:
        details.append(f"reply_queue={ev.reply_queue}")
    if ev.msg_id:
        details.append(f"msg_id={ev.msg_id}")
    if ev.publisher:
        details.append(f"from {ev.publisher}")
    if details:
        lines.append(f"{'':13}" + " ".join(details))
    return utils.mask_url("\n".join(lines))
