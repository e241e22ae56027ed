"""``/v3/{project_id}/scheduler-stats/get_pools``; mirrors cinder/api/contrib/scheduler_stats.py.

A real RPC ``call`` from this process to any cinder-scheduler (its reply comes
back on this process's ``reply_<hex>`` queue).
"""

from __future__ import annotations

from oslo_utils import strutils

from cinder_lab.api import errors
from cinder_lab.api.wsgi import ApiRequest
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi


def get_pools(req: ApiRequest) -> dict:
    """GET, ``?detail=true`` for each pool's capabilities."""
    try:
        detail = strutils.bool_from_string(req.params.get("detail", False), strict=True)
    except ValueError as e:
        raise errors.Fault(400, f"Invalid input received: {e}") from None
    pools = scheduler_rpcapi.SchedulerAPI().get_pools(req.context)
    if detail:
        return {"pools": [{"name": p["name"], "capabilities": p["capabilities"]} for p in pools]}
    return {"pools": [{"name": p["name"]} for p in pools]}
