"""The web app: the page, its JSON API and its event stream.

Lab-only. Starlette routes: ``/`` the page, ``/static`` its scripts (Cytoscape.js
shipped in the package: nothing is fetched from the internet),
``/api/topology`` the graph, services and dead ends as JSON,
``/api/messages`` the last messages, ``/api/events`` server-sent events
(``topology``, ``message``, ``story``, ``status``), ``/api/stories`` story
mode and ``/api/commands`` the command box of the single-process mode. Bad
requests get a one-line JSON error and change nothing.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cinder_lab import exception, utils
from cinder_lab.web.commands import CommandBox, CommandError
from cinder_lab.web.hub import Hub
from cinder_lab.web.live import Watcher
from cinder_lab.web.story import StoryBusy, StoryRunner, UnknownStory

MAX_BODY = 4096  # bytes of a command's JSON body
KEEPALIVE = 15.0  # seconds between SSE comments, so proxies keep the stream open
STATIC = resources.files("cinder_lab.web") / "static"


def _sse(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


class Views:
    """The request handlers, over one watcher and (unless off) one story runner."""

    def __init__(
        self,
        hub: Hub,
        watcher: Watcher,
        stories: StoryRunner | None,
        commands: CommandBox | None = None,
    ) -> None:
        self.hub = hub
        self.watcher = watcher
        self.stories = stories
        self.commands = commands

    async def index(self, _request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-store"})

    async def topology(self, _request: Request) -> Response:
        current = self.watcher.current or await asyncio.to_thread(self.watcher.refresh)
        if current is None:
            error = self.watcher.error or "no topology yet"
            return JSONResponse({"error": error}, status_code=503)
        return JSONResponse(current)

    async def messages(self, _request: Request) -> Response:
        return JSONResponse(list(self.hub.messages))

    async def events(self, _request: Request) -> Response:
        """Server-sent events: what a new page needs first, then everything as it happens."""
        hub = self.hub
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

    @staticmethod
    def _same_site(request: Request) -> None:
        # Another site's page may POST here through the learner's browser; it says so.
        origin = request.headers.get("origin")
        if origin and urllib.parse.urlsplit(origin).netloc != request.headers.get("host"):
            raise HTTPException(403, f"cross-site request from {origin} refused")

    def _runner(self, request: Request | None = None) -> StoryRunner:
        if request is not None and request.method == "POST":
            self._same_site(request)
        if self.stories is None:
            raise HTTPException(409, "story mode is off (cinder-lab web --no-stories)")
        return self.stories

    async def story_list(self, _request: Request) -> Response:
        runner = self._runner()
        return JSONResponse({"stories": runner.catalogue(), "state": runner.snapshot()})

    async def story_start(self, request: Request) -> Response:
        name = request.path_params["name"]
        return JSONResponse(await asyncio.to_thread(self._runner(request).start, name))

    async def story_next(self, request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(self._runner(request).next))

    async def story_stop(self, request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(self._runner(request).stop))

    async def command_list(self, _request: Request) -> Response:
        return JSONResponse({"commands": CommandBox.known(), "on": self.commands is not None})

    async def command_run(self, request: Request) -> Response:
        """Run one typed line (JSON ``{"command": "create 1"}``) in this server's lab."""
        self._same_site(request)
        if self.commands is None:
            raise HTTPException(
                409,
                "the command box drives the single-process lab only (and not with --no-stories)",
            )
        # JSON only: a plain HTML form on another site cannot send it without asking first.
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(415, 'send JSON: {"command": "create 1"}')
        body = await request.body()
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"a command's body is at most {MAX_BODY} bytes")
        try:
            line = json.loads(body).get("command")
        except (ValueError, AttributeError):
            raise HTTPException(400, 'send JSON: {"command": "create 1"}') from None
        result = await asyncio.to_thread(self.commands.run, line)
        return JSONResponse(result)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


async def _lab_error(request: Request, exc: Exception) -> Response:
    code = 404 if isinstance(exc, UnknownStory) else 409 if isinstance(exc, StoryBusy) else 500
    if request.url.path.startswith("/api/commands"):
        # What a typed command got wrong (an unknown id, a bad size, no backup service):
        # the learner's input, answered as the client would, never a server error.
        code = 409 if isinstance(exc, CommandError) and "running" in str(exc) else 400
    return JSONResponse({"error": utils.one_line(exc)}, status_code=code)


def make_app(
    hub: Hub, watcher: Watcher, stories: StoryRunner | None, commands: CommandBox | None = None
) -> Starlette:
    """The app over one watcher; ``stories`` None when story mode is off, ``commands``
    None unless the server runs the single-process lab."""
    v = Views(hub, watcher, stories, commands)
    routes = [
        Route("/", v.index),
        Route("/api/topology", v.topology),
        Route("/api/messages", v.messages),
        Route("/api/events", v.events),
        Route("/api/stories", v.story_list),
        Route("/api/stories/next", v.story_next, methods=["POST"]),
        Route("/api/stories/stop", v.story_stop, methods=["POST"]),
        Route("/api/stories/{name}/start", v.story_start, methods=["POST"]),
        Route("/api/commands", v.command_list),
        Route("/api/commands/run", v.command_run, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    handlers = {HTTPException: _http_error, exception.CinderLabException: _lab_error}
    return Starlette(routes=routes, exception_handlers=handlers)
