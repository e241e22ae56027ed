"""A vhost of its own for a scenario run on a broker; lab-only.

A scenario starts and stops services, declares queues and reads the firehose:
in a learner's vhost it would take their messages and leave queues behind. So
``scenario run --transport-url`` makes a fresh vhost on that broker (through
the management API, with the URL's credentials), runs there, and deletes it.
"""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections.abc import Iterator

import oslo_messaging as messaging

from cinder_lab.common.config import CONF
from cinder_lab.observe.management import ManagementAPI


@contextlib.contextmanager
def own_vhost(transport_url: str, name: str) -> Iterator[str]:
    """``transport_url`` moved to a new vhost, deleted again when the block ends."""
    parsed = messaging.TransportURL.parse(CONF, transport_url)
    api = ManagementAPI.for_broker(CONF, parsed, "/")
    vhost = f"cinder-lab-scenario-{name}-{uuid.uuid4().hex[:8]}"
    quoted = urllib.parse.quote(vhost, safe="")
    api.put(f"vhosts/{quoted}", {})
    try:
        user = urllib.parse.quote(api.username, safe="")
        api.put(f"permissions/{quoted}/{user}", {"configure": ".*", "write": ".*", "read": ".*"})
        base = transport_url.split("?")[0]
        scheme_and_hosts = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
        yield f"{scheme_and_hosts}/{quoted}"
    finally:
        api.delete(f"vhosts/{quoted}")
