"""No password of the transport URL or the database URL in any log, output or error line.

A broker user and a MariaDB user of their own, with distinctive passwords; the
services and the client run on them, then on wrong passwords and on
unreachable hosts; every byte they printed is searched for the passwords.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from cinder_lab.db import api as db
from tests.broker import HOST, PORT, add_user, ctl, delete_user
from tests.mariadb import Database
from tests.procs import BIN, run_cli, wait_until
from tests.services import all_up


@pytest.fixture
def broker_user(vhost):
    """A user with a distinctive password on the test's vhost, deleted after."""
    user, password = f"labsec_{uuid.uuid4().hex[:8]}", f"Mq{uuid.uuid4().hex[:12]}Pw"
    add_user(user, password, vhost.name)
    try:
        yield user, password
    finally:
        delete_user(user)


def run_script(script: str, conf, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / script), "--config-file", str(conf)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_no_password_in_any_log_or_error(broker_user, mariadb, rabbit_lab):
    user, password = broker_user
    secrets = [password, mariadb.password, "WrongMqPw1", "WrongDbPw2"]
    url = f"rabbit://{user}:{password}@{HOST}:{PORT}/{rabbit_lab.vhost.name}"
    rabbit_lab.vhost.url = url
    rabbit_lab.db_url = mariadb.url
    conf = rabbit_lab.conf(
        "kilo", "maqi-kilo", {"ceph": "ceph"}, extra_default="rpc_connect_retries = 1"
    )
    printed: list[str] = []

    procs = [
        rabbit_lab.start(s, conf)
        for s in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler")
    ]
    wait_until(all_up(("cinder-volume", "maqi-kilo@ceph"), ("cinder-backup", "maqi-kilo")))
    wait_until(lambda: run_cli(conf, "get-pools", "-f", "value").stdout.strip(), what="pools")
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume_id = json.loads(out.stdout)["id"]
    for args in (
        ("backup-create", volume_id, "--wait"),
        ("service-list",),
        ("show", volume_id),
        ("--debug", "list"),
    ):
        out = run_cli(conf, *args)
        assert out.returncode == 0, out.stderr
        printed += [out.stdout, out.stderr]

    # Failure paths: each must fail in one line, without the password it was given.
    bad = {
        "wrong broker password": (url.replace(password, "WrongMqPw1"), mariadb.url),
        "unreachable broker": (f"rabbit://{user}:{password}@{HOST}:1/", mariadb.url),
        "wrong db password": (url, mariadb.url.replace(mariadb.password, "WrongDbPw2")),
        "unreachable db": (url, mariadb.url.replace(":3306/", ":1/")),
    }
    failures = 0
    for name, (transport, database) in bad.items():
        rabbit_lab.vhost.url, rabbit_lab.db_url = transport, database
        bad_conf = rabbit_lab.conf(
            name.replace(" ", "-"),
            "maqi-kilo",
            {"ceph": "ceph"},
            extra_default="rpc_connect_retries = 1",
        )
        runs = [run_cli(bad_conf, "create", "1"), run_cli(bad_conf, "service-list")]
        runs += [run_script(s, bad_conf) for s in ("cinder-lab-backup", "cinder-lab-volume")]
        for out in runs:
            printed += [out.stdout, out.stderr]
            if out.returncode != 0:
                failures += 1
                assert len(out.stderr.strip().splitlines()) == 1, (name, out.stderr)
                assert "Traceback" not in out.stderr, (name, out.stderr)
    # Every bad run fails, except service-list when only the broker is bad.
    assert failures == 14, failures

    codes = rabbit_lab.stop_all()
    assert all(c == 0 for c in codes.values()), codes
    printed += [p.output() for p in procs]
    text = "\n".join(printed)
    assert "***" in text, "the failure lines should show the masked URL"
    for secret in secrets:
        assert secret not in text, f"{secret} leaked"


@pytest.fixture
def odd_passwords(vhost):
    """A broker user and a MariaDB user whose passwords hold '@' and '/', dropped after."""
    parts = [uuid.uuid4().hex[:10] for _ in range(4)]
    # A '/' in a broker password is refused: oslo.messaging 18 hands it to kombu unescaped.
    broker = (f"labsec_{parts[0][:8]}", f"Mq{parts[0]}@{parts[1]}Pw")
    database = Database(password=f"Db{parts[2]}@{parts[3]}/Pw")
    ctl("add_user", *broker)
    database.create()
    try:
        ctl("set_permissions", "-p", vhost.name, broker[0], ".*", ".*", ".*")
        yield broker, database, parts
    finally:
        ctl("delete_user", broker[0])
        db.dispose_engine()
        database.drop()


@pytest.mark.parametrize("release", ["kilo", "current"])
def test_passwords_with_at_and_slash(odd_passwords, rabbit_lab, release):
    """Masked as oslo.messaging and SQLAlchemy read them (the host after the last '@'); a URL
    neither can read is refused in one line, not echoed. Real broker, MariaDB."""
    (user, password), database, parts = odd_passwords
    vhost = rabbit_lab.vhost.name
    # oslo.messaging takes a raw '@' (the last one ends the password).
    good_transport = f"rabbit://{user}:{password}@{HOST}:{PORT}/{vhost}"
    # SQLAlchemy takes a raw '/', not a raw '@' (its first '@' ends the password).
    db_password = database.password.replace("@", "%40")
    good_db = f"mysql+pymysql://{database.user}:{db_password}@127.0.0.1:3306/{database.name}"
    printed: list[str] = []
    # A fresh database per release: today's scheduler refuses a Kilo-era row.
    rabbit_lab.vhost.url, rabbit_lab.db_url = good_transport, good_db
    conf = rabbit_lab.conf(
        release, "maqi-kilo", {"ceph": "ceph"}, extra_default=f"lab_release = {release}"
    )
    procs = [
        rabbit_lab.start(s, conf)
        for s in ("cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler")
    ]
    wait_until(all_up(("cinder-volume", "maqi-kilo@ceph"), ("cinder-backup", "maqi-kilo")))
    wait_until(lambda c=conf: run_cli(c, "get-pools", "-f", "value").stdout.strip(), what="pools")
    out = run_cli(conf, "create", "1", "--wait", "-f", "json")
    assert out.returncode == 0, out.stderr
    volume_id = json.loads(out.stdout)["id"]
    for args in (("backup-create", volume_id, "--wait"), ("--debug", "service-list")):
        out = run_cli(conf, *args)
        assert out.returncode == 0, out.stderr
        printed += [out.stdout, out.stderr]
    codes = rabbit_lab.stop_all()
    assert all(c == 0 for c in codes.values()), codes
    printed += [p.output() for p in procs]

    before = database.dump()
    bad = {
        "raw slash in transport": (good_transport.replace("@", "/", 1), good_db, "transport_url"),
        "encoded slash": (good_transport.replace("@", "%2F", 1), good_db, "holding '/'"),
        "raw at in database": (good_transport, good_db.replace("%40", "@"), "[database]"),
        "unreachable broker": (good_transport.replace(f":{PORT}/", ":1/"), good_db, "***@"),
        "unreachable database": (good_transport, good_db.replace(":3306/", ":1/"), "***@"),
    }
    for name, (transport, database_url, expect) in bad.items():
        rabbit_lab.vhost.url, rabbit_lab.db_url = transport, database_url
        bad_conf = rabbit_lab.conf(
            name.replace(" ", "-"),
            "maqi-kilo",
            {"ceph": "ceph"},
            "",
            f"rpc_connect_retries = 0\nlab_release = {release}",
        )
        runs = [run_cli(bad_conf, "create", "1")]
        runs += [run_script(s, bad_conf) for s in ("cinder-lab-backup", "cinder-lab-volume")]
        for out in runs:
            printed += [out.stdout, out.stderr]
            (line,) = out.stderr.strip().splitlines()
            assert out.returncode != 0 and expect in line, (name, line)
    assert database.dump() == before
    text = "\n".join(printed)
    for part in parts:
        assert part not in text, f"a piece of a password leaked: {part}"
