"""Records that could stay ``creating`` for good, on the real broker, and the way out.

Each with the real ``cinder`` client against cinder-lab-api, on SQLite and on
MariaDB: a backup today's scheduler sends to a cinder-backup that stopped for
good (Cinder's scheduler reads only its reports), a volume left ``creating`` by
an API killed between its INSERT and its cast, and a client of one release
against services of the other, refused before it writes anything.
"""

from __future__ import annotations

import pytest

from cinder_lab.db import api as db
from tests.integration.conftest import RabbitLab
from tests.integration.test_api_clients import create_volume, ok, start_lab, table
from tests.procs import run_cli, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow]


pytestmark.append(
    # Each test on SQLite and on a fresh MariaDB database (dropped after the services stop).
    pytest.mark.parametrize("lab_database_url", ["sqlite", "mariadb"], indirect=True)
)


@pytest.fixture
def lab_on(rabbit_lab: RabbitLab) -> RabbitLab:
    return rabbit_lab


def test_a_backup_sent_to_a_gone_cinder_backup_and_the_way_out(lab_on: RabbitLab) -> None:
    clients, api = start_lab(lab_on, "current")
    conf = lab_on.tmp / "maqi-kilo-current.conf"
    volume = create_volume(clients)
    backup_proc = next(p for p in lab_on.procs if p.script == "cinder-lab-backup")
    assert lab_on.stop(backup_proc) == 0
    wait_until(
        lambda: (
            db.service_get_by_args("maqi-kilo", "cinder-backup").updated_at is not None
            and "down" in ok(run_cli(conf, "service-list", "--binary", "cinder-backup"))
        ),
        30,
        what="cinder-backup maqi-kilo down",
    )
    # The scheduler still holds its last report: it picks maqi-kilo and casts on.
    backup_id = table(ok(clients.cinder("backup-create", volume["id"])))["id"]
    wait_until(lambda: db.backup_get(backup_id).host == "maqi-kilo", 30, what="a host chosen")
    assert db.backup_get(backup_id).status == "creating"
    assert db.volume_get(volume["id"]).status == "backing-up"

    # route and topology point at the message waiting in the gone service's queue.
    explained = ok(run_cli(conf, "route", volume["id"]))
    assert f"STUCK: backup {backup_id}'s create_backup waits in cinder-backup.maqi-kilo" in (
        explained
    )
    wait_until(
        lambda: "1 message(s) waiting, 0 consumer(s)" in ok(run_cli(conf, "route", volume["id"])),
        30,
        what="the broker to count the waiting message",
    )
    topo = ok(run_cli(conf, "topology"))
    assert "!! DEAD END: cinder-backup.maqi-kilo: nobody consumes it" in topo

    # As in Cinder, resetting a backup needs an up cinder-backup: none is left.
    refused = clients.cinder("backup-reset-state", "--state", "error", backup_id)
    assert refused.returncode == 1
    assert "Service cinder-backup could not be found. (HTTP 404)" in refused.stderr
    assert db.backup_get(backup_id).status == "creating"
    # Another machine's cinder-backup comes up; the operator resets both records.
    other = lab_on.conf("other", "other-host", extra_default="lab_release = current")
    lab_on.start("cinder-lab-backup", other)
    wait_until(
        lambda: "up" in ok(run_cli(conf, "service-list", "--host", "other-host")),
        30,
        what="cinder-backup other-host up",
    )
    accepted = ok(clients.cinder("backup-reset-state", "--state", "error", backup_id))
    assert f"Request to update backup '{backup_id}' has been accepted." in accepted
    ok(clients.cinder("reset-state", "--state", "available", volume["id"]))
    assert table(ok(clients.cinder("backup-show", backup_id)))["status"] == "error"
    assert table(ok(clients.cinder("show", volume["id"])))["status"] == "available"
    assert "Traceback" not in api.output()


@pytest.mark.parametrize("release", ["kilo", "current"])
def test_a_volume_left_creating_by_a_killed_api_is_reset(lab_on: RabbitLab, release) -> None:
    clients, api = start_lab(lab_on, release)
    # What cinder-api leaves when it dies between writing the row and casting.
    stuck = db.volume_create({"size": 1, "status": "creating", "availability_zone": "nova"})
    ok(clients.cinder("reset-state", "--state", "error", stuck.id))
    assert db.volume_get(stuck.id).status == "error"
    refused = clients.cinder("reset-state", "--state", "deleting", stuck.id)
    # cinderclient prints the API's message on stdout, its own verdict on stderr.
    assert refused.returncode == 1 and "Cannot reset-state to deleting" in refused.stdout
    assert "Unable to reset the state for the specified entity(s)." in refused.stderr
    # The lab's own client, in its own process (no [api] endpoint): the same rules.
    conf = lab_on.tmp / f"maqi-kilo-{release}.conf"
    ok(run_cli(conf, "reset-state", "--state", "available", stuck.id))
    assert db.volume_get(stuck.id).status == "available"
    assert "Traceback" not in api.output()


@pytest.mark.parametrize(("services", "client", "refusal"), [
    ("current", "kilo", "created with lab_release = current"),
    ("kilo", "current", "created with lab_release = kilo"),
])  # fmt: skip
def test_a_client_of_the_other_release_writes_nothing(lab_on: RabbitLab, services, client, refusal):
    """The services' database says which release they speak: the client of the other
    release refuses it at open, before it writes or sends anything (db/engine.py)."""
    start_lab(lab_on, services)
    conf = lab_on.tmp / f"maqi-kilo-{services}.conf"
    other = lab_on.tmp / "other-release.conf"
    other.write_text(
        conf.read_text().replace(f"lab_release = {services}", f"lab_release = {client}")
    )
    before = (len(db.volume_get_all()), len(db.backup_get_all()))
    out = run_cli(other, "create", "1")
    assert out.returncode == 1, out.stdout + out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert refusal in line and "Traceback" not in out.stderr, line
    assert (len(db.volume_get_all()), len(db.backup_get_all())) == before
