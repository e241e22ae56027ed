"""``POST /v3/{project_id}/{volumes,backups}/{id}/action``: ``os-reset_status``.

Mirrors cinder/api/contrib/admin_actions.py and its schemas (Cinder master,
the cycle of 29.0.0): the body names one action; ``os-reset_status`` writes a
status and answers 202 with no body. It is the operator's way out of a record
left in a transient status, e.g. ``creating`` after the API died between
writing the row and casting. Kilo's controller took the same bodies, checked
against a shorter list of statuses; the lab checks today's list in both.
"""

from __future__ import annotations

from cinder_lab import context
from cinder_lab.api import errors
from cinder_lab.api.v3.volumes import invalid_field, json_repr
from cinder_lab.api.wsgi import ApiRequest
from cinder_lab.backup import api as backup
from cinder_lab.objects import fields
from cinder_lab.volume import api as volume

VOLUME_FIELDS = {
    "status": ("volume_status", fields.VolumeStatus.ALL),
    "attach_status": ("volume_attach_status", ("attached", "detached")),
    "migration_status": ("volume_migration_status", fields.VolumeMigrationStatus.ALL),
}
BACKUP_FIELDS = {"status": ("backup_status", ("available", "error"))}


def action_of(body: object) -> tuple[str, object]:
    """The one action a body names; Cinder's ``action_peek`` and its 400s."""
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.Fault(400, "Malformed request body")
    name, args = next(iter(body.items()))
    if name != "os-reset_status":
        raise errors.Fault(
            400,
            f"There is no such action: {name}. "
            "Verify the request body and Content-Type header and try again.",
        )
    return name, args


def checked(args: object, allowed: dict, required: bool) -> dict:
    """The reset body's fields, lower-cased, each of its enum; else Cinder's schema 400."""
    if not isinstance(args, dict):
        raise invalid_field("os-reset_status", args, f"{json_repr(args)} is not of type 'object'")
    extra = sorted(set(args) - set(allowed))
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        raise errors.Fault(
            400, f"Additional properties are not allowed ({listed} {verb} unexpected)"
        )
    if required and "status" not in args:
        raise errors.Fault(400, "'status' is a required property")
    update = {}
    for key, (fmt, valid) in allowed.items():
        value = args.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, str):
            types = "'string'" if required else "'string', 'null'"
            raise invalid_field(key, value, f"{json_repr(value)} is not of type {types}")
        # Optional fields may be empty (Cinder's format checks skip them); status may not.
        if (value or required) and value.lower() not in valid:
            raise invalid_field(key, value, f"{json_repr(value)} is not a {fmt!r}")
        if value:
            update[key] = value.lower()
    return update


def reset_volume(ctxt: context.RequestContext, volume_id: str, args: object) -> None:
    """Check an ``os-reset_status`` body for a volume and apply it (the HTTP and the
    in-process client share this)."""
    update = checked(args, VOLUME_FIELDS, required=False)
    if not update:
        raise errors.Fault(
            400, "Must specify 'status', 'attach_status' or 'migration_status' for update."
        )
    # The lab's volumes have no attachments or migrations: those two are checked, not kept.
    volume.API().reset_status(ctxt, volume_id, update.get("status"))


def reset_backup(ctxt: context.RequestContext, backup_id: str, args: object) -> None:
    """Check an ``os-reset_status`` body for a backup and apply it."""
    update = checked(args, BACKUP_FIELDS, required=True)
    backup.API().reset_status(ctxt, backup_id, update["status"])


def volume_action(req: ApiRequest) -> None:
    """os-reset_status on a volume: ``status``, ``attach_status``, ``migration_status``."""
    _name, args = action_of(req.body)
    reset_volume(req.context, req.http.path_params["id"], args)


def backup_action(req: ApiRequest) -> None:
    """os-reset_status on a backup: ``status`` ``available`` or ``error``."""
    _name, args = action_of(req.body)
    reset_backup(req.context, req.http.path_params["id"], args)
