"""What every v3 request goes through; mirrors Cinder's paste pipeline for noauth.

In Cinder's order (etc/cinder/api-paste.ini): request_id, faultwrap,
sizelimit (oslo.middleware, ``max_request_body_size``), noauth, then
``wsgi.Resource``: the microversion header, the JSON body, the project in the
path against the token's, the controller, and its errors turned into faults.
Controllers are plain functions run in a worker thread: the database and
oslo.messaging calls below them block.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from cinder_lab import context, exception, utils
from cinder_lab.api import errors, microversions, opts, validation

LOG = logging.getLogger(__name__)


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


Controller = Callable[[ApiRequest], object]


def run_controller(controller: Controller, req: ApiRequest) -> object:
    """Call the controller; turn the lab's Invalid and NotFound errors into Cinder's faults.

    Any other error goes up to ``resource``'s FaultWrapper: a 500 and one log line.
    """
    try:
        return controller(req)
    except exception.CinderLabException as e:
        fault = errors.from_exception(e)
        if fault is None:
            raise
        raise fault from None


def resource(controller: Controller, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint for one controller method; mirrors wsgi.Resource under FaultWrapper."""

    async def endpoint(request: Request) -> Response:
        request_id = f"req-{uuid.uuid4()}"
        headers = {"x-compute-request-id": request_id, "x-openstack-request-id": request_id}
        try:
            return await handle(request, controller, status, request_id, headers)
        except errors.Fault as e:
            return errors.fault_response(e.code, e.message, headers)
        except ClientDisconnect:
            # The client went away mid-body (or sent a malformed chunk): nobody to answer.
            LOG.info("%s %s: client disconnected before its body was read", *where(request))
            return Response(status_code=400, headers=headers)
        except Exception as e:
            # Cinder's FaultWrapper: any other error is its JSON 500, one line in the log.
            LOG.error("%s %s: %s: %s", *where(request), type(e).__name__, utils.one_line(e))
            return errors.fault_response(500, None, headers)

    return endpoint


def where(request: Request) -> tuple[str, str]:
    """Method and path of a request, printable, for a log line."""
    return request.method, utils.one_line(request.url.path)


async def handle(
    request: Request, controller: Controller, status: int, request_id: str, headers: dict
) -> Response:
    """Cinder's pipeline after FaultWrapper: size limit, noauth, version, body, controller."""
    validation.headers(request.headers)
    limit = opts.CONF.api.max_request_body_size
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        message = f"Request is too large. Larger than max_request_body_size ({limit})."
        return errors.webob_response(413, message, headers)
    ctxt = noauth(request, request_id)
    if isinstance(ctxt, Response):
        ctxt.headers.update(headers)
        return ctxt
    version = api_version(request.headers.get(microversions.HEADER))
    headers[microversions.HEADER] = f"{microversions.SERVICE} {version}"
    headers["Vary"] = microversions.HEADER
    try:
        raw = await read_body(request, limit)
    except TooLarge as e:
        return errors.webob_response(413, str(e), headers)
    validation.url_parts(request.path_params, request.query_params)
    action = request.url.path.endswith("/action")
    body = validation.body(raw, request.headers.get("content-type"), action)
    if request.path_params.get("project_id", ctxt.project_id) != ctxt.project_id:
        raise errors.Fault(400, validation.MALFORMED_URL)
    req = ApiRequest(request, ctxt, version, body, dict(request.query_params))
    result = await run_in_threadpool(run_controller, controller, req)
    if result is None:  # an action's 202 carries no body, as Cinder's does
        return Response(status_code=status, headers=headers)
    return JSONResponse(result, status_code=status, headers=headers)


def api_version(header: str | None) -> microversions.APIVersion:
    """The request's microversion, or the Fault Cinder's Resource answers."""
    try:
        return microversions.from_header(header)
    except microversions.UnsupportedVersion as e:
        raise errors.Fault(406, str(e)) from None
    except microversions.InvalidVersionString as e:
        raise errors.Fault(400, str(e)) from None
    except microversions.NoVolumeVersion:
        raise errors.Fault(400) from None
