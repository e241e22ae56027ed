"""``/v3/{project_id}/backups``; mirrors cinder/api/contrib/backups.py (create, list, show).

The note's error: Kilo's API refuses a backup with ``ServiceNotFound`` when no
cinder-backup is up on the volume's host, and Kilo's controller mapped it to
HTTP 500 (``HTTPInternalServerError``, body ``computeFault``). Today's
controller maps it to 503, but today's API checks no backup service at all: the
scheduler does, and the backup ends ``error`` ("Service not found for creating
backup.") after the 202.
"""

from __future__ import annotations

from cinder_lab import exception
from cinder_lab.api import errors
from cinder_lab.api.v3 import views
from cinder_lab.api.v3.volumes import entity
from cinder_lab.api.wsgi import ApiRequest
from cinder_lab.backup import api as backup
from cinder_lab.common import config
from cinder_lab.db import api as db


def create(req: ApiRequest) -> dict:
    """POST: check and cast as the configured release does; 202 with the summary."""
    fields = entity(req.body, "backup")
    if "volume_id" not in fields:
        raise errors.Fault(400, "'volume_id' is a required property")
    volume_id = fields["volume_id"]
    if not isinstance(volume_id, str):
        raise errors.Fault(
            400,
            f"Invalid input for field/attribute volume_id. Value: {volume_id}. "
            f"{volume_id!r} is not of type 'string'",
        )
    force = fields.get("force", False)
    if not isinstance(force, bool):
        raise errors.Fault(
            400,
            f"Invalid input for field/attribute force. Value: {force}. "
            f"{force!r} is not of type 'boolean'",
        )
    try:
        row = backup.API().create(req.context, volume_id, force=force)
    except exception.ServiceNotFound as e:
        raise errors.Fault(500 if config.is_kilo() else 503, str(e)) from None
    return {"backup": views.backup_summary(req, row)}


def index(req: ApiRequest) -> dict:
    """GET: every backup, summarised."""
    return {"backups": [views.backup_summary(req, b) for b in db.backup_get_all()]}


def detail(req: ApiRequest) -> dict:
    """GET /detail: every backup in full."""
    return {"backups": [views.backup_detail(req, b) for b in db.backup_get_all()]}


def show(req: ApiRequest) -> dict:
    """GET /{id}: one backup; 404 if unknown."""
    return {"backup": views.backup_detail(req, db.backup_get(req.http.path_params["id"]))}
