"""What every v3 request goes through; mirrors Cinder's paste pipeline for noauth.

In Cinder's order (etc/cinder/api-paste.ini): request_id, faultwrap,
sizelimit (oslo.middleware, ``max_request_body_size``), noauth, then
``wsgi.Resource``: the microversion header, the JSON body, the project in the
path against the token's, the controller, and its errors turned into faults.
Controllers are plain functions run in a worker thread: the database and
oslo.messaging calls below them block.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from oslo_messaging import MessagingException
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cinder_lab import context, exception, utils
from cinder_lab.api import errors, microversions, opts

LOG = logging.getLogger(__name__)


def one_line(e: BaseException) -> str:
    """The first line of an error, password masked: what the log gets instead of a traceback."""
    lines = str(e).strip().splitlines()
    return utils.mask_url(lines[0] if lines else type(e).__name__)


@dataclass
class ApiRequest:
    """What a controller sees: the caller, the version, the body and the URL parts."""

    http: Request
    context: context.RequestContext
    version: microversions.APIVersion
    body: object = None
    params: dict = field(default_factory=dict)

    def link(self, collection: str, item_id: str) -> list[dict]:
        """Cinder's ``self`` and ``bookmark`` links of one resource."""
        base = str(self.http.base_url).rstrip("/")
        project = self.context.project_id
        return [
            {"href": f"{base}/v3/{project}/{collection}/{item_id}", "rel": "self"},
            {"href": f"{base}/{project}/{collection}/{item_id}", "rel": "bookmark"},
        ]


class TooLarge(Exception):
    """The body passed ``[api] max_request_body_size``."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or TooLarge as soon as it passes ``limit`` (chunked bodies too)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"Request is too large. Larger than {limit}.")
        chunks.append(chunk)
    return b"".join(chunks)


def noauth(request: Request, request_id: str) -> context.RequestContext | Response:
    """Cinder's NoAuthMiddleware: the token ``user:project`` is the caller, an admin.

    Without a token it answers 204 with one made from X-Auth-User and
    X-Auth-Project-Id (both default ``admin``), the old Auth 1.1 handshake.
    """
    token = request.headers.get("X-Auth-Token")
    if token is None:
        user = request.headers.get("X-Auth-User", "admin")
        project = request.headers.get("X-Auth-Project-Id", "admin")
        url = str(request.url).rstrip("/")
        headers = {"X-Auth-Token": f"{user}:{project}", "X-Server-Management-Url": url}
        return Response(status_code=204, headers=headers, media_type="text/plain")
    user, _sep, project = token.partition(":")
    return context.RequestContext(
        user_id=user,
        project_id=project or user,
        is_admin=True,
        roles=["admin"],
        request_id=request_id,
        remote_address=request.client.host if request.client else None,
    )


def decode(raw: bytes) -> object:
    """The JSON body, or the 400 Cinder's deserializer gives."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.Fault(400, "Malformed request body") from None


Controller = Callable[[ApiRequest], object]


def run_controller(controller: Controller, req: ApiRequest) -> object:
    """Call the controller; turn the lab's errors into Cinder's faults (never a traceback)."""
    try:
        return controller(req)
    except errors.Fault:
        raise
    except exception.CinderLabException as e:
        fault = errors.from_exception(e)
        if fault is None:
            LOG.error("%s %s: %s: %s", req.http.method, req.http.url.path, type(e).__name__, e)
            raise errors.Fault(500) from None
        raise fault from None
    except (MessagingException, SQLAlchemyError, OSError) as e:
        # Cinder's FaultWrapper: a 500 that hides the detail, which goes to the log.
        LOG.error(
            "%s %s: %s: %s", req.http.method, req.http.url.path, type(e).__name__, one_line(e)
        )
        raise errors.Fault(500) from None


def resource(controller: Controller, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint for one controller method; mirrors wsgi.Resource."""

    async def endpoint(request: Request) -> Response:
        request_id = f"req-{uuid.uuid4()}"
        headers = {"x-compute-request-id": request_id, "x-openstack-request-id": request_id}
        limit = opts.CONF.api.max_request_body_size
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            message = f"Request is too large. Larger than max_request_body_size ({limit})."
            return errors.webob_response(413, message, headers)
        ctxt = noauth(request, request_id)
        if isinstance(ctxt, Response):
            ctxt.headers.update(headers)
            return ctxt
        try:
            version = microversions.from_header(request.headers.get(microversions.HEADER))
        except microversions.UnsupportedVersion as e:
            return errors.fault_response(406, str(e), headers)
        except microversions.InvalidVersionString as e:
            return errors.fault_response(400, str(e), headers)
        except microversions.NoVolumeVersion:
            return errors.fault_response(400, None, headers)
        headers[microversions.HEADER] = f"{microversions.SERVICE} {version}"
        headers["Vary"] = microversions.HEADER
        try:
            raw = await read_body(request, limit)
        except TooLarge as e:
            return errors.webob_response(413, str(e), headers)
        try:
            body = decode(raw)
            if request.path_params.get("project_id", ctxt.project_id) != ctxt.project_id:
                raise errors.Fault(400, "Malformed request url")
            req = ApiRequest(request, ctxt, version, body, dict(request.query_params))
            result = await run_in_threadpool(run_controller, controller, req)
        except errors.Fault as e:
            return errors.fault_response(e.code, e.message, headers)
        if result is None:  # an action's 202 carries no body, as Cinder's does
            return Response(status_code=status, headers=headers)
        return JSONResponse(result, status_code=status, headers=headers)

    return endpoint
