"""Each release's database has that release's tables and columns (tests/cinder_schema.py),
on SQLite and MariaDB, and a database of one release is refused by the other."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from cinder_lab import exception
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import engine, models
from cinder_lab.lab import Lab
from tests import cinder_schema

BOTH_DATABASES = pytest.mark.parametrize("lab_database_url", ["sqlite", "mariadb"], indirect=True)


@pytest.fixture(params=["kilo", "current"])
def release(request, memory_conf):
    CONF.set_override("lab_release", request.param)
    # No heartbeat thread beats during a test: each reads the row as it was left.
    CONF.set_override("report_interval", 600)
    CONF.set_override("service_down_time", 1200)
    yield request.param
    for name in ("lab_release", "report_interval", "service_down_time"):
        CONF.clear_override(name)
    db.dispose_engine()


def _columns() -> dict[str, set[str]]:
    inspector = inspect(db.get_engine())
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


@BOTH_DATABASES
def test_each_table_has_its_releases_columns(release):
    have = _columns()
    cinder = cinder_schema.TABLES[release]
    # Kilo has no workers table (Newton); today's has one.
    assert set(have) == set(cinder) & {"services", "volumes", "backups", "workers"}
    assert have["services"] == cinder["services"]
    for table, columns in have.items():
        lab_only = models.LAB_ONLY.get(table, set())
        assert not lab_only & cinder[table], f"{table}: a LAB_ONLY column is Cinder's"
        assert columns - lab_only <= cinder[table], f"{table}: {columns - lab_only - cinder[table]}"
    assert ("previous_status" in have["volumes"]) is (release == "current")


@BOTH_DATABASES
def test_a_fresh_services_row_is_as_cinder_leaves_it(release):
    lab = Lab()
    try:
        lab.start_backup()
        row = db.service_get_by_args("maqi-kilo", "cinder-backup")
        expected = cinder_schema.FRESH_SERVICE[release]
        got = {name: getattr(row, name) for name in expected}
    finally:
        lab.close()
    for name, value in expected.items():
        if value is cinder_schema.SET:
            assert got[name] is not None, name
        else:
            assert got[name] == value, name


def test_a_deleted_services_row_is_created_again(release):
    lab = Lab()
    try:
        service = lab.start_backup()
        with db.session() as s:
            s.delete(s.get(models.Service, service.service_id))
        service.report_state()
        row = db.service_get_by_args("maqi-kilo", "cinder-backup")
        assert (row.id, row.report_count) == (service.service_id, 1)
    finally:
        lab.close()


@BOTH_DATABASES
def test_a_database_of_the_other_release_is_refused_unchanged(memory_conf):
    CONF.set_override("lab_release", "current")
    try:
        before = _columns()
        db.dispose_engine()
        CONF.set_override("lab_release", "kilo")
        with pytest.raises(exception.ConfigError) as refused:
            db.get_engine()
        message = str(refused.value)
        assert "lab_release = current (today's Cinder)" in message
        assert "this is lab_release = kilo (Cinder 2015.1.4)" in message
        assert "\n" not in message
        CONF.set_override("lab_release", "current")
        db.dispose_engine()
        assert _columns() == before
        assert engine.release_of(db.get_engine()) == "current"
    finally:
        CONF.clear_override("lab_release")
        db.dispose_engine()
