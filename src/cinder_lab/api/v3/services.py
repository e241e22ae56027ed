"""``/v3/{project_id}/os-services``; mirrors cinder/api/v3/services.py (index, enable, disable).

cinder-api itself has no services row (Cinder's WSGI service registers none),
so the list shows the note's rows: volume, backup and scheduler services only.
"""

from __future__ import annotations

from cinder_lab import utils
from cinder_lab.api import errors
from cinder_lab.api import microversions as mv
from cinder_lab.api.v3 import views
from cinder_lab.api.wsgi import ApiRequest
from cinder_lab.db import api as db
from cinder_lab.db import models


def service_view(req: ApiRequest, s: models.Service) -> dict:
    """One row as ``os-services`` shows it, with os-extended-services' fields."""
    view = {
        "binary": s.binary,
        "host": s.host,
        "zone": s.availability_zone,
        "status": utils.service_status(s),
        "state": utils.service_state(s),
        "updated_at": views.timestamp(s.updated_at),
    }
    if req.version.matches(mv.CLUSTER_SUPPORT):
        view["cluster"] = None
    view["disabled_reason"] = s.disabled_reason
    if s.binary == "cinder-volume":
        view.update(replication_status="not-capable", active_backend_id=None, frozen=False)
    return view


def index(req: ApiRequest) -> dict:
    """GET, optionally ``?host=`` and ``?binary=``."""
    host, binary = req.params.get("host"), req.params.get("binary")
    rows = [
        s
        for s in db.service_get_all()
        if (host is None or s.host == host) and (binary is None or s.binary == binary)
    ]
    return {"services": [service_view(req, s) for s in rows]}


def _host_and_binary(body: object) -> tuple[dict, str, str]:
    if not isinstance(body, dict):
        raise errors.Fault(400, f"{body!r} is not of type 'object'")
    for key in ("host", "binary"):
        value = body.get(key)
        if key == "binary" and value is None:
            value = body.get("service")  # the deprecated spelling Cinder still takes
        if not isinstance(value, str) or not value:
            raise errors.Fault(
                400,
                f"Invalid input for field/attribute {key}. Value: {value}. "
                f"{value!r} is not a non-empty 'string'",
            )
    return body, body["host"], body.get("binary") or body["service"]


def update(req: ApiRequest) -> dict:
    """PUT /{action}: enable, disable, or disable-log-reason; 404 for any other action."""
    action = req.http.path_params["action"]
    if action not in ("enable", "disable", "disable-log-reason"):
        raise errors.Fault(404, "Unknown action")
    body, host, binary = _host_and_binary(req.body)
    disable = action != "enable"
    reason = body.get("disabled_reason") if action == "disable-log-reason" else None
    if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
        raise errors.Fault(
            400,
            "Invalid input received: disabled_reason must be a string of at most 255 characters",
        )
    row = db.service_get_by_args(host, binary)
    db.service_update(row.id, {"disabled": disable, "disabled_reason": reason})
    answer = {
        "host": host,
        "service": body.get("service", ""),
        "binary": body.get("binary", ""),
        "status": "disabled" if disable else "enabled",
        "disabled": disable,
    }
    if action == "disable-log-reason":
        answer["disabled_reason"] = reason
    return answer
