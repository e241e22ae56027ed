"""A SQLite file deleted under a running service is noticed: one error line, then a stop.

Without the check the service went on heartbeating into the unlinked inode
while every new connection created a fresh, empty file: a split brain.
Real processes on ``kombu+memory://`` (no broker needed: each is alone).
"""

from __future__ import annotations

import sqlite3

import pytest

from cinder_lab import utils
from tests.conftest import write_conf
from tests.procs import LabProcess, wait_until


def conf_for(tmp_path, database):
    return write_conf(
        tmp_path / "lab.conf",
        f"""
        [DEFAULT]
        host = maqi-kilo
        transport_url = kombu+memory:////
        enabled_backends = ceph
        report_interval = 1
        [database]
        connection = sqlite:///{database}
        [ceph]
        volume_backend_name = ceph
        """,
    )


def heartbeats(database) -> int:
    try:
        with sqlite3.connect(database) as c:
            return sum(r[0] for r in c.execute("select report_count from services"))
    except sqlite3.OperationalError:  # the service is still creating its tables
        return 0


@pytest.mark.parametrize("script", ["cinder-lab-backup", "cinder-lab-volume"])
@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_service_stops_loudly_when_its_sqlite_file_goes(tmp_path, script, how):
    database = tmp_path / "lab.sqlite"
    proc = LabProcess(script, conf_for(tmp_path, database), tmp_path)
    try:
        wait_until(lambda: database.exists() and heartbeats(database) >= 2, what="heartbeats")
        database.unlink()
        if how == "replaced":
            sqlite3.connect(database).close()  # someone else's new, empty file
        code = proc.proc.wait(timeout=30)
    finally:
        proc.stop()
    out = proc.output()
    errors = [line for line in out.splitlines() if " ERROR " in line]
    assert code == 1, out[-3000:]
    assert len(errors) == 1 and f"was {how}" in errors[0], out[-3000:]
    assert "Traceback" not in out
    # Nothing wrote a new database behind the lost one.
    if how == "deleted":
        assert not database.exists()
    else:
        with sqlite3.connect(database) as c:
            assert c.execute("select count(*) from sqlite_master").fetchone() == (0,)


def test_sqlite_file_names_only_file_databases(tmp_path):
    assert utils.sqlite_file(f"sqlite:///{tmp_path}/a.sqlite") == str(tmp_path / "a.sqlite")
    assert utils.sqlite_file("sqlite:///:memory:") is None
    assert utils.sqlite_file("mysql+pymysql://root@127.0.0.1/lab") is None
    assert utils.sqlite_file("not a url") is None
    assert utils.file_identity(str(tmp_path / "missing")) is None


def mariadb_conf(tmp_path, url):
    return write_conf(
        tmp_path / "lab.conf",
        f"""
        [DEFAULT]
        host = maqi-kilo
        transport_url = kombu+memory:////
        enabled_backends = ceph
        report_interval = 1
        [database]
        connection = {url}
        [ceph]
        volume_backend_name = ceph
        """,
    )


@pytest.mark.parametrize(
    "script", ["cinder-lab-backup", "cinder-lab-volume", "cinder-lab-scheduler"]
)
@pytest.mark.parametrize("how", ["dropped", "dropped and made again, empty"])
def test_a_service_stops_loudly_when_its_mariadb_database_is_dropped(
    tmp_path, mariadb, script, how
):
    from tests.mariadb import sql

    proc = LabProcess(script, mariadb_conf(tmp_path, mariadb.url), tmp_path)
    try:

        def beats() -> int:
            try:
                return sum(r[0] for r in sql("select report_count from services", mariadb.name))
            except Exception:  # the service is still creating its tables
                return 0

        try:
            # A loaded machine may take a while to fork and reach MariaDB: a bound, not a pace.
            wait_until(lambda: beats() >= 2, timeout=60, what="heartbeats")
        except AssertionError as e:
            raise AssertionError(f"{e}; the service said: {proc.output()[-2000:]}") from None
        sql(f"DROP DATABASE {mariadb.name}")
        if how != "dropped":
            sql(f"CREATE DATABASE {mariadb.name}")
        code = proc.proc.wait(timeout=30)
    finally:
        proc.stop()
    out = proc.output()
    errors = [line for line in out.splitlines() if " ERROR " in line]
    assert code == 1, out[-3000:]
    assert len(errors) == 1 and "the database is gone" in errors[0], out[-3000:]
    # Unknown database (a new connection) or no such table (a pooled one): either says it.
    assert "ER_BAD_DB_ERROR" in errors[0] or "ER_NO_SUCH_TABLE" in errors[0], errors[0]
    assert "Traceback" not in out and mariadb.password not in out
    if how != "dropped":  # nothing wrote a new schema into the empty one
        assert sql(f"SHOW TABLES FROM {mariadb.name}") == []
