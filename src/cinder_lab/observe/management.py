"""A small client of RabbitMQ's management HTTP API, for one vhost.

Lab-only: Cinder has no such module. It is what a broker monitor reads
(the note's question "what can a broker monitor show?"): exchanges, queues
with their message and consumer counts, bindings, consumers, and the
connections whose client property ``connection_name`` oslo.messaging sets to
``<script>:<pid>:<uuid>``. It also switches the vhost's firehose on and off.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from oslo_config import cfg

from cinder_lab import exception, rpc, utils

# The vhost tag a cinder-lab tracer sets when it switches the firehose on, removed by
# the last tracer as it switches it off: a tracer killed meanwhile leaves it, so the
# next one knows the firehose is the lab's and not an operator's.
FIREHOSE_TAG = "cinder-lab-firehose"


class ManagementError(exception.CinderLabException):
    message = "RabbitMQ management API %(url)s: %(reason)s"


def _vhost_of(parsed: object) -> str:
    # oslo's TransportURL keeps the path without its slash; empty means '/'.
    return getattr(parsed, "virtual_host", None) or "/"


def _default_url(host: object | None) -> str:
    """``http://<host>:15672/``: the management plugin's port on a transport_url host."""
    hostname = (getattr(host, "hostname", None) if host else None) or "localhost"
    if ":" in hostname and not hostname.startswith("["):
        hostname = f"[{hostname}]"  # an IPv6 literal
    return f"http://{hostname}:15672/"


class ManagementAPI:
    """GET and PUT on ``/api/...`` of one broker, scoped to one vhost."""

    def __init__(
        self, url: str, username: str, password: str, vhost: str, timeout: float = 5.0
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ManagementError(url=utils.mask_url(url), reason="not an http(s):// URL")
        self.url = url.rstrip("/") + "/"
        self.username = username
        self.password = password
        self.vhost = vhost
        self.timeout = timeout

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> ManagementAPI:
        """Address and credentials from ``[management]``, else from ``transport_url``."""
        parsed = rpc.parse_transport_url(conf)
        return cls.for_broker(conf, parsed, _vhost_of(parsed))

    @classmethod
    def for_broker(cls, conf: cfg.ConfigOpts, parsed: object, vhost: str) -> ManagementAPI:
        """The management API of a parsed transport URL's first host, scoped to ``vhost``."""
        host = parsed.hosts[0] if parsed.hosts else None
        url = conf.management.url or _default_url(host)
        username = conf.management.username or (host.username if host else None) or "guest"
        password = conf.management.password or (host.password if host else None) or "guest"
        return cls(url, username, password, vhost, conf.management.timeout)

    @classmethod
    def other_nodes(cls, conf: cfg.ConfigOpts, first: ManagementAPI) -> list[ManagementAPI]:
        """The management APIs of a cluster's other nodes: ``node_urls``, else one per host."""
        parsed = rpc.parse_transport_url(conf)
        urls = list(conf.management.node_urls) or [_default_url(h) for h in parsed.hosts[1:]]
        urls = [u for u in dict.fromkeys(u.rstrip("/") + "/" for u in urls) if u != first.url]
        return [cls(u, first.username, first.password, first.vhost, first.timeout) for u in urls]

    @property
    def quoted_vhost(self) -> str:
        return urllib.parse.quote(self.vhost, safe="")

    def _request(self, method: str, path: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "api/" + path, data=data, method=method)
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        req.add_header("Content-Type", "application/json")
        where = utils.mask_url(self.url)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            if e.code == 401:
                reason = f"user {self.username!r} was refused (401)"
            elif e.code == 404:
                reason = f"not found: /api/{urllib.parse.unquote(path)} (no vhost {self.vhost!r}?)"
            else:
                reason = f"HTTP {e.code} on /api/{path}"
            raise ManagementError(url=where, reason=reason) from None
        except (urllib.error.URLError, OSError) as e:
            why = getattr(e, "reason", e)
            raise ManagementError(
                url=where,
                reason=f"unreachable ({why}); is the rabbitmq_management plugin enabled?",
            ) from None
        return json.loads(text) if text.strip() else None

    def get(self, path: str) -> object:
        """GET ``/api/<path>`` as JSON."""
        return self._request("GET", path)

    def put(self, path: str, body: dict) -> None:
        """PUT a JSON body to ``/api/<path>``."""
        self._request("PUT", path, body)

    def delete(self, path: str) -> None:
        """DELETE ``/api/<path>``."""
        self._request("DELETE", path)

    # -- the vhost's objects ---------------------------------------------------

    def exchanges(self) -> list[dict]:
        return self.get(f"exchanges/{self.quoted_vhost}")

    def queues(self) -> list[dict]:
        return self.get(f"queues/{self.quoted_vhost}")

    def queue(self, name: str) -> dict | None:
        """One queue, or None if the broker has no such queue."""
        try:
            return self.get(f"queues/{self.quoted_vhost}/{urllib.parse.quote(name, safe='')}")
        except ManagementError as e:
            if "not found" in str(e):
                return None
            raise

    def bindings(self) -> list[dict]:
        return self.get(f"bindings/{self.quoted_vhost}")

    def consumers(self) -> list[dict]:
        return self.get(f"consumers/{self.quoted_vhost}")

    def connections(self) -> list[dict]:
        return self.get(f"vhosts/{self.quoted_vhost}/connections")

    # -- the firehose ------------------------------------------------------------

    def node(self) -> str:
        """The name of the node that answers this API, e.g. ``rabbit@rabbitmq-2``."""
        return str(self.get("overview").get("node"))

    def running_nodes(self) -> list[str]:
        """The cluster's running nodes, as this node sees them."""
        return sorted(n["name"] for n in self.get("nodes") if n.get("running"))

    def vhost_info(self) -> dict:
        return self.get(f"vhosts/{self.quoted_vhost}")

    def tracing(self) -> bool:
        """True while the vhost's firehose (``amq.rabbitmq.trace``) is on, on this node."""
        return bool(self.vhost_info().get("tracing"))

    def set_tracing(self, on: bool, marked: bool | None = None) -> None:
        """``rabbitmqctl trace_on/trace_off -p VHOST``, over HTTP; on this node only.

        ``marked``: also add (True) or remove (False) the vhost tag FIREHOSE_TAG,
        which outlives the tracer that set it (e.g. one killed with SIGKILL).
        """
        info = self.vhost_info()
        # PUT replaces the vhost's settings: carry its description and tags over.
        body: dict = {"tracing": on}
        meta = info.get("metadata") or {}
        if meta.get("description") or info.get("description"):
            body["description"] = meta.get("description") or info.get("description")
        tags = [t for t in (meta.get("tags") or info.get("tags") or []) if t != FIREHOSE_TAG]
        if marked or (marked is None and self._tagged(info)):
            tags.append(FIREHOSE_TAG)
        if tags or marked is False:
            body["tags"] = ",".join(tags)
        self.put(f"vhosts/{self.quoted_vhost}", body)

    def firehose_marked(self) -> bool:
        """True while a cinder-lab tracer's tag says the firehose is the lab's to switch off."""
        return self._tagged(self.vhost_info())

    @staticmethod
    def _tagged(info: dict) -> bool:
        meta = info.get("metadata") or {}
        return FIREHOSE_TAG in (meta.get("tags") or info.get("tags") or [])
