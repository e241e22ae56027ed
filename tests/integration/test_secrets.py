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

from tests.broker import HOST, PORT, add_user, delete_user
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
