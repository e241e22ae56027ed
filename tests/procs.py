"""Start the lab's console scripts as real processes, and stop them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cinder_lab import utils

BIN = Path(sys.executable).parent


class LabProcess:
    """One console script (``cinder-lab-volume`` ...) with its log in a file."""

    def __init__(self, script: str, conf: Path, log_dir: Path, *extra: str) -> None:
        self.script = script
        self.log = log_dir / f"{script}-{time.monotonic_ns()}.log"
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self._terminated = False
        self.proc = subprocess.Popen(
            [str(BIN / script), "--config-file", str(conf), *extra],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        """SIGKILL, as if the machine died: no clean stop, no last heartbeat."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._log_file.close()

    def terminate(self) -> None:
        if self.proc.poll() is None and not self._terminated:
            self._terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait; returns the exit code."""
        self.terminate()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=30)
        self._log_file.close()
        return code


def stop_all(procs: list[LabProcess]) -> dict[str, int]:
    """SIGTERM every process at once, then wait; returns script -> exit code."""
    for p in procs:
        p.terminate()
    return {f"{p.script}#{i}": p.stop() for i, p in enumerate(procs)}


def wait_until(predicate, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    """The tests' one wait: poll ``predicate`` (with the library's ``utils.wait_until``)
    until it returns a truthy value, and return that value; fail with ``what`` after ``timeout``."""
    seen: list = []

    def holds() -> bool:
        value = predicate()
        if value:
            seen.append(value)
        return bool(value)

    if utils.wait_until(holds, timeout, interval):
        return seen[-1]
    raise AssertionError(f"timed out waiting for {what}")


def run_cli(conf: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``cinder-lab --config-file conf ARGS`` and capture its output."""
    return subprocess.run(
        [str(BIN / "cinder-lab"), "--config-file", str(conf), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_status(get, obj_id: str, busy: str = "creating", timeout: float = 30):
    """Poll a row (``get(obj_id)``) until its status leaves ``busy``; return it (busy or not)."""
    utils.wait_until(lambda: get(obj_id).status != busy, timeout, interval=0.02)
    return get(obj_id)


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on now (a server started next binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
