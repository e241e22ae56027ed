"""``/v3/{project_id}/volumes``; mirrors cinder/api/v3/volumes.py (create, index, detail, show)."""

from __future__ import annotations

from cinder_lab.api import errors
from cinder_lab.api.v3 import views
from cinder_lab.api.wsgi import ApiRequest
from cinder_lab.db import api as db
from cinder_lab.volume import api as volume

DB_MAX_INT = 0x7FFFFFFF  # cinder.common.constants.DB_MAX_INT


def invalid_field(name: str, value: object, reason: str) -> errors.Fault:
    """Cinder's jsonschema validator message for one field."""
    return errors.Fault(400, f"Invalid input for field/attribute {name}. Value: {value}. {reason}")


def entity(body: object, key: str) -> dict:
    """``body[key]``, an object, as Cinder's schemas require it."""
    if not isinstance(body, dict):
        raise errors.Fault(400, f"{json_repr(body)} is not of type 'object'")
    if key not in body:
        raise errors.Fault(400, f"'{key}' is a required property")
    if not isinstance(body[key], dict):
        raise invalid_field(key, body[key], f"{json_repr(body[key])} is not of type 'object'")
    return body[key]


def json_repr(value: object) -> str:
    """A value as jsonschema's messages show it (Python's repr)."""
    return repr(value)


def check_size(size: object) -> int:
    """parameter_types.volume_size: an integer or a string of digits, 1 to DB_MAX_INT."""
    if isinstance(size, bool) or not isinstance(size, (int, str)):
        raise invalid_field("size", size, f"{json_repr(size)} is not of type 'integer', 'string'")
    text = str(size)
    if isinstance(size, str) and (not size.isascii() or not size.isdigit()):
        raise invalid_field("size", size, f"{json_repr(size)} does not match '^[0-9]+$'")
    # Compared as text first: int() of thousands of digits passes Python's conversion limit.
    if text.isdigit() and (len(text.lstrip("0")) > len(str(DB_MAX_INT)) or int(text) > DB_MAX_INT):
        raise invalid_field("size", text, f"{text} is greater than the maximum of {DB_MAX_INT}")
    if int(text) < 1:
        raise invalid_field("size", size, f"{size} is less than the minimum of 1")
    return int(text)


def optional_string(volume: dict, key: str) -> str | None:
    """A name-like field: a string of at most 255 characters, or null."""
    value = volume.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid_field(key, value, f"{json_repr(value)} is not of type 'string', 'null'")
    if value is not None and len(value) > 255:
        raise invalid_field(key, value, f"{json_repr(value)} is too long")
    return value


def create(req: ApiRequest) -> dict:
    """POST: store the volume ``creating`` and cast to the scheduler; 202 with its detail."""
    fields = entity(req.body, "volume")
    if fields.get("size") is None:
        raise errors.Fault(400, "Invalid input received: Size of volume must be given.")
    size = check_size(fields["size"])
    name = optional_string(fields, "name") or optional_string(fields, "display_name")
    volume_type = optional_string(fields, "volume_type") or None
    # A fresh API (and RPC client) per request: cheap, and it never outlives a transport.
    row = volume.API().create(req.context, size, name, volume_type)
    return {"volume": views.volume_detail(req, row)}


def index(req: ApiRequest) -> dict:
    """GET: every volume, summarised."""
    return {"volumes": [views.volume_summary(req, v) for v in db.volume_get_all()]}


def detail(req: ApiRequest) -> dict:
    """GET /detail: every volume in full."""
    return {"volumes": [views.volume_detail(req, v) for v in db.volume_get_all()]}


def show(req: ApiRequest) -> dict:
    """GET /{id}: one volume, ``os-vol-host-attr:host`` included; 404 if unknown."""
    return {"volume": views.volume_detail(req, db.volume_get(req.http.path_params["id"]))}
