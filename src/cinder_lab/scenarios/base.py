"""What every scenario stands on: a workbench that writes configs, runs the lab and checks.

Lab-only (nothing in Cinder matches): a scenario is a teacher's script. It
writes its own ``cinder.conf``-like files, runs the services as threads of this
process (on ``kombu+memory://`` unless a broker URL is given), prints what a
learner should notice and records a check for each outcome the note describes.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cinder_lab import clock, context, exception, memory_tap, rpc, utils
from cinder_lab.backup import api as backup_api
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import models
from cinder_lab.lab import Lab
from cinder_lab.scenarios import broker_view, vhost
from cinder_lab.volume import api as volume_api

MEMORY_URL = "kombu+memory:////"
# What every scenario's [DEFAULT] starts from; configure() adds the scenario's own options.
DEFAULTS: dict[str, object] = {
    "report_interval": 1,
    "service_down_time": 3,
    "rpc_response_timeout": 5,
}


class ScenarioFailed(exception.CinderLabException):
    """A scenario whose lab did not behave as the note describes."""

    message = "scenario %(name)s: %(failed)d check(s) failed: %(first)s"


class Stage:
    """A scenario's workbench: config files, the lab, the broker view and the checks."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        transport_url: str | None = None,
        out: Callable[[str], None] = print,
        defaults: dict[str, object] | None = None,
        database: str = "lab.sqlite",
    ) -> None:
        self.name = name
        self.workdir = workdir
        self.transport_url = transport_url or MEMORY_URL
        self._write = out
        # transport_url first, then DEFAULTS, unless the caller lays out its own [DEFAULT].
        self.defaults = defaults or {"transport_url": self.transport_url, **DEFAULTS}
        self.database = database
        self.checks: list[tuple[bool, str]] = []
        self.steps: list[dict] = []
        self.lab: Lab | None = None
        self.ctxt = context.get_admin_context()
        self.broker = broker_view.for_url(self.transport_url)

    @property
    def in_memory(self) -> bool:
        """True in the single-process mode with no broker."""
        return self.transport_url.startswith("kombu+memory")

    # -- telling ---------------------------------------------------------------

    def _current(self) -> dict:
        if not self.steps:
            self.steps.append({"title": None, "lines": [], "checks": []})
        return self.steps[-1]

    def out(self, line: str) -> None:
        """Print one line as it is (and keep it in the transcript of the current step)."""
        self._current()["lines"].append(line)
        self._write(line)

    def step(self, title: str) -> None:
        """A numbered heading."""
        self.steps.append({"title": title, "lines": [], "checks": []})
        self._write("")
        self._write(f"-- {title}")

    def say(self, text: str) -> None:
        """A line of explanation."""
        self.out(f"   {text}")

    def check(self, ok: bool, what: str) -> bool:
        """Record and print one expected outcome."""
        self.checks.append((bool(ok), what))
        self._current()["checks"].append({"what": what, "ok": bool(ok)})
        self._write(f"   [{'ok' if ok else 'FAILED'}] {what}")
        return bool(ok)

    def failures(self) -> list[str]:
        """The checks that did not hold."""
        return [what for ok, what in self.checks if not ok]

    def transcript(self) -> dict:
        """The run as data (``scenario run -f json``): steps with their lines and checks."""
        return {"scenario": self.name, "ok": not self.failures(), "steps": self.steps}

    # -- config and services -----------------------------------------------------

    def configure(
        self,
        name: str,
        default: dict[str, object],
        sections: dict[str, dict[str, object]] | None = None,
    ) -> Path:
        """Write ``<name>.conf`` (transport and database filled in) and load it into CONF."""
        database = {"connection": f"sqlite:///{self.workdir}/{self.database}"}
        path = self.workdir / f"{name}.conf"
        config.write_config(
            path, {**self.defaults, **default}, {"database": database, **(sections or {})}
        )
        config.parse_args(["--config-file", str(path)])
        if self.lab is None:
            self.lab = Lab()
        return path

    def show_config(self, path: Path, only: tuple[str, ...] = ()) -> None:
        """Print a config file, or only the options named in ``only`` under their sections."""
        section = None
        for line in path.read_text().splitlines():
            if line.startswith("["):
                section = line
                continue
            if line and (not only or line.split("=")[0].strip() in only):
                if section is not None:
                    self.out(f"   | {section}")
                    section = None
                self.out(f"   | {line}")

    def close(self) -> None:
        """Stop every service and close the transport."""
        if self.lab is not None:
            self.lab.close()
            self.lab = None
        db.dispose_engine()

    # -- waiting and doing -------------------------------------------------------

    def wait_for(self, predicate: Callable[[], object], what: str, timeout: float = 30) -> bool:
        """Poll until ``predicate()`` holds; False (not an exception) when it never does.

        On a clock the lab controls (``make demo``) the time a wait is for
        (a row turning down) is skipped instead: ``timeout`` is lab seconds then.
        """
        if clock.controlled() and self.lab is not None:
            if self._skip_until(self.lab, predicate, timeout):
                return True
        elif utils.wait_until(predicate, timeout):
            return True
        self.say(f"(gave up waiting for {what})")
        return False

    def pause(self, seconds: float, why: str) -> None:
        """Let time pass on purpose (heartbeats, expiry), saying why."""
        self.say(f"(waiting {seconds:g} s: {why})")
        if clock.controlled() and self.lab is not None:
            self.lab.skip(seconds)
        else:
            time.sleep(seconds)

    @staticmethod
    def _skip_until(lab: Lab, predicate: Callable[[], object], timeout: float) -> bool:
        """Give threads a moment in real time, then skip a report_interval; until it holds.

        Gives up once ``timeout`` lab seconds were skipped and as many real ones passed:
        what takes real time (a thread on a loaded machine) gets all of it."""
        skipped = 0.0
        deadline = time.monotonic() + timeout
        while not utils.wait_until(predicate, 0.02, interval=0.005):
            if skipped < timeout:
                lab.skip(CONF.report_interval)
                skipped += CONF.report_interval
            elif time.monotonic() >= deadline:
                return False
        return True

    def queue_is(
        self,
        queue: str,
        consumers: int | None = None,
        messages: int | None = None,
        timeout: float = 20,
    ) -> bool:
        """Wait until ``queue`` shows these counts (the management API lags a few seconds)."""

        def matches() -> bool:
            found = self.broker.queues().get(queue)
            return found is not None and (
                (consumers is None or found[1] == consumers)
                and (messages is None or found[0] == messages)
            )

        return self.wait_for(matches, f"{queue} to show the expected counts", timeout)

    def is_up(self, binary: str, host: str, at: datetime.datetime | None = None) -> bool:
        """The State column of service-list for one row (now, or as of ``at``)."""
        try:
            return utils.service_is_up(db.service_get_by_args(host, binary), at)
        except exception.HostBinaryNotFound:
            return False

    def create_volume(
        self, size: int = 1, volume_type: str | None = None, name: str | None = None
    ) -> models.Volume:
        """``cinder-lab create --wait``."""
        vol = volume_api.API().create(self.ctxt, size, name=name, volume_type=volume_type)
        self.wait_for(lambda: db.volume_get(vol.id).status != "creating", "the volume")
        return db.volume_get(vol.id)

    def create_backup(self, volume_id: str) -> models.Backup:
        """``cinder-lab backup-create --wait``; raises what backup/api.py raises."""
        bak = backup_api.API().create(self.ctxt, volume_id)
        self.wait_for(lambda: db.backup_get(bak.id).status != "creating", "the backup")
        return db.backup_get(bak.id)

    def service_table(self) -> None:
        """Print service-list."""
        rows = db.service_get_all()
        width = max([len(r.host) for r in rows] + [4])
        for r in rows:
            status, state = utils.service_status(r), utils.service_state(r)
            self.out(
                f"   {r.binary:<17} {r.host:<{width}} {r.availability_zone:<5} {status:<8} {state}"
            )

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[memory_tap.Published]]:
        """Collect the messages routed while the block runs (printed as they are seen)."""
        with self.broker.watch() as events:
            yield events


def run_stage(
    scenario: type,
    transport_url: str | None = None,
    out: Callable[[str], None] = print,
    workdir: Path | None = None,
) -> Stage:
    """Run one scenario in a fresh temp dir; return its stage (checks and transcript)."""
    import tempfile

    memory_tap.install()
    own = contextlib.nullcontext(transport_url)
    if transport_url and not transport_url.startswith("kombu+memory"):
        own = vhost.own_vhost(transport_url, scenario.name)
    with tempfile.TemporaryDirectory(prefix=f"cinder-lab-{scenario.name}-") as tmp, own as url:
        stage = Stage(scenario.name, Path(workdir or tmp), url, out)
        # In one process the waits for rows to turn down skip time on the lab's clock,
        # as make demo's do; on a broker other processes keep the real time.
        own_clock = stage.in_memory and not clock.controlled()
        if stage.in_memory:
            memory_tap.reset()
        if own_clock:
            clock.take_control()
        try:
            scenario().run(stage)
        finally:
            stage.close()
            rpc.cleanup()
            if own_clock:
                clock.release()
    return stage


def run(
    scenario: type,
    transport_url: str | None = None,
    out: Callable[[str], None] = print,
    workdir: Path | None = None,
) -> list[str]:
    """Run one scenario in a fresh temp dir; return the failed checks (empty = passed)."""
    return run_stage(scenario, transport_url, out, workdir).failures()
