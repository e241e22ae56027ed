"""What an RPC message on the wire is: decode, classify, describe.

Lab-only; the one reading of oslo.messaging's AMQP messages for the
in-process tap (``memory_tap``) and RabbitMQ's firehose (``observe/trace``).
Since Kilo (2015.1) oslo.messaging wraps every message as
``{"oslo.version": "2.0", "oslo.message": "<json>"}``
(``oslo_messaging/_drivers/common.py serialize_msg``). Inside it:

- a cast or call carries ``method``; a call also ``_reply_q`` and
  ``_msg_id`` (``amqpdriver.py`` ``_send``); a fanout cast goes to exchange
  ``<topic>_fanout``;
- a reply carries ``result``, ``failure`` and ``ending`` and no ``method``,
  and is published to the default exchange (``impl_rabbit.py direct_send``)
  with the caller's reply queue ``reply_<hex>`` as routing key
  (``amqpdriver.py`` ``_send_reply``, also its call-monitor heartbeat).

Anything else is ``other``: not an oslo RPC message.
"""

from __future__ import annotations

import json
from typing import Protocol

REPLY_KEYS = ("result", "failure", "ending")
REPLY_QUEUE_PREFIX = "reply_"


class Routed(Protocol):
    """A message and where the broker routed it (a tap's publish record)."""

    exchange: str
    routing_key: str
    queues: list[str]
    envelope: dict


def decode(body: object) -> dict:
    """A JSON message body as a dict; anything else is kept as ``{"raw": ...}``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        value = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return {"raw": body}
    return value if isinstance(value, dict) else {"raw": value}


def oslo_message(envelope: dict) -> dict:
    """The message inside ``{"oslo.version": "2.0", "oslo.message": "<json>"}``.

    A body without that wrapper is returned as it is (oslo before 2.0 sent it bare).
    """
    inner = envelope.get("oslo.message")
    if isinstance(inner, str):
        try:
            value = json.loads(inner)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return envelope


def is_reply(exchange: str, routing_key: str, msg: dict) -> bool:
    """A call's answer: on the default exchange to a ``reply_*`` queue, ``result``, no method."""
    return (
        "method" not in msg
        and not exchange
        and routing_key.startswith(REPLY_QUEUE_PREFIX)
        and any(key in msg for key in REPLY_KEYS)
    )


def classify(exchange: str, routing_key: str, msg: dict) -> str:
    """``cast``, ``call``, ``fanout``, ``reply`` or ``other``, as oslo.messaging marks them."""
    if "method" in msg:
        if exchange.endswith("_fanout"):
            return "fanout"
        return "call" if "_reply_q" in msg else "cast"
    return "reply" if is_reply(exchange, routing_key, msg) else "other"


def kind(event: Routed) -> str:
    """``classify`` for a routed message."""
    return classify(event.exchange, event.routing_key, oslo_message(event.envelope))


OBJECT_KEY = "versioned_object.name"


def describe_value(value: object) -> str:
    """One argument, short: a versioned object as ``Volume 1.9 <id>``, else its JSON.

    Today's Cinder sends whole objects (oslo.versionedobjects primitives:
    ``versioned_object.name/namespace/version/data/changes``); their name,
    version and id are what a learner needs on one line.
    """
    if isinstance(value, dict) and OBJECT_KEY in value:
        data = value.get("versioned_object.data") or {}
        ident = data.get("id") if isinstance(data, dict) else None
        version = value.get("versioned_object.version", "?")
        if ident is None and isinstance(data, dict):  # BackupDeviceInfo: name the objects it holds
            held = [v for v in data.values() if isinstance(v, dict) and OBJECT_KEY in v]
            inner = ", ".join(describe_value(v) for v in held)
            return f"{value[OBJECT_KEY]} {version}" + (f" ({inner})" if inner else "")
        return f"{value[OBJECT_KEY]} {version} {ident}"
    if isinstance(value, dict) and len(json.dumps(value)) > 60:
        return "{" + ", ".join(sorted(value)) + "}"  # request_spec and the like: its keys
    return json.dumps(value, sort_keys=True)


def describe_args(args: object) -> str:
    """A request's arguments on one line: ``backup=Backup 1.7 <id> want_objects=true``."""
    if not isinstance(args, dict):
        return json.dumps(args)
    return " ".join(f"{name}={describe_value(args[name])}" for name in sorted(args))


def describe(event: Routed) -> str:
    """One routed message: kind, method, version, exchange, routing key -> queues.

    A request gets a third line with its arguments (``describe_args``).
    """
    msg = oslo_message(event.envelope)
    method = msg.get("method", "(result)" if "result" in msg else "(reply)")
    target = ", ".join(event.queues) if event.queues else "DROPPED: no queue bound"
    exchange = event.exchange or "(default exchange)"
    version = f" v{msg['version']}" if "version" in msg else ""
    text = (
        f"  {kind(event):<6} {method + version:<28} exchange={exchange} "
        f"routing_key={event.routing_key}\n{'':9}-> queue {target}"
    )
    if "method" in msg and msg.get("args"):
        text += f"\n{'':9}   {describe_args(msg['args'])}"
    return text
