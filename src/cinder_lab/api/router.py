"""The URL map and the application; mirrors cinder/api/v3/router.py and cinder/api/__init__.py.

Every path is served with and without the project, as today's Cinder's
ProjectMapper does: ``/v3/{project_id}/volumes`` and ``/v3/volumes`` (the
project then comes from the token; microversion 3.67 only announces it).
Cinder accepts a project segment matching ``project_id_regex`` (hex and dashes
by default); the lab takes any, so ``/v3/admin/volumes`` works. An unknown
path or method gets webob's 404, as Cinder's routes mapper answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cinder_lab import rpc
from cinder_lab.api import errors, versions
from cinder_lab.api.contrib import admin_actions
from cinder_lab.api.v3 import backups, scheduler_stats, services, volumes
from cinder_lab.api.wsgi import resource
from cinder_lab.common.config import CONF


def v3_routes(prefix: str) -> list[Route]:
    """The v3 resources under ``prefix`` (``/v3`` or ``/v3/{project_id}``)."""
    P = prefix  # noqa: N806 - reads like the paths in Cinder's api-ref
    return [
        Route(f"{P}/volumes", resource(volumes.index), methods=["GET"]),
        Route(f"{P}/volumes", resource(volumes.create, 202), methods=["POST"]),
        Route(f"{P}/volumes/detail", resource(volumes.detail), methods=["GET"]),
        Route(f"{P}/volumes/{{id}}", resource(volumes.show), methods=["GET"]),
        Route(
            f"{P}/volumes/{{id}}/action",
            resource(admin_actions.volume_action, 202),
            methods=["POST"],
        ),
        Route(f"{P}/backups", resource(backups.index), methods=["GET"]),
        Route(f"{P}/backups", resource(backups.create, 202), methods=["POST"]),
        Route(f"{P}/backups/detail", resource(backups.detail), methods=["GET"]),
        Route(f"{P}/backups/{{id}}", resource(backups.show), methods=["GET"]),
        Route(
            f"{P}/backups/{{id}}/action",
            resource(admin_actions.backup_action, 202),
            methods=["POST"],
        ),
        Route(f"{P}/os-services", resource(services.index), methods=["GET"]),
        Route(f"{P}/os-services/{{action}}", resource(services.update), methods=["PUT"]),
        Route(
            f"{P}/scheduler-stats/get_pools", resource(scheduler_stats.get_pools), methods=["GET"]
        ),
    ]


ROUTES = [
    Route("/", versions.all_versions, methods=["GET"]),
    Route("/v3", versions.v3_index, methods=["GET"]),
    Route("/v3/", versions.v3_index, methods=["GET"]),
    # Without the project first: /v3/volumes/detail is never project "volumes".
    *v3_routes("/v3"),
    *v3_routes("/v3/{project_id}"),
]


async def not_found(request: Request, exc: HTTPException) -> Response:
    """No route (or no such method on it): webob's 404, as Cinder's mapper gives."""
    return errors.webob_response(404, "The resource could not be found.")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The API process is an RPC client: its transport is made once it runs (after any fork)."""
    owned = not rpc.initialized()
    if owned:
        rpc.init(CONF)
    try:
        yield
    finally:
        if owned:
            rpc.cleanup()


def create_app() -> Starlette:
    """The ASGI application cinder-lab-api serves."""
    return Starlette(
        routes=ROUTES,
        exception_handlers={404: not_found, 405: not_found},
        lifespan=lifespan,
    )
