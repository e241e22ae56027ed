"""docker-compose.yml read without a Docker engine: its model, paths and the note's listings;
and the clients of the API and the live view it publishes."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.broker import SETUP, require

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEBUG_FILE = ROOT / "docker-compose.debug.yml"
CLUSTER_FILE = ROOT / "docker-compose.cluster.yml"
IMAGE_ROOT = "/app"  # the Dockerfile's WORKDIR: the checkout's root inside the image
CONF_IN_CONTAINER = "/etc/cinder-lab/cinder-lab.conf"

# The note's listings (BRIEF.md, observation 4): server queues and services rows.
NOTE_SERVER_QUEUES = {
    "cinder-volume.maqi-openstack.novalocal@lvmdriver-1",
    "cinder-volume.maqi-openstack.novalocal@whatever_it_is",
    "cinder-volume.maqi-kilo@ceph",
    "cinder-backup.maqi-kilo",
    "cinder-scheduler.maqi-kilo",
}
NOTE_FANOUT_EXCHANGES = {"cinder-volume_fanout", "cinder-backup_fanout", "cinder-scheduler_fanout"}
NOTE_ROWS = {
    ("cinder-volume", "maqi-openstack.novalocal@lvmdriver-1"),
    ("cinder-volume", "maqi-openstack.novalocal@whatever_it_is"),
    ("cinder-volume", "maqi-kilo@ceph"),
    ("cinder-backup", "maqi-kilo"),
    ("cinder-scheduler", "maqi-kilo"),
}
BINARY_OF = {
    "cinder-lab-volume": "cinder-volume",
    "cinder-lab-backup": "cinder-backup",
    "cinder-lab-scheduler": "cinder-scheduler",
}
# Lab services with no services row: cinder-lab-api (Cinder's WSGI service registers
# none) and the client's `cinder-lab web` (it only watches).
ROWLESS = {"cinder-lab-api", "cinder-lab"}
API_PORT = 8776  # cinder-lab-api's [api] port in its container: Cinder's osapi_volume_listen_port
WEB_PORT = 8080  # `cinder-lab web --port` in its container


# ``${NAME:-default}``: the variables that let a machine swap images and host ports.
VARIABLE = re.compile(r"\$\{(\w+):-([^}]*)\}")


def load(path: Path = COMPOSE_FILE) -> dict:
    """A compose file as YAML (anchors and ``<<`` merges resolved), every variable at its
    default: the model a user with a clean environment gets."""
    return _defaults(yaml.safe_load(path.read_text()))


def _defaults(node):
    """Interpolate as compose does: in parsed string values, so a value stays a string."""
    if isinstance(node, dict):
        return {key: _defaults(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_defaults(value) for value in node]
    if isinstance(node, str):
        return VARIABLE.sub(lambda m: m.group(2), node)
    return node


def require_compose() -> str:
    """Path of Debian's ``docker-compose``; skip without it, fail under CI=true."""
    found = shutil.which("docker-compose")
    if found:
        return found
    require(False, f"docker-compose is not installed ({SETUP})")


def compose(*args: str, files: tuple[Path, ...] = (COMPOSE_FILE,)) -> subprocess.CompletedProcess:
    """Run ``docker-compose -f F... ARGS`` offline: ``config`` needs no engine."""
    cmd = [require_compose()]
    for f in files:
        cmd += ["-f", str(f)]
    # A stray DEBUGPY in the caller's environment must not change the model under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUGPY", "TRACING"))}
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )


def resolved(files: tuple[Path, ...] = (COMPOSE_FILE,)) -> dict:
    """The model compose would run: ``docker-compose config`` (interpolated, merged)."""
    out = compose("config", files=files)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def lab_services(model: dict) -> dict[str, dict]:
    """The services built from the Dockerfile (the cinder-lab ones), by name."""
    return {name: svc for name, svc in model["services"].items() if "build" in svc}


def mounts(service: dict) -> list[tuple[str, str, bool]]:
    """``(source, target, read_only)`` of each bind mount, short or long syntax."""
    found = []
    for vol in service.get("volumes", []):
        if isinstance(vol, str):
            parts = vol.split(":")
            found.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        else:
            found.append((vol["source"], vol["target"], bool(vol.get("read_only"))))
    return found


def local_path(path: str, service: dict) -> str:
    """Where a container path of ``service`` is in this checkout: bind mounts, then the image."""
    for source, target, _ro in mounts(service):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return str((ROOT / source).resolve()) + path[len(target) :]
    if path.startswith(IMAGE_ROOT + "/"):
        return str(ROOT / path[len(IMAGE_ROOT) + 1 :])
    return path


def local_argv(service: dict) -> list[str]:
    """Entrypoint + command of ``service`` with container paths mapped to this checkout."""
    argv = [*service.get("entrypoint", []), *service["command"]]
    return [local_path(arg, service) for arg in argv]


def config_of(service: dict) -> configparser.ConfigParser:
    """The cinder.conf-like file a service reads (its mount at CONF_IN_CONTAINER)."""
    # [DEFAULT] as a plain section: oslo.config does not copy it into the others.
    parser = configparser.ConfigParser(interpolation=None, default_section="-")
    parser.read(local_path(CONF_IN_CONTAINER, service))
    return parser


def expected_servers(service: dict) -> set[tuple[str, str]]:
    """``(binary, server)`` a service will register, from its hostname and config alone."""
    conf = config_of(service)
    script = service["command"][0]
    if script in ROWLESS:
        return set()
    host = conf.get("DEFAULT", "host", fallback=None) or service["hostname"]
    if script != "cinder-lab-volume":
        return {(BINARY_OF[script], host)}
    servers = set()
    for backend in (b.strip() for b in conf.get("DEFAULT", "enabled_backends").split(",")):
        # backend_host, or Kilo's spelling 'host' in the backend section, overrides host.
        override = conf.get(backend, "backend_host", fallback=None)
        override = override or conf.get(backend, "host", fallback=None)
        servers.add(("cinder-volume", f"{override or host}@{backend}"))
    return servers


# -- the API and the live view as the host reaches them (published on 127.0.0.1) --


def cinder(port: int, *args: str) -> subprocess.CompletedProcess:
    """The real ``cinder`` client (python-cinderclient) against cinder-lab-api, noauth."""
    auth = ["--os-auth-type", "noauth", "--os-user-id", "admin", "--os-project-id", "admin"]
    endpoint = ["--os-endpoint", f"http://127.0.0.1:{port}/v3"]
    # No OS_* variable of the caller's may point the client elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "cinder"), *auth, *endpoint, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def cinder_service_list(port: int) -> dict[tuple[str, str], str]:
    """``cinder service-list``: (binary, host) -> state."""
    out = cinder(port, "service-list")
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in out.stdout.splitlines()]
    header, *body = [r for r in rows if r]
    at = {name: n for n, name in enumerate(header)}
    return {(r[at["Binary"]], r[at["Host"]]): r[at["State"]] for r in body}


def versions(port: int) -> list[dict]:
    """The API's versions document at ``/``: Cinder answers 300 Multiple Choices."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 300, e.code
        return json.loads(e.read())["versions"]
    raise AssertionError("GET / answered 2xx, not Cinder's 300")


def web_topology(port: int) -> dict | None:
    """``GET /api/topology`` of ``cinder-lab web``; None while it answers no snapshot."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/topology", timeout=10) as r:
            return json.loads(r.read())
    except OSError:  # not listening yet, or 503 before its first snapshot
        return None


def web_served_queues(view: dict) -> set[str]:
    """The queues the live view draws with a consumer behind them."""
    edges = [e["data"] for e in view["elements"] if e["group"] == "edges"]
    return {
        e["source"][2:]
        for e in edges
        if e["source"].startswith("q:") and e["target"].startswith("consumer:")
    }


def web_rows(view: dict) -> dict[tuple[str, str], str]:
    """The services table the live view shows: (binary, host) -> state."""
    return {(s["binary"], s["host"]): s["state"] for s in view["services"]}


def cinder_table(port: int, *args: str) -> dict[str, str]:
    """``cinder show``-like output (a Property | Value table) as a dict."""
    out = cinder(port, *args)
    assert out.returncode == 0, out.stdout + out.stderr
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in out.stdout.splitlines()]
    return dict(c for c in cells if len(c) == 2)
