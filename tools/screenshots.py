"""Regenerate the web view's pictures in docs/img: ``make screenshots``.

Each picture is one ``Shot``: a page state (a function that brings a fresh
single-process lab and its page there), a window size, a file name. Every shot
gets its own lab (config, SQLite file, in-process broker) and its own server,
so shots do not depend on each other; add one by appending to ``SHOTS``. The
pictures of the RabbitMQ page come from its browser tests
(``CINDER_LAB_SCREENSHOTS=1 pytest tests/web/test_live_view_broker.py``), which
``make screenshots`` runs after this.

    .venv/bin/python tools/screenshots.py              # every shot
    .venv/bin/python tools/screenshots.py web-story    # the shots whose file starts so
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers: the in-thread server, the page loader

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from tests.web.conftest import ARGS, CHROMIUM, IMG, Page, serve  # noqa: E402
from tests.web.test_command_box import ID, type_command  # noqa: E402
from tests.web.test_live_view import load  # noqa: E402

from cinder_lab import context, memory_tap, rpc  # noqa: E402
from cinder_lab.backup import rpcapi as backup_rpcapi  # noqa: E402
from cinder_lab.common import config  # noqa: E402
from cinder_lab.common.config import CONF  # noqa: E402
from cinder_lab.db import api as db  # noqa: E402
from cinder_lab.web.commands import OwnLab  # noqa: E402


@dataclass
class Shot:
    """One picture: ``state(page, own)`` brings the page there; then a full-page capture."""

    file: str
    state: Callable[[object, OwnLab], None]
    width: int = 1280
    height: int = 900
    release: str = "kilo"  # [DEFAULT] lab_release of the shot's lab


# -- page states -----------------------------------------------------------------------


def live(page: object, own: OwnLab) -> None:
    """The note's machine, every service up."""


def dead_end(page: object, own: OwnLab) -> None:
    """cinder-backup stopped, a backup cast waiting in its queue: a dead end in red."""
    own.lab.stop(own.lab.find("cinder-backup", "maqi-kilo"))
    ctxt = context.get_admin_context()
    backup_rpcapi.BackupAPI().create_backup(ctxt, SimpleNamespace(host="maqi-kilo", id="b"))
    expect(page.locator("#dead-ends")).to_contain_text("cinder-backup.maqi-kilo")


def backup_travelled(page: object, own: OwnLab) -> None:
    """A volume and its backup typed in the command box; the backup's cast opened."""
    volume = ID.search(type_command(page, "create 1")).group(1)
    type_command(page, f"backup-create {volume}")
    entry = page.locator('#log li[data-method="create_backup"]').first
    entry.click()
    expect(page.locator("#envelope")).to_contain_text('"method": "create_backup"')


def note_typed(page: object, own: OwnLab) -> None:
    """The note's story typed in the command box: the change of host and the refusal."""
    type_command(page, "config ceph host new_host_name")
    old = page.locator('#services tr[data-service="cinder-volume maqi-kilo@ceph"]')
    expect(old).to_have_attribute("data-state", "down", timeout=30_000)
    volume = ID.search(type_command(page, "create 1")).group(1)
    type_command(page, f"backup-create {volume}")


def story_step_two(page: object, own: OwnLab) -> None:
    """Story mode, the note's story stopped after its second step."""
    page.select_option("#story-select", "backup-host-mismatch")
    page.click("#story-start")
    steps = page.locator("#story-steps")
    expect(steps).to_have_attribute("data-status", "waiting", timeout=30_000)
    page.click("#story-next")
    expect(steps.locator(".story-step")).to_have_count(2, timeout=30_000)
    expect(steps).to_have_attribute("data-status", "waiting", timeout=30_000)


SHOTS = [
    Shot("web-live.png", live),
    Shot("web-1280.png", dead_end, 1280, 800),
    Shot("web-1920.png", dead_end, 1920, 1080),
    Shot("web-message.png", backup_travelled, release="current"),
    Shot("web-commands-1280.png", note_typed, 1280, 1000),
    Shot("web-commands-1920.png", note_typed, 1920, 1080),
    Shot("web-story.png", story_step_two),
]


# -- running them ------------------------------------------------------------------------


def lab_config(tmp: Path, release: str) -> Path:
    path = tmp / "cinder-lab.conf"
    config.write_config(
        path,
        {
            "host": "maqi-kilo",
            "transport_url": "kombu+memory:////",
            "enabled_backends": "ceph",
            "report_interval": 1,
            "service_down_time": 3,
            "rpc_response_timeout": 5,
            "lab_release": release,
        },
        {
            "database": {"connection": f"sqlite:///{tmp}/lab.sqlite"},
            "ceph": {"volume_backend_name": "ceph"},
        },
    )
    return path


def take(browser: object, shot: Shot) -> Path:
    """One shot on a lab of its own; the picture's path."""
    with tempfile.TemporaryDirectory(prefix="cinder-lab-shot-") as tmp:
        conf = lab_config(Path(tmp), shot.release)
        config.parse_args(["--config-file", str(conf)])
        rpc.reset_version_caps()
        memory_tap.install()
        memory_tap.reset()
        own = OwnLab([str(conf)])
        own.start()
        served, stop = serve(own)
        context_ = browser.new_context(viewport={"width": shot.width, "height": shot.height})
        try:
            page = Page(context_.new_page())
            page.page.on("pageerror", lambda e: page.errors.append(str(e)))
            load(page, served.url)
            shot.state(page.page, own)
            IMG.mkdir(parents=True, exist_ok=True)
            page.page.screenshot(path=str(IMG / shot.file), full_page=True)
            if page.errors:
                raise SystemExit(f"{shot.file}: the page failed: {page.errors[0]}")
        finally:
            context_.close()
            stop()
            own.stop()
            rpc.cleanup()
            db.dispose_engine()
    return IMG / shot.file


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)  # the in-process broker's warnings, as web's
    chosen = [s for s in SHOTS if not argv or any(s.file.startswith(a) for a in argv)]
    if not chosen:
        print(f"no shot matches {argv}; known: {', '.join(s.file for s in SHOTS)}", file=sys.stderr)
        return 1
    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for shot in chosen:
                print(f"{take(browser, shot).relative_to(ROOT)}  ({shot.width}x{shot.height})")
        finally:
            browser.close()
    CONF.reset()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
