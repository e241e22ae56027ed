"""The web app: the page, its JSON API and its event stream.

Lab-only. Starlette routes: ``/`` the page, ``/static`` its scripts (Cytoscape.js
and dagre shipped in the package: nothing is fetched from the internet),
``/api/topology`` the graph, services and dead ends as JSON,
``/api/messages`` the last messages, ``/api/events`` server-sent events
(``topology``, ``message``, ``story``, ``status``) and ``/api/stories`` story
mode. Bad requests get a one-line JSON error and change nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cinder_lab import exception
from cinder_lab.cmd import common
from cinder_lab.web.hub import Hub
from cinder_lab.web.live import Watcher
from cinder_lab.web.story import StoryBusy, StoryRunner, UnknownStory

KEEPALIVE = 15.0  # seconds between SSE comments, so proxies keep the stream open
STATIC = resources.files("cinder_lab.web") / "static"


def _sse(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def make_app(hub: Hub, watcher: Watcher, stories: StoryRunner | None) -> Starlette:
    """The app over one watcher; ``stories`` None when story mode is off."""

    async def index(_request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-store"})

    async def topology(_request: Request) -> Response:
        current = watcher.current or await asyncio.to_thread(watcher.refresh)
        if current is None:
            return JSONResponse({"error": watcher.error or "no topology yet"}, status_code=503)
        return JSONResponse(current)

    async def messages(_request: Request) -> Response:
        return JSONResponse(list(hub.messages))

    async def events(request: Request) -> Response:
        queue, first = hub.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                for kind, data in first:
                    # Past messages are listed, not animated again.
                    yield _sse("history" if kind == "message" else kind, data)
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), KEEPALIVE)
                    except TimeoutError:
                        if not hub.subscribed(queue):
                            return
                        yield ": keepalive\n\n"
                        continue
                    if event is None:  # the server is stopping
                        return
                    yield _sse(*event)
            finally:
                hub.unsubscribe(queue)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    def _stories() -> StoryRunner:
        if stories is None:
            raise HTTPException(409, "story mode is off")
        return stories

    async def story_list(_request: Request) -> Response:
        runner = _stories()
        return JSONResponse({"stories": runner.catalogue(), "state": runner.snapshot()})

    async def story_start(request: Request) -> Response:
        name = request.path_params["name"]
        return JSONResponse(await asyncio.to_thread(_stories().start, name))

    async def story_next(_request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(_stories().next))

    async def story_stop(_request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(_stories().stop))

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def lab_error(_request: Request, exc: Exception) -> Response:
        code = 404 if isinstance(exc, UnknownStory) else 409 if isinstance(exc, StoryBusy) else 500
        return JSONResponse({"error": common.one_line(exc)}, status_code=code)

    routes = [
        Route("/", index),
        Route("/api/topology", topology),
        Route("/api/messages", messages),
        Route("/api/events", events),
        Route("/api/stories", story_list),
        Route("/api/stories/next", story_next, methods=["POST"]),
        Route("/api/stories/stop", story_stop, methods=["POST"]),
        Route("/api/stories/{name}/start", story_start, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    handlers = {HTTPException: http_error, exception.CinderLabException: lab_error}
    return Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]
