"""The compose lab on a real Docker engine, driven the way a learner drives it.

``make images-local``, ``make up IMAGES=local`` and ``make down``, then
``docker compose exec`` for everything else, in a compose project of the test's
own (its own name, host ports, network, containers and volumes), so it never
meets another run or the shared RabbitMQ and MariaDB of this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from functools import cache
from pathlib import Path

from tests.broker import SETUP, require
from tests.compose import IMAGE_ROOT, ROOT
from tests.dap import DapSession
from tests.procs import free_port

# The compose variables that publish a host port (docker-compose.yml).
PORT_VARIABLES = (
    "RABBITMQ_MANAGEMENT_PORT",
    "OPENSTACK_VOLUME_DEBUG_PORT",
    "KILO_VOLUME_DEBUG_PORT",
    "KILO_BACKUP_DEBUG_PORT",
    "KILO_SCHEDULER_DEBUG_PORT",
    "KILO_API_PORT",
    "KILO_API_DEBUG_PORT",
    "WEB_PORT",
    "WEB_DEBUG_PORT",
)
LOCAL_ENV = ROOT / "tools" / "images" / "local.env"


def _ok(*argv: str) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@cache
def compose_command() -> tuple[str, ...] | None:
    """``docker compose`` (v2) where the plugin is installed, else ``docker-compose`` (v1)."""
    if _ok("docker", "compose", "version"):
        return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    return None


def require_engine() -> tuple[str, ...]:
    """The compose command, with a running engine; skip without one, fail under CI=true."""
    command = compose_command()
    if shutil.which("docker") and _ok("docker", "info") and command:
        return command
    require(False, f"no Docker engine or compose ({SETUP})")


class DockerLab:
    """One compose project of the lab: ``make`` targets and ``compose exec`` in it."""

    def __init__(self, compose: tuple[str, ...], workdir: Path, files: list[Path]) -> None:
        self.compose_argv = compose
        self.project = f"cinderlabtest{uuid.uuid4().hex[:8]}"
        self.ports = {name: free_port() for name in PORT_VARIABLES}
        # A clean environment for compose: no stray DEBUGPY/TRACING/COMPOSE_* of the caller.
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "CI")}
        self.env = {
            **keep,
            **{name: str(port) for name, port in self.ports.items()},
            "COMPOSE_PROJECT_NAME": self.project,
            "COMPOSE_FILE": os.pathsep.join(str(f) for f in files),
            "COMPOSE": " ".join(compose),
        }
        self.workdir = workdir

    def make(self, target: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        out = subprocess.run(
            ["make", "-s", "-C", str(ROOT), target, "IMAGES=local", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        assert out.returncode == 0, f"make {target}: {out.stderr[-3000:]}"
        return out

    def compose(self, *args: str, env: dict | None = None, timeout: float = 300):
        """``docker compose --env-file tools/images/local.env ARGS`` in this project."""
        return subprocess.run(
            [*self.compose_argv, "--env-file", str(LOCAL_ENV), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            timeout=timeout,
        )

    def exec(self, service: str, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """``docker compose exec -T SERVICE ARGV`` (no TTY: the test reads the output)."""
        return self.compose("exec", "-T", service, *argv, timeout=timeout)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The learner's client, typed in the kilo-scheduler container."""
        return self.exec("kilo-scheduler", "cinder-lab", *args)

    def cli_started(self, *args: str) -> subprocess.Popen:
        """The client started, not waited for (a debugger will stop what it asked for)."""
        return subprocess.Popen(
            [*self.compose_argv, "--env-file", str(LOCAL_ENV), "exec", "-T", "kilo-scheduler"]
            + ["cinder-lab", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def cli_json(self, *args: str):
        out = self.cli(*args, "-f", "json")
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)

    def rabbitmqctl(self, *args: str) -> list[dict]:
        out = self.exec("rabbitmq", "rabbitmqctl", "-q", *args, "--formatter", "json")
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout or "[]")

    def containers(self, *extra: str) -> list[str]:
        """Ids of this project's containers (running or not)."""
        label = f"label=com.docker.compose.project={self.project}"
        out = subprocess.run(
            ["docker", "ps", "-aq", "--filter", label, *extra], capture_output=True, text=True
        )
        return out.stdout.split()

    def health(self) -> dict[str, str]:
        """Service name -> health status (or state, for services without a healthcheck)."""
        found = {}
        for cid in self.containers():
            info = json.loads(
                subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout
            )[0]
            service = info["Config"]["Labels"]["com.docker.compose.service"]
            state = info["State"]
            found[service] = state.get("Health", {}).get("Status") or state["Status"]
        return found

    def volumes(self) -> set[str]:
        """Names of the volumes mounted in this project's containers (named and anonymous)."""
        names = set()
        for cid in self.containers():
            out = subprocess.run(
                ["docker", "inspect", "--format", "{{json .Mounts}}", cid],
                capture_output=True,
                text=True,
            )
            names |= {m["Name"] for m in json.loads(out.stdout) if m["Type"] == "volume"}
        return names

    def networks(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        out = subprocess.run(
            ["docker", "network", "ls", "-q", "--filter", label], capture_output=True, text=True
        )
        return out.stdout.split()

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail=60").stdout[-6000:]

    def force_down(self) -> None:
        """Whatever a failed test left: the project's containers, network and volumes."""
        subprocess.run(
            ["make", "-s", "-C", str(ROOT), "down", "IMAGES=local"],
            capture_output=True,
            env=self.env,
            timeout=300,
        )


# -- a debugger, as VS Code attaches to a container's published debugpy port --

ATTACH_TIMEOUT = 180  # seconds, all attempts together
MAPPING = {"pathMappings": [{"localRoot": str(ROOT), "remoteRoot": IMAGE_ROOT}]}


def attach(port: int, arguments: dict, breakpoints: dict | None = None) -> DapSession:
    """Attach as VS Code does, retrying while the restarted container's debugpy comes up
    (docker's port proxy accepts a connection before anything listens behind it)."""
    # Generous: on a loaded two-core machine a restarted container's debugpy is slow to listen.
    deadline = time.monotonic() + ATTACH_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        session = DapSession(port, timeout=min(60.0, max(left, 1.0)))
        try:
            session.attach({**arguments, **MAPPING}, breakpoints)
            return session
        except (ConnectionError, OSError):
            session.sock.close()
            time.sleep(0.2)
    raise AssertionError(f"no debug adapter on 127.0.0.1:{port} after {ATTACH_TIMEOUT} s")


def line_of(path: Path, after: str, text: str) -> int:
    lines = path.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if after in line)
    return 1 + next(n for n in range(start, len(lines)) if lines[n] == text)


def stop_at(session: DapSession, path: Path, line: int, expression: str) -> str:
    """Wait for the breakpoint at ``path:line``, evaluate ``expression`` there, continue."""
    stopped = session.event("stopped", timeout=90)["body"]
    assert stopped["reason"] == "breakpoint"
    frames = session.request("stackTrace", {"threadId": stopped["threadId"]})["stackFrames"]
    assert (Path(frames[0]["source"]["path"]), frames[0]["line"]) == (path, line)
    value = session.request(
        "evaluate", {"expression": expression, "frameId": frames[0]["id"], "context": "watch"}
    )["result"]
    session.request("setBreakpoints", {"source": {"path": str(path)}, "breakpoints": []})
    session.request("continue", {"threadId": stopped["threadId"]})
    return value
