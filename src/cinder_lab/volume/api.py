"""Volume requests as the API service handles them; mirrors cinder/volume/api.py.

The API never picks a backend: it stores the volume ``creating`` and casts to
the scheduler, which writes ``host@backend#pool`` and casts on to the backend.
"""

from __future__ import annotations

from cinder_lab import context, exception
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
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
        request_spec = {"volume_type": volume_type, "size": volume.size}
        try:
            self.scheduler_rpcapi.create_volume(ctxt, volume.id, request_spec)
        except Exception as e:
            # The row must not stay 'creating' when the cast never left.
            db.volume_update(volume.id, {"status": "error", "status_reason": f"cast failed: {e}"})
            raise
        return volume
