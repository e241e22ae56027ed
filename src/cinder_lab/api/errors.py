"""Error responses; mirrors cinder/api/openstack/wsgi.py ``Fault`` and the webob answers.

Cinder answers an error from a controller as ``{"<faultName>": {"code": N,
"message": "..."}}``, the name chosen by the code (``computeFault`` when the
code has none, e.g. 406 and 500). Two layers below the controllers answer in
webob's own JSON instead (``{"message", "code": "404 Not Found", "title"}``):
the router for an unknown path and oslo.middleware's body size limit (413).
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse

from cinder_lab import exception

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}

# webob's explanation when a Fault is raised without one (e.g. FaultWrapper's 500).
DEFAULT_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
    "or otherwise incorrect.",
    404: "The resource could not be found.",
    500: "The server has either erred or is incapable of performing the requested operation.",
}


# webob's titles (Python's own phrases changed, e.g. 413 is "Content Too Large" in 3.13).
WEBOB_TITLES = {404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large"}


class Fault(Exception):
    """An HTTP error a controller raises (webob.exc.HTTP* wrapped in Cinder's Fault)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or DEFAULT_EXPLANATIONS.get(code, HTTPStatus(code).phrase)
        super().__init__(self.message)


def fault_body(code: int, message: str) -> dict:
    """Cinder's fault document for ``code``."""
    return {FAULT_NAMES.get(code, "computeFault"): {"code": code, "message": message}}


def fault_response(
    code: int, message: str | None = None, headers: dict | None = None
) -> JSONResponse:
    """A Fault as Cinder's wsgi layer renders it."""
    error = Fault(code, message)
    return JSONResponse(fault_body(code, error.message), status_code=code, headers=headers)


def webob_response(code: int, explanation: str, headers: dict | None = None) -> JSONResponse:
    """An error answered by webob itself (router 404, size limit 413), as webob 1.8 renders
    it for ``Accept: application/json``, its HTML line breaks included."""
    title = WEBOB_TITLES[code]
    body = {
        "message": f"{explanation}<br /><br />\n\n\n",
        "code": f"{code} {title}",
        "title": title,
    }
    return JSONResponse(body, status_code=code, headers=headers)


def from_exception(e: exception.CinderLabException) -> Fault | None:
    """The Fault Cinder's ResourceExceptionHandler makes of an Invalid or NotFound error."""
    if isinstance(e, exception.NotFound):
        return Fault(404, str(e))
    if isinstance(e, exception.Invalid):
        return Fault(400, str(e))
    return None
