"""How rows become JSON; mirrors cinder/api/v3/views/ and cinder/api/views/."""

from __future__ import annotations

import datetime

from cinder_lab.api import microversions as mv
from cinder_lab.api.wsgi import ApiRequest
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.exception import VolumeNotFound


def timestamp(value: datetime.datetime | None) -> str | None:
    """Datetimes as Cinder's JSON serializer writes them (oslo's strtime)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def volume_summary(req: ApiRequest, v: models.Volume) -> dict:
    """One entry of ``GET /volumes``."""
    return {"id": v.id, "name": v.name, "links": req.link("volumes", v.id)}


def volume_detail(req: ApiRequest, v: models.Volume) -> dict:
    """``GET /volumes/{id}`` with the admin extensions cinder-api loads by default."""
    view = {
        "id": v.id,
        "status": v.status,
        "size": v.size,
        "availability_zone": v.availability_zone,
        "created_at": timestamp(v.created_at),
        "updated_at": timestamp(v.updated_at),
        "name": v.name,
        "description": None,
        "volume_type": v.volume_type,
        "snapshot_id": None,
        "source_volid": None,
        "metadata": {},
        "links": req.link("volumes", v.id),
        "user_id": None,  # the lab's volumes table keeps no owner
        "bootable": "false",
        "encrypted": False,
        "replication_status": None,
        "consistencygroup_id": None,
        "multiattach": False,
        "attachments": [],
        "migration_status": None,
        # contrib/volume_host_attribute.py: the answer to "where does my volume live?"
        "os-vol-host-attr:host": v.host,
        "os-vol-tenant-attr:tenant_id": None,
        "os-vol-mig-status-attr:migstat": None,
        "os-vol-mig-status-attr:name_id": None,
    }
    if req.version.matches(mv.GROUP_VOLUME):
        view["group_id"] = None
    if req.version.matches(mv.VOLUME_DETAIL_PROVIDER_ID):
        view["provider_id"] = None
    return view


def backup_summary(req: ApiRequest, b: models.Backup) -> dict:
    """One entry of ``GET /backups``, and the body of a create."""
    return {"id": b.id, "name": None, "links": req.link("backups", b.id)}


def backup_detail(req: ApiRequest, b: models.Backup) -> dict:
    """``GET /backups/{id}``; the size is the volume's, as Cinder stores it."""
    try:
        size = db.volume_get(b.volume_id).size
    except VolumeNotFound:
        size = None
    return {
        "id": b.id,
        "status": b.status,
        "size": size,
        "object_count": None,
        "availability_zone": b.availability_zone,
        "container": None,
        "created_at": timestamp(b.created_at),
        "updated_at": timestamp(b.updated_at),
        "name": None,
        "description": None,
        "fail_reason": b.fail_reason,
        "volume_id": b.volume_id,
        "links": req.link("backups", b.id),
        "is_incremental": False,
        "has_dependent_backups": False,
        "snapshot_id": None,
        "data_timestamp": timestamp(b.created_at),
    }
