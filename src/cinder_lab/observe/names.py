"""What a queue's or a connection's name tells: topic, server, process.

Lab-only. oslo.messaging's rabbit driver names a topic queue ``T``, a
server queue ``T.S``, a fanout queue ``T_fanout_<hex>`` and a caller's
reply queue ``reply_<hex>``; it names every connection
``<script>:<pid>:<uuid>`` (client property ``connection_name``).
"""

from __future__ import annotations

import re

from cinder_lab.common.config import CONF


def topics() -> list[str]:
    """The RPC topics the lab's services use."""
    return [CONF.volume_topic, CONF.backup_topic, CONF.scheduler_topic]


_FANOUT = re.compile(r"^(?P<topic>.+)_fanout_[0-9a-f]{32}$")


def parse_queue(name: str) -> tuple[str, str | None, str | None]:
    """``(kind, topic, server)`` of a queue name, as oslo.messaging's rabbit driver names them.

    ``T`` -> topic queue, ``T.S`` -> server queue, ``T_fanout_<hex>`` -> fanout
    queue, ``reply_<hex>`` -> a caller's reply queue. With Ocata's addressing
    (topic ``cinder-volume.host@backend``, server ``host``) the server queue
    ``cinder-volume.host@backend.host`` has topic ``cinder-volume.host@backend``.
    """
    if name.startswith("reply_"):
        return "reply", None, None
    fanout = _FANOUT.match(name)
    if fanout:
        return "fanout", fanout.group("topic"), None
    # Longest topic first; hosts may hold dots, so split on the known topic, not on '.'.
    for topic in sorted(topics(), key=len, reverse=True):
        if name == topic:
            return "topic", topic, None
        if name.startswith(topic + "."):
            rest = name[len(topic) + 1 :]
            at = rest.find("@")
            dot = rest.find(".", at) if at >= 0 else -1
            if dot > at >= 0:  # host@backend.host: Ocata's second server
                return "server", f"{topic}.{rest[:dot]}", rest[dot + 1 :]
            return "server", topic, rest
    return "other", None, None


def service_key(topic: str | None, server: str | None) -> tuple[str, str] | None:
    """The ``(topic, host)`` of the services row a server queue belongs to."""
    if topic is None or server is None:
        return None
    for known in topics():
        if topic.startswith(known + "."):  # Ocata: the row is (cinder-volume, host@backend)
            return known, topic[len(known) + 1 :]
    return topic, server


def parse_connection_name(name: str | None) -> tuple[str | None, int | None]:
    """``('cinder-lab-backup', 1234)`` from oslo's ``<script>:<pid>:<uuid>``."""
    parts = (name or "").split(":")
    if len(parts) >= 3 and parts[-2].isdigit():
        return ":".join(parts[:-2]), int(parts[-2])
    return None, None
