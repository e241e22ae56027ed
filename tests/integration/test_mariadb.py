"""Where MariaDB differs from SQLite, the lab behaves the same on both.

Each MariaDB test has its own database (the ``mariadb`` fixture), dropped after.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from cinder_lab import exception
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.db import engine as engine_module
from cinder_lab.db import models
from tests.mariadb import sql
from tests.procs import BIN

BOTH = pytest.mark.parametrize("lab_database_url", ["sqlite", "mariadb"], indirect=True)


@pytest.fixture
def database(lab_database_url, tmp_path):
    """CONF pointed at the test's database."""
    path = tmp_path / "db.conf"
    path.write_text(f"[database]\nconnection = {lab_database_url}\n")
    config.parse_args(["--config-file", str(path)])
    yield lab_database_url
    db.dispose_engine()


@BOTH
def test_timestamps_keep_microseconds(database):
    row = db.service_create({"host": "maqi-kilo", "binary": "cinder-backup", "topic": "t"})
    db.service_heartbeat(row.id)
    stored = db.service_get_by_args("maqi-kilo", "cinder-backup")
    assert stored.created_at == row.created_at
    assert stored.updated_at is not None and stored.updated_at > stored.created_at
    # Volumes made in one second still list in creation order.
    ids = [db.volume_create({"size": 1, "status": "available"}).id for _ in range(5)]
    assert [v.id for v in db.volume_get_all()] == ids


@BOTH
def test_hosts_differing_only_in_case_are_different_services(database):
    for host in ("maqi-kilo", "MAQI-KILO"):
        db.service_create({"host": host, "binary": "cinder-backup", "topic": "cinder-backup"})
    assert db.service_get_by_args("MAQI-KILO", "cinder-backup").host == "MAQI-KILO"
    assert db.service_get_by_args("maqi-kilo", "cinder-backup").host == "maqi-kilo"
    with pytest.raises(exception.HostBinaryNotFound):
        db.service_get_by_args("Maqi-Kilo", "cinder-backup")


@BOTH
def test_over_long_reasons_are_clipped_not_refused(database):
    backup = db.backup_create({"volume_id": "v" * 36, "status": "creating"})
    db.backup_update(backup.id, {"status": "error", "fail_reason": "x" * 1000})
    stored = db.backup_get(backup.id)
    assert stored.status == "error"
    assert stored.fail_reason == "x" * 252 + "..."


@BOTH
def test_disabled_is_a_real_boolean(database):
    row = db.service_create({"host": "h", "binary": "cinder-backup", "topic": "cinder-backup"})
    db.service_update(row.id, {"disabled": True})
    assert db.service_get_all(disabled=False) == []
    assert [s.disabled for s in db.service_get_all(disabled=True)] == [True]


def test_services_starting_together_create_the_tables_once(mariadb):
    # Four services start at once in the compose lab: none may fail on "table exists".
    engines = [create_engine(mariadb.url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    errors: list[Exception] = []

    def create(engine):
        barrier.wait()
        try:
            engine_module.create_tables(engine)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=create, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert errors == []
    tables = {r[0] for r in sql("SHOW TABLES", mariadb.name)}
    assert tables == {"services", "volumes", "backups"}  # Kilo (the default): no workers


@pytest.mark.parametrize("lab_database_url", ["mariadb"], indirect=True)
def test_a_transaction_sees_other_processes_commits(database):
    """InnoDB's REPEATABLE READ would pin the first read; the lab reads committed data."""
    row = db.service_create({"host": "maqi-kilo", "binary": "cinder-backup", "topic": "t"})
    query = select(models.Service.report_count).where(models.Service.id == row.id)
    with Session(db.get_engine()) as session, session.begin():
        assert session.scalar(query) == 0
        # Another process heartbeats while this transaction is open.
        beat = (
            "from cinder_lab.common import config; from cinder_lab.db import api as db; "
            f"config.parse_args([]); db.service_heartbeat({row.id})"
        )
        out = subprocess.run(
            [sys.executable, "-c", beat],
            env={"OS_DATABASE__CONNECTION": database, "PATH": str(BIN)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert session.scalar(query) == 1


def test_unknown_database_is_one_line_with_the_password_masked(tmp_path):
    from tests.mariadb import require_mariadb

    require_mariadb()
    conf = tmp_path / "bad.conf"
    conf.write_text(
        "[database]\n"
        "connection = mysql+pymysql://root:s3cret@127.0.0.1:3306/cinder_lab_no_such_db\n"
    )
    out = subprocess.run(
        [str(BIN / "cinder-lab"), "--config-file", str(conf), "service-list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "cinder_lab_no_such_db" in out.stderr and "***" in out.stderr
    assert "s3cret" not in out.stderr + out.stdout
