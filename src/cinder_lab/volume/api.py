"""Volume requests as the API service handles them; mirrors cinder/volume/api.py.

The API never picks a backend: it stores the volume ``creating`` and casts to
the scheduler, which writes ``host@backend#pool`` and casts on to the backend.
"""

from __future__ import annotations

from cinder_lab import context, exception
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.objects.request_spec import RequestSpec, VolumeProperties
from cinder_lab.objects.volume import Volume
from cinder_lab.objects.volume_type import VolumeType
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi


def parse_size(size: object) -> int:
    """A volume size in GB: a positive integer, or InvalidInput."""
    try:
        value = int(str(size), 10)
    except ValueError:
        value = 0
    # The volumes.size column is a 32-bit integer.
    if not 0 < value < 2**31 or str(size).strip() != str(value):
        raise exception.InvalidInput(reason=f"size must be a positive integer (GB), got {size!r}")
    return value


def request_spec(volume: models.Volume, ctxt: context.RequestContext) -> object:
    """What the scheduler is asked to place: Kilo's dict, or today's RequestSpec object.

    Mirrors the create flow's VolumeCastTask (2015.1.4: ``kwargs.copy()``;
    master: ``objects.RequestSpec(**kwargs)``) with the keys each release
    gives it. The lab has no quotas, no type ids and no encryption: those values are None.
    """
    properties = {
        "size": volume.size,
        "user_id": ctxt.user_id,
        "project_id": ctxt.project_id,
        "status": "creating",
        "attach_status": "detached",
        "encryption_key_id": None,
        "display_description": None,
        "display_name": volume.name,
        "multiattach": False,
        "availability_zone": volume.availability_zone,
        "metadata": {},
        "reservations": None,
        "snapshot_id": None,
        "source_volid": None,
        "volume_type_id": None,
        "consistencygroup_id": None,
        "cgsnapshot_id": None,
    }
    spec = {
        "volume_id": volume.id,
        "snapshot_id": None,
        "image_id": None,
        "source_volid": None,
        "consistencygroup_id": None,
        "cgsnapshot_id": None,
    }
    if config.is_kilo():
        extra = {"volume_backend_name": volume.volume_type} if volume.volume_type else None
        vtype = extra and {"name": volume.volume_type, "extra_specs": extra}
        properties.update(replication_status="disabled", source_replicaid=None)
        return {**spec, "source_replicaid": None, "volume_type": vtype,
                "volume_properties": properties}  # fmt: skip
    properties.update(qos_specs=None, group_id=None)
    vtype = volume.volume_type and VolumeType.for_backend(volume.volume_type, ctxt)
    return RequestSpec(
        **spec,
        group_id=None,
        backup_id=None,
        volume=Volume.from_row(volume, ctxt),
        volume_type=vtype or None,
        volume_properties=VolumeProperties(**properties),
        availability_zones=[volume.availability_zone],
    )


class API:
    """Volume requests: create (the list and show commands read the database)."""

    def __init__(self) -> None:
        self.scheduler_rpcapi = scheduler_rpcapi.SchedulerAPI()

    def create(
        self,
        ctxt: context.RequestContext,
        size: object,
        name: str | None = None,
        volume_type: str | None = None,
    ) -> models.Volume:
        """Store the volume ``creating`` and cast ``create_volume`` to the scheduler."""
        volume_type = volume_type or CONF.default_volume_type
        volume = db.volume_create(
            {
                "name": name,
                "size": parse_size(size),
                "status": "creating",
                "availability_zone": CONF.storage_availability_zone,
                "volume_type": volume_type,
            }
        )
        try:
            self.scheduler_rpcapi.create_volume(
                ctxt, Volume.from_row(volume, ctxt), request_spec(volume, ctxt), {}
            )
        except Exception as e:
            # The row must not stay 'creating' when the cast never left.
            db.volume_update(volume.id, {"status": "error", "status_reason": f"cast failed: {e}"})
            raise
        return volume
