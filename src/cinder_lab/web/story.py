"""Story mode: the note's steps and every scenario, one step at a time, from the page.

Lab-only. A story is one of ``cinder_lab.scenarios`` run in a thread of the web
server, on a workbench (``scenarios.base.Stage``) whose ``step()`` waits for the
page's "next step" before it goes on; what the scenario says and checks is
published beside the animation. The services it starts are threads of this
process, so the watcher sees them as any others. When it ends the server's own
services come back (``after``), so the page is live again.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from cinder_lab import exception, memory_tap, rpc, utils
from cinder_lab.scenarios import SCENARIOS
from cinder_lab.scenarios.base import Stage
from cinder_lab.web.hub import Hub

NOTE = "backup-host-mismatch"  # the note's own story comes first in the list


class StoryStopped(Exception):
    """The page stopped the story between two steps."""


class UnknownStory(exception.CinderLabException):
    message = "no story %(name)r (known: %(known)s)"


class StoryBusy(exception.CinderLabException):
    message = "story %(name)r is running: stop it first"


class SteppedStage(Stage):
    """A scenario's workbench that pauses before each step after the first."""

    def __init__(self, runner: StoryRunner, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.runner = runner

    def step(self, title: str) -> None:
        self.runner.wait_for_next()
        self.runner.begin_step(title)


class StoryRunner:
    """At most one story at a time; its state is published as the ``story`` event."""

    def __init__(
        self,
        hub: Hub,
        transport_url: str | None,
        before: Callable[[], None],
        after: Callable[[], None] = lambda: None,
    ) -> None:
        self.hub = hub
        self.transport_url = transport_url  # None: the in-process broker
        self.before = before  # stops the server's own in-process services
        self.after = after  # and starts them again once the story ended
        self._lock = threading.Lock()
        self._go = threading.Event()
        self._abort = False
        self._thread: threading.Thread | None = None
        self._workdir: str | None = None
        self._closing = False  # the server is stopping: its own lab does not come back
        self.state: dict = {"name": None, "status": "idle", "steps": [], "failures": []}

    @staticmethod
    def catalogue() -> list[dict]:
        """Every story: name, one-line summary, and what it shows."""
        names = [NOTE] + [n for n in SCENARIOS if n != NOTE]
        return [
            {
                "name": n,
                "summary": SCENARIOS[n].summary,
                "about": (SCENARIOS[n].__doc__ or "").strip(),
                "note": n == NOTE,
            }
            for n in names
        ]

    def _publish(self) -> None:
        self.hub.publish("story", self.snapshot())

    def running(self) -> str | None:
        """The story's name while its thread runs (its services, or the server's coming back)."""
        thread = self._thread
        return self.state["name"] if thread is not None and thread.is_alive() else None

    def snapshot(self) -> dict:
        with self._lock:
            return {
                **self.state,
                "steps": [dict(s, lines=list(s["lines"])) for s in self.state["steps"]],
            }

    # -- called by the page ------------------------------------------------------------

    def start(self, name: str) -> dict:
        if name not in SCENARIOS:
            raise UnknownStory(name=name, known=", ".join(SCENARIOS))
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise StoryBusy(name=self.state["name"])
            self._abort = False
            self._go.clear()
            self.state = {"name": name, "status": "running", "steps": [], "failures": []}
            # Started under the lock (a second start must see it alive); it publishes
            # nothing before it can take the lock, so the page sees "running" first.
            self._thread = utils.spawn(self._run_published, f"story-{name}", name)
        return self.snapshot()

    def _run_published(self, name: str) -> None:
        self._publish()
        self._run(name)

    def next(self) -> dict:
        """Let the story go on to its next step."""
        with self._lock:
            waiting = self.state["status"] == "waiting"
            if waiting:
                self.state["status"] = "running"
        if waiting:
            self._go.set()
            self._publish()
        return self.snapshot()

    def stop(self) -> dict:
        """Stop the story at its next step boundary (its services are stopped)."""
        self._abort = True
        self._go.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
        return self.snapshot()

    def close(self) -> None:
        self._closing = True
        self.stop()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    # -- called by the story's thread ----------------------------------------------------

    def wait_for_next(self) -> None:
        with self._lock:
            first = not self.state["steps"]
            if not first:
                self.state["status"] = "waiting"
        if not first:
            self._publish()
            self._go.wait()
            self._go.clear()
        if self._abort:
            raise StoryStopped()

    def begin_step(self, title: str) -> None:
        with self._lock:
            self.state["steps"].append({"title": title, "lines": []})
        self._publish()

    def _say(self, text: str) -> None:
        with self._lock:
            steps = self.state["steps"]
            if not steps:
                steps.append({"title": "", "lines": []})
            steps[-1]["lines"].append(text.rstrip())
        self._publish()

    def _run(self, name: str) -> None:
        self.before()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        # Kept after the story ends: its database, until the next story (or the server's own
        # lab coming back) replaces it.
        self._workdir = tempfile.mkdtemp(prefix=f"cinder-lab-web-{name}-")
        memory_tap.install()
        stage = SteppedStage(self, name, Path(self._workdir), self.transport_url, self._say)
        if stage.in_memory:
            memory_tap.reset()
        status = "done"
        try:
            SCENARIOS[name]().run(stage)
        except StoryStopped:
            status = "stopped"
        except Exception as e:  # noqa: BLE001 - the page shows it; the server goes on
            self._say(f"!! {type(e).__name__}: {e}")
            status = "failed"
        finally:
            stage.close()
            rpc.cleanup()
        with self._lock:
            self.state["failures"] = stage.failures()
            self.state["status"] = "failed" if stage.failures() else status
        self._publish()
        if self._closing:
            return
        try:
            self.after()
        except Exception as e:  # noqa: BLE001 - the page says so; the server goes on
            self.hub.publish("status", {"error": f"the lab did not come back: {e}"})
