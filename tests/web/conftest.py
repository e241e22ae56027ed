"""A real browser (Debian's Chromium driven by Playwright) and the web view's server.

Playwright's own browser download does not work here; ``tools/test-browser.sh``
installs Debian's ``chromium`` and the tests point ``executable_path`` at it.
In-process tests serve the app from a thread of the test process, beside the
``lab`` fixture's services: the in-process broker lives in this process.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cinder_lab.cmd.web import listen
from cinder_lab.web.app import make_app
from cinder_lab.web.commands import CommandBox, OwnLab
from cinder_lab.web.hub import Hub
from cinder_lab.web.live import Watcher
from cinder_lab.web.story import StoryRunner
from tests.broker import SETUP, require
from tests.integration.conftest import rabbit_lab  # noqa: F401 - for the broker test
from tests.unit.conftest import lab  # noqa: F401 - the in-process services, as in tests/unit
from tests.web.screenshots import listed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium for the whole session (each test opens its own page)."""
    require(os.path.exists(CHROMIUM), f"Chromium is not installed ({SETUP})")
    from playwright.sync_api import expect, sync_playwright

    # A loaded machine (make test runs workers in parallel) may take seconds to draw a page.
    expect.set_options(timeout=15_000)

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Page:
    """A browser page that records every console error and uncaught exception."""

    page: object
    errors: list[str] = field(default_factory=list)


def open_page(browser: object, width: int = 1280, height: int = 900) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = Page(context.new_page())
    page.page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


@pytest.fixture
def page(browser: object) -> Iterator[Page]:
    p = open_page(browser)
    yield p
    p.page.context.close()  # type: ignore[attr-defined]


@dataclass
class Served:
    url: str
    hub: Hub
    watcher: Watcher
    stories: StoryRunner


def serve(own: OwnLab | None = None) -> tuple[Served, object]:
    """The app on a free port of 127.0.0.1, watching the in-process broker, in a thread.

    With ``own`` (the server's own lab) it is ``cinder-lab web`` in the single-process
    mode: a story stops those services and starts them again; the command box is on."""
    import uvicorn

    hub = Hub()
    watcher = Watcher(hub, None, interval=0.25).start()
    box = None
    if own is None:
        stories = StoryRunner(hub, None, lambda: None)
    else:
        stories = StoryRunner(hub, None, own.stop, own.restore)
        box = CommandBox(own, stories.running)
    sock = listen("127.0.0.1", 0)
    config = uvicorn.Config(
        make_app(hub, watcher, stories, box),
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=20)
        stories.close()
        watcher.close()
        sock.close()
        if own is not None:
            own.clear_overrides()
        assert not thread.is_alive(), "the web server did not stop"

    port = sock.getsockname()[1]
    return Served(f"http://127.0.0.1:{port}/", hub, watcher, stories), stop


@pytest.fixture
def live(lab: object, memory_conf: Path) -> Iterator[Served]:  # noqa: F811 - the fixture
    """The web view over the ``lab`` fixture's services, as the server's own (command box on)."""
    served, stop = serve(OwnLab([str(memory_conf)], lab))
    try:
        yield served
    finally:
        stop()


@pytest.fixture
def live_stories(memory_conf: Path) -> Iterator[Served]:
    """The web view with no services of its own: story mode starts them."""
    served, stop = serve()
    try:
        yield served
    finally:
        stop()


@pytest.fixture
def live_own(memory_conf: Path) -> Iterator[Served]:
    """``cinder-lab web`` in the single-process mode: its own services, stories, commands."""
    own = OwnLab([str(memory_conf)])
    own.start()
    served, stop = serve(own)
    try:
        yield served
    finally:
        stop()
        own.stop()


def screenshot(page: object, name: str, tmp_path: Path) -> Path:
    """A full-page picture: into docs/img/ for the README with CINDER_LAB_SCREENSHOTS=1
    (``make screenshots``; a test run leaves the tracked pictures alone), else into the
    test's tmp_path. ``name`` must be listed in ``tests/web/screenshots.py``."""
    size = page.viewport_size  # type: ignore[attr-defined]
    listed(name, (size["width"], size["height"]))  # make screenshots retakes each listed one
    where = IMG if os.environ.get("CINDER_LAB_SCREENSHOTS") else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(where / name), full_page=True)  # type: ignore[attr-defined]
    return where / name
