"""cinder-lab-api driven by the real clients (python-cinderclient, python-openstackclient).

Every service is a real process on the real RabbitMQ (a vhost of the test's
own), the API included: the casts leave from cinder-lab-api, as they leave from
cinder-api. The note's story is told with ``cinder`` and ``openstack``
exactly as a learner would type it, noauth, no Keystone.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from cinder_lab import utils
from cinder_lab.db import api as db
from tests.integration.conftest import RabbitLab
from tests.procs import BIN, free_port, run_cli, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow]


class Clients:
    """``cinder`` and ``openstack`` pointed at one cinder-lab-api, noauth."""

    def __init__(self, port: int) -> None:
        self.endpoint = f"http://127.0.0.1:{port}/v3"
        # No OS_* variable of the caller's may point the clients elsewhere.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=self.env)

    def cinder(self, *args: str) -> subprocess.CompletedProcess:
        auth = ["--os-auth-type", "noauth", "--os-user-id", "admin", "--os-project-id", "admin"]
        return self._run([str(BIN / "cinder"), *auth, "--os-endpoint", self.endpoint, *args])

    def openstack(self, *args: str) -> subprocess.CompletedProcess:
        auth = ["--os-auth-type", "none", "--os-endpoint", self.endpoint]
        return self._run([str(BIN / "openstack"), *auth, *args])


def table(output: str) -> dict[str, str]:
    """``cinder show``'s Property | Value table as a dict."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2:
            rows[cells[0]] = cells[1]
    return rows


def ok(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def start_lab(rabbit_lab: RabbitLab, release: str, extra: str = "") -> tuple[Clients, object]:
    """maqi-kilo's volume, backup and scheduler, then cinder-lab-api; all answering."""
    port = free_port()
    conf = rabbit_lab.conf(
        f"maqi-kilo-{release}",
        "maqi-kilo",
        {"ceph": "ceph"},
        extra_default=f"lab_release = {release}\n{extra}[api]\nport = {port}",
    )
    for script in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler"):
        rabbit_lab.start(script, conf)
    api = rabbit_lab.start("cinder-lab-api", conf)
    wait_until(lambda: answers(port), 60, what="cinder-lab-api to listen")
    wait_until(lambda: len(up_rows()) == 3, 60, what="three services up")
    return Clients(port), api


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    except urllib.error.HTTPError as e:
        return e.code == 300  # Cinder's unversioned endpoint answers Multiple Choices
    except OSError:
        return False
    return False


def up_rows() -> set[tuple[str, str]]:
    return {(s.binary, s.host) for s in db.service_get_all() if utils.service_is_up(s)}


def create_volume(clients: Clients) -> dict[str, str]:
    """``cinder create 1``, then ``cinder show`` once it is available."""
    volume_id = table(ok(clients.cinder("create", "1")))["id"]
    wait_until(lambda: db.volume_get(volume_id).status == "available", 60, what="volume")
    return table(ok(clients.cinder("show", volume_id)))


def rename_backend_host(rabbit_lab: RabbitLab, release: str, option: str = "host") -> None:
    """The note's change: restart cinder-volume with ``[ceph] host = new_host_name``
    (today: ``backend_host``, the alias ``host`` went in Pike); the API keeps running."""
    volume = next(p for p in rabbit_lab.procs if p.script == "cinder-lab-volume")
    assert rabbit_lab.stop(volume) == 0
    conf = rabbit_lab.tmp / f"maqi-kilo-{release}.conf"
    renamed = rabbit_lab.tmp / f"renamed-{release}.conf"
    line = f"[ceph]\n{option} = new_host_name\n"
    renamed.write_text(conf.read_text().replace("[ceph]\n", line))
    rabbit_lab.start("cinder-lab-volume", renamed)
    expected = {("cinder-volume", "new_host_name@ceph"), ("cinder-backup", "maqi-kilo")}
    # The old row must be down too, or the scheduler could still pick maqi-kilo@ceph.
    wait_until(
        lambda: expected <= up_rows() and ("cinder-volume", "maqi-kilo@ceph") not in up_rows(),
        60,
        what="new_host_name@ceph up and maqi-kilo@ceph down",
    )


def test_the_note_with_cinderclient_kilo(rabbit_lab: RabbitLab) -> None:
    clients, api = start_lab(rabbit_lab, "kilo")

    listed = ok(clients.cinder("service-list"))
    rows = {tuple(c.strip() for c in line.split("|")[1:6]) for line in listed.splitlines()[3:-1]}
    assert rows == {
        ("cinder-backup", "maqi-kilo", "nova", "enabled", "up"),
        ("cinder-scheduler", "maqi-kilo", "nova", "enabled", "up"),
        ("cinder-volume", "maqi-kilo@ceph", "nova", "enabled", "up"),
    }, listed  # and no cinder-api row: Cinder's API registers none

    first = create_volume(clients)
    assert first["os-vol-host-attr:host"] == "maqi-kilo@ceph#ceph"
    backup_id = table(ok(clients.cinder("backup-create", first["id"])))["id"]
    wait_until(lambda: db.backup_get(backup_id).status == "available", 60, what="backup")
    assert table(ok(clients.cinder("backup-show", backup_id)))["status"] == "available"

    rename_backend_host(rabbit_lab, "kilo")
    second = create_volume(clients)
    assert second["os-vol-host-attr:host"] == "new_host_name@ceph#ceph"
    backups_before = [b.id for b in db.backup_get_all()]
    refused = clients.cinder("backup-create", second["id"])
    # Kilo's backups controller turned ServiceNotFound into HTTP 500.
    assert refused.returncode == 1
    assert "ERROR: Service cinder-backup could not be found. (HTTP 500)" in refused.stderr
    assert [b.id for b in db.backup_get_all()] == backups_before  # nothing stored, nothing sent
    assert db.volume_get(second["id"]).status == "available"

    # The lab's own client, pointed at the API by [api] endpoint, tells the same story.
    client_conf = rabbit_lab.tmp / "client.conf"
    conf_text = (rabbit_lab.tmp / "maqi-kilo-kilo.conf").read_text()
    client_conf.write_text(conf_text.replace("[api]\n", f"[api]\nendpoint = {clients.endpoint}\n"))
    shown = run_cli(client_conf, "show", first["id"], "-f", "json")
    assert json.loads(ok(shown))["os-vol-host-attr:host"] == "maqi-kilo@ceph#ceph"
    refused = run_cli(client_conf, "backup-create", second["id"])
    assert refused.returncode == 1
    assert "Service cinder-backup could not be found. (HTTP 500)" in refused.stderr
    assert [b.id for b in db.backup_get_all()] == backups_before
    assert "Traceback" not in api.output()


def test_the_note_with_openstackclient_kilo(rabbit_lab: RabbitLab) -> None:
    clients, _api = start_lab(rabbit_lab, "kilo")
    first = create_volume(clients)
    listed = json.loads(ok(clients.openstack("volume", "list", "-f", "json")))
    assert [v["ID"] for v in listed] == [first["id"]]
    shown = json.loads(ok(clients.openstack("volume", "show", first["id"], "-f", "json")))
    assert shown["os-vol-host-attr:host"] == "maqi-kilo@ceph#ceph"
    created = json.loads(
        ok(clients.openstack("volume", "backup", "create", first["id"], "-f", "json"))
    )
    wait_until(lambda: db.backup_get(created["id"]).status == "available", 60, what="backup")
    backups = json.loads(ok(clients.openstack("volume", "backup", "list", "-f", "json")))
    assert [(b["ID"], b["Status"]) for b in backups] == [(created["id"], "available")]
    services = json.loads(ok(clients.openstack("volume", "service", "list", "-f", "json")))
    assert {(s["Binary"], s["Host"]) for s in services} == {
        ("cinder-volume", "maqi-kilo@ceph"),
        ("cinder-backup", "maqi-kilo"),
        ("cinder-scheduler", "maqi-kilo"),
    }

    rename_backend_host(rabbit_lab, "kilo")
    second = create_volume(clients)
    refused = clients.openstack("volume", "backup", "create", second["id"])
    assert refused.returncode == 1
    # openstacksdk's rendering of Cinder's computeFault.
    assert "500" in refused.stderr and "Service cinder-backup could not be found." in refused.stderr


def test_current_release_fails_after_the_202(rabbit_lab: RabbitLab) -> None:
    """Today's API checks no backup service: it answers 202, and the scheduler (with
    ``backup_use_same_host``, Kilo's rule) ends the backup ``error``."""
    clients, _api = start_lab(rabbit_lab, "current", "backup_use_same_host = true\n")
    rename_backend_host(rabbit_lab, "current", option="backend_host")
    volume = create_volume(clients)
    assert volume["os-vol-host-attr:host"] == "new_host_name@ceph#ceph"
    created = table(ok(clients.cinder("backup-create", volume["id"])))
    wait_until(lambda: db.backup_get(created["id"]).status != "creating", 60, what="backup")
    shown = table(ok(clients.cinder("backup-show", created["id"])))
    assert shown["status"] == "error", shown
    assert shown["fail_reason"] == "Service not found for creating backup."
    wait_until(lambda: db.volume_get(volume["id"]).status == "available", 30, what="volume")
