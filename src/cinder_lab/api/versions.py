"""The versions document at ``/`` (300) and ``/v3/`` (200); mirrors cinder/api/versions.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from cinder_lab.api import microversions as mv


def document(request: Request) -> dict:
    """The one version the lab serves, v3.0, from MIN_VERSION to MAX_VERSION."""
    base = str(request.base_url).rstrip("/")
    return {
        "versions": [
            {
                "id": "v3.0",
                "status": "CURRENT",
                "version": mv.MAX_VERSION,
                "min_version": mv.MIN_VERSION,
                "updated": mv.UPDATED,
                "links": [
                    {
                        "rel": "describedby",
                        "type": "text/html",
                        "href": "https://docs.openstack.org/",
                    },
                    {"rel": "self", "href": f"{base}/v3/"},
                ],
                "media-types": [
                    {
                        "base": "application/json",
                        "type": "application/vnd.openstack.volume+json;version=3",
                    }
                ],
            }
        ]
    }


async def all_versions(request: Request) -> JSONResponse:
    """GET /: 300 Multiple Choices, as Cinder's unversioned endpoint answers."""
    return JSONResponse(document(request), status_code=300)


async def v3_index(request: Request) -> JSONResponse:
    """GET /v3/: the same document with 200."""
    return JSONResponse(document(request))
