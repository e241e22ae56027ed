"""The ``cinder-lab`` client over HTTP, when ``[api] endpoint`` names a cinder-lab-api.

What python-cinderclient does for ``cinder``: the same v3 requests, noauth
(``X-Auth-Token: admin:admin``). The answers come back as rows with the
attributes the shell's tables read, so each command prints the same columns
whichever way it went. Without an endpoint the shell calls the API code
in-process (the single-process mode and the debugger story need no server).
"""

from __future__ import annotations

import datetime
import json
import types
import urllib.error
import urllib.parse
import urllib.request

from cinder_lab import exception, utils
from cinder_lab.api.opts import CONF  # registers [api]

TOKEN = "admin:admin"  # noauth: user:project, an admin, as cinderclient's noauth plugin sends
# The API answers within its own RPC timeout; this only bounds a hung server.
TIMEOUT = 120.0


def configured() -> ApiClient | None:
    """The client for ``[api] endpoint``, or None for the in-process path."""
    return ApiClient(CONF.api.endpoint) if CONF.api.endpoint else None


def _time(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


class ApiClient:
    """v3 calls of the shell's commands; every error one line, with Cinder's message."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")

    def _request(self, method: str, path: str, body: object = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint + path,
            data=data,
            method=method,
            headers={
                "X-Auth-Token": TOKEN,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise exception.CinderLabException(f"{_message(e)} (HTTP {e.code})") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            url = utils.mask_url(self.endpoint)
            raise exception.CinderLabException(f"cinder-lab-api at {url}: {reason}") from None

    # -- services ----------------------------------------------------------------

    def service_get_all(self) -> list[types.SimpleNamespace]:
        """GET /os-services."""
        return [_service(s) for s in self._request("GET", "/os-services")["services"]]

    def service_set(
        self, host: str, binary: str, disable: bool, reason: str | None
    ) -> types.SimpleNamespace:
        """PUT /os-services/enable|disable|disable-log-reason, then the row as listed."""
        action = "enable" if not disable else "disable-log-reason" if reason else "disable"
        body = {"host": host, "binary": binary}
        if reason:
            body["disabled_reason"] = reason
        self._request("PUT", f"/os-services/{action}", body)
        return next(s for s in self.service_get_all() if (s.host, s.binary) == (host, binary))

    # -- volumes -----------------------------------------------------------------

    def volume_create(
        self, size: str, name: str | None, volume_type: str | None
    ) -> types.SimpleNamespace:
        """POST /volumes (202)."""
        body = {"volume": {"size": size, "name": name, "volume_type": volume_type}}
        return _volume(self._request("POST", "/volumes", body)["volume"])

    def volume_get(self, volume_id: str) -> types.SimpleNamespace:
        """GET /volumes/{id}."""
        return _volume(self._request("GET", f"/volumes/{_quote(volume_id)}")["volume"])

    def volume_get_all(self) -> list[types.SimpleNamespace]:
        """GET /volumes/detail."""
        return [_volume(v) for v in self._request("GET", "/volumes/detail")["volumes"]]

    def reset_status(self, collection: str, item_id: str, args: dict) -> None:
        """POST /{volumes,backups}/{id}/action ``os-reset_status`` (202, no body)."""
        body = {"os-reset_status": args}
        self._request("POST", f"/{collection}/{_quote(item_id)}/action", body)

    # -- backups -----------------------------------------------------------------

    def backup_create(self, volume_id: str) -> types.SimpleNamespace:
        """POST /backups (202), then the backup in full."""
        created = self._request("POST", "/backups", {"backup": {"volume_id": volume_id}})
        return self.backup_get(created["backup"]["id"])

    def backup_get(self, backup_id: str) -> types.SimpleNamespace:
        """GET /backups/{id}."""
        return _backup(self._request("GET", f"/backups/{_quote(backup_id)}")["backup"])

    def backup_get_all(self) -> list[types.SimpleNamespace]:
        """GET /backups/detail."""
        return [_backup(b) for b in self._request("GET", "/backups/detail")["backups"]]


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _message(e: urllib.error.HTTPError) -> str:
    """Cinder's fault message (``{"itemNotFound": {"message": ...}}``, or webob's)."""
    try:
        body = json.loads(e.read())
        if "message" in body:
            return str(body["message"]).split("<br />")[0]
        return str(next(iter(body.values()))["message"])
    except (ValueError, TypeError, KeyError, AttributeError, StopIteration):
        return e.reason if isinstance(e.reason, str) else "HTTP error"


def _service(s: dict) -> types.SimpleNamespace:
    updated = _time(s.get("updated_at"))
    return types.SimpleNamespace(
        binary=s["binary"],
        host=s["host"],
        availability_zone=s["zone"],
        disabled=s["status"] == "disabled",
        disabled_reason=s.get("disabled_reason"),
        updated_at=updated,
        created_at=updated,
        state=s["state"],
    )


def _volume(v: dict) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        id=v["id"],
        name=v["name"],
        size=v["size"],
        status=v["status"],
        host=v.get("os-vol-host-attr:host"),
        availability_zone=v["availability_zone"],
        volume_type=v["volume_type"],
        status_reason=None,  # not in Cinder's volume view
        created_at=_time(v["created_at"]),
        updated_at=_time(v["updated_at"]),
    )


def _backup(b: dict) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        id=b["id"],
        volume_id=b["volume_id"],
        status=b["status"],
        host=None,  # Cinder's backup view does not show it
        availability_zone=b["availability_zone"],
        volume_host=None,
        fail_reason=b["fail_reason"],
        created_at=_time(b["created_at"]),
        updated_at=_time(b["updated_at"]),
    )
