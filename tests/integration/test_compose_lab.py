"""The compose lab's services run here as local processes, each exactly as compose would run it.

No Docker engine runs on this machine, so the proof is: take each service's
entrypoint, command, environment and mounted config from ``docker-compose config``,
map the container paths to this checkout, and point what only exists inside
compose at its local twin through oslo.config's environment source
(``OS_<GROUP>__<OPTION>``): the broker (an own vhost) and its management API, the
database (an own MariaDB database), and free loopback ports for the API and the live
view, which have no network namespace of their own here. The hostname is the
container's: each service runs in its own UTS namespace (``unshare --uts``, as a
container does) with the compose ``hostname`` set, so ``host`` comes from the
hostname exactly as in the container.
Where namespaces are not allowed, ``OS_DEFAULT__HOST`` gives the same name instead.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from cinder_lab import utils
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.web.live import TAP_QUEUE
from tests import compose
from tests.dap import DapSession
from tests.procs import BIN, free_port, wait_until

HEX = re.compile(r"^[0-9a-f]{32}$")
# Set the hostname in a new UTS namespace, then exec the service's command.
SET_HOSTNAME = (
    "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execvp(sys.argv[2], sys.argv[2:])"
)


@cache
def own_hostname_works() -> bool:
    """True when this process may run a child in its own UTS namespace (root, unshare)."""
    try:
        probe = ["unshare", "--uts", sys.executable, "-c", SET_HOSTNAME, "probe", "true"]
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def with_hostname(hostname: str, argv: list[str]) -> list[str]:
    """``argv`` run with ``hostname`` as the machine's name, as in its container."""
    return ["unshare", "--uts", sys.executable, "-c", SET_HOSTNAME, hostname, *argv]


class ComposeService:
    """One compose service as a local process, its output in a file."""

    def __init__(self, name: str, service: dict, tmp: Path, overrides: dict[str, str]) -> None:
        self.name = name
        self.service = service
        self.log = tmp / f"{name}.log"
        self.env = {
            **os.environ,
            **{k: str(v) for k, v in service.get("environment", {}).items()},
            # The image's PATH: the lab's console scripts and its python first.
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            **overrides,
        }
        self.argv = compose.local_argv(service)
        if own_hostname_works():
            self.argv = with_hostname(service["hostname"], self.argv)
        else:
            self.env["OS_DEFAULT__HOST"] = service["hostname"]
        self.conf = compose.local_path(compose.CONF_IN_CONTAINER, service)
        with open(self.log, "w") as out:
            # Its own process group: the teardown can reach forked children and
            # debugpy's adapter even if the launcher itself had to be killed.
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=tmp,
                start_new_session=True,
            )

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """``docker compose exec SERVICE cinder-lab ARGS``: the client, this service's config."""
        return subprocess.run(
            [str(BIN / "cinder-lab"), "--config-file", self.conf, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )

    def stop(self) -> int:
        """SIGTERM and wait; then SIGKILL whatever is left of the process group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=30)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return code

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def run_services(tmp_path):
    """Start compose services locally; stop them all after, each must exit 0 with no traceback."""
    started: list[ComposeService] = []

    def start(names, services, overrides):
        for name in names:
            started.append(ComposeService(name, services[name], tmp_path, overrides))
        return started

    yield start
    for svc in started:
        if svc.proc.poll() is None:
            svc.proc.send_signal(signal.SIGTERM)
    codes = {svc.name: svc.stop() for svc in started}
    db.dispose_engine()
    for svc in started:
        assert "Traceback" not in svc.output(), svc.output()
    failed = {name: code for name, code in codes.items() if code != 0}
    tails = {svc.name: svc.output()[-3000:] for svc in started if svc.name in failed}
    assert failed == {}, tails


def read_rows_from(url: str, tmp_path: Path) -> None:
    """Point this test process's CONF at the lab's database, to poll its rows."""
    path = tmp_path / "reader.conf"
    path.write_text(f"[database]\nconnection = {url}\n")
    config.parse_args(["--config-file", str(path)])


def rows() -> dict[tuple[str, str], bool]:
    return {(s.binary, s.host): utils.service_is_up(s) for s in db.service_get_all()}


def test_compose_services_register_the_notes_queues_and_rows(
    vhost, mariadb, run_services, tmp_path
):
    model = compose.resolved()
    lab = compose.lab_services(model)
    api_port, web_port = free_port(), free_port()
    # No network namespace here: the API and the page take free loopback ports of this
    # machine instead of the containers' 8776 and 8080 (argparse keeps the last --host/--port).
    web = lab["web"]
    lab["web"] = {
        **web,
        "command": [*web["command"], "--host", "127.0.0.1", "--port", str(web_port)],
    }
    overrides = {
        "OS_DEFAULT__TRANSPORT_URL": vhost.url,
        "OS_DATABASE__CONNECTION": mariadb.url,
        "OS_MANAGEMENT__URL": "http://127.0.0.1:15672/",  # rabbitmq's twin: this machine's
        "OS_API__LISTEN": "127.0.0.1",
        "OS_API__PORT": str(api_port),
    }
    started = {s.name: s for s in run_services(sorted(lab), lab, overrides)}
    read_rows_from(mariadb.url, tmp_path)
    wait_until(
        lambda: rows() == {key: True for key in compose.NOTE_ROWS},
        timeout=60,
        what="the note's five services rows, all up",
    )

    # The live view's own firehose tap is no queue of the lab's.
    queues = {q: v for q, v in vhost.queues().items() if not q.startswith(TAP_QUEUE)}
    server_queues = {q for q in queues if "." in q and not q.startswith("reply_")}
    assert server_queues == compose.NOTE_SERVER_QUEUES
    fanouts = {
        t: [q for q in queues if q.startswith(f"{t}_fanout_")] for t in compose.BINARY_OF.values()
    }
    assert {t: len(qs) for t, qs in fanouts.items()} == {
        "cinder-volume": 3,  # one per backend process: two on maqi-openstack, one on maqi-kilo
        "cinder-backup": 1,
        "cinder-scheduler": 1,
    }
    assert all(HEX.match(q.rsplit("_", 1)[1]) for qs in fanouts.values() for q in qs)
    topics = {"cinder-volume", "cinder-backup", "cinder-scheduler"}
    lab_queues = {q for q in queues if not q.startswith("reply_")}
    assert lab_queues == topics | server_queues | {q for qs in fanouts.values() for q in qs}
    # Every queue has exactly one consumer, except the topic queue all three volume
    # processes share.
    consumers = {q: queues[q]["consumers"] for q in lab_queues}
    assert consumers.pop("cinder-volume") == 3
    assert set(consumers.values()) == {1}, consumers
    assert vhost.exchanges() == {
        "openstack": "topic",
        **{name: "fanout" for name in compose.NOTE_FANOUT_EXCHANGES},
    }

    # The learner's session, typed in the kilo-scheduler container.
    client = started["kilo-scheduler"]

    def three_pools():
        out = client.cli("get-pools", "-f", "json")
        return out.returncode == 0 and len(json.loads(out.stdout)) == 3

    wait_until(three_pools, timeout=60, what="three pools at the scheduler")
    out = client.cli("create", "1", "--name", "vol-ceph", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume = json.loads(out.stdout)
    assert (volume["status"], volume["os-vol-host-attr:host"]) == (
        "available",
        "maqi-kilo@ceph#ceph",
    )
    out = client.cli("backup-create", volume["id"], "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    backup = json.loads(out.stdout)
    assert (backup["status"], backup["host"], backup["volume_host"]) == (
        "available",
        "maqi-kilo",
        "maqi-kilo@ceph",
    )
    check_api_and_web(api_port, web_port)


def check_api_and_web(api_port: int, web_port: int) -> None:
    """kilo-api answers the real ``cinder`` client; web draws the note's queues, served."""
    wait_until(lambda: compose.web_topology(web_port), 60, what="web's first snapshot")
    (version,) = compose.versions(api_port)
    assert version["id"] == "v3.0"
    # The note's five rows, and none of the API's or the page's own.
    assert compose.cinder_service_list(api_port) == {row: "up" for row in compose.NOTE_ROWS}
    view = wait_until(
        lambda: (
            (v := compose.web_topology(web_port))
            and compose.web_served_queues(v) >= compose.NOTE_SERVER_QUEUES
            and v
        ),
        timeout=60,
        what="the page drawing a consumer behind each of the note's server queues",
    )
    assert compose.web_rows(view) == {row: "up" for row in compose.NOTE_ROWS}


def started_hosts(output: str) -> dict[int, str]:
    """pid -> host, from the services' 'starting ... on host X' log lines."""
    found = re.findall(
        r"^\S+ \S+ (\d+) INFO cinder_lab.service starting \S+ on host (\S+):", output, re.M
    )
    return {int(pid): host for pid, host in found}


def test_debugpy_entrypoint_follows_the_forked_backend_children(vhost, run_services, tmp_path):
    """DEBUGPY=1 on openstack-volume: attach, get one child session per backend, and stop
    at a breakpoint inside a child, where ``self.host`` names its backend."""
    lab = compose.lab_services(compose.resolved())
    port = free_port()
    overrides = {
        "OS_DEFAULT__TRANSPORT_URL": vhost.url,
        "OS_DATABASE__CONNECTION": f"sqlite:///{tmp_path}/lab.sqlite",
        # Heartbeats every second: the breakpoint below is in report_state.
        "OS_DEFAULT__REPORT_INTERVAL": "1",
        "DEBUGPY": "1",
        "DEBUGPY_HOST": "127.0.0.1",
        "DEBUGPY_PORT": str(port),
    }
    (volume,) = run_services(["openstack-volume"], lab, overrides)
    service_py = Path(config.__file__).parent.parent / "service.py"
    line = 1 + service_py.read_text().splitlines().index(
        "                db.service_heartbeat(self.service_id, self.availability_zone)"
    )

    main = DapSession(port)
    children = []
    try:
        main.attach({"subProcess": True})
        spawned = [main.event("debugpyAttach")["body"] for _ in range(2)]
        # With a debugger attached, a forked child waits until its own session
        # attaches (VS Code does so by itself): attach both, a breakpoint in the first.
        for n, body in enumerate(spawned):
            child = DapSession(port)
            children.append(child)
            child.attach(body, breakpoints={str(service_py): [line]} if n == 0 else {})
        # The first child stops in its first heartbeat, before it logs "starting".
        child = children[0]
        stopped = child.event("stopped", timeout=30)["body"]
        assert stopped["reason"] == "breakpoint"
        frames = child.request("stackTrace", {"threadId": stopped["threadId"]})["stackFrames"]
        assert (frames[0]["name"], frames[0]["line"]) == ("report_state", line)
        assert Path(frames[0]["source"]["path"]) == service_py
        value = child.request(
            "evaluate", {"expression": "self.host", "frameId": frames[0]["id"], "context": "watch"}
        )["result"]
        child.request("setBreakpoints", {"source": {"path": str(service_py)}, "breakpoints": []})
        child.request("continue", {"threadId": stopped["threadId"]})

        hosts = wait_until(
            lambda: len(started_hosts(volume.output())) == 2 and started_hosts(volume.output()),
            what="two backend children started",
        )
        # The sessions debugpy offered are the two backend children, not the launcher.
        assert {b["subProcessId"] for b in spawned} == set(hosts)
        assert volume.proc.pid not in hosts
        assert value == repr(hosts[spawned[0]["subProcessId"]])
        assert value.startswith("'maqi-openstack.novalocal@")
    finally:
        for session in [*children, main]:
            session.close()
