"""Shared fixtures: a lab config in a temp dir, the in-process lab, the real broker."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinder_lab import memory_tap, rpc
from cinder_lab.common import config
from cinder_lab.db import api as db
from tests.broker import Vhost, require_broker
from tests.mariadb import Database, require_mariadb


def write_conf(path: Path, text: str) -> Path:
    """Write a config file from literal (dedented) text and return its path.

    For tests about the text itself (bad input, odd layouts); a plain lab config
    goes through the lab's one writer, ``config.write_config``."""
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def mariadb() -> Iterator[Database]:
    """A fresh database on the local MariaDB, dropped after the test."""
    require_mariadb()
    database = Database().create()
    try:
        yield database
    finally:
        db.dispose_engine()
        database.drop()


@pytest.fixture
def lab_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """``[database] connection`` for a test: SQLite in tmp_path, or with
    ``@pytest.mark.parametrize("lab_database_url", ["sqlite", "mariadb"], indirect=True)``
    also an own database on the local MariaDB, dropped after."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path}/lab.sqlite"
        return
    database = request.getfixturevalue("mariadb")
    yield database.url


@pytest.fixture
def memory_conf(tmp_path: Path, lab_database_url: str) -> Iterator[Path]:
    """A maqi-kilo config on kombu+memory:// with ``lab_database_url``, parsed into CONF."""
    path = tmp_path / "cinder-lab.conf"
    config.write_config(
        path,
        {
            "host": "maqi-kilo",
            "transport_url": "kombu+memory:////",
            "enabled_backends": "ceph",
            "report_interval": 1,
            "service_down_time": 3,
            "rpc_response_timeout": 5,
        },
        {"database": {"connection": lab_database_url}, "ceph": {"volume_backend_name": "ceph"}},
    )
    config.parse_args(["--config-file", str(path)])
    memory_tap.install()
    memory_tap.reset()
    yield path
    rpc.cleanup()
    db.dispose_engine()
    memory_tap.reset()


@pytest.fixture
def vhost() -> Iterator[Vhost]:
    """A fresh vhost on the real RabbitMQ, deleted after the test."""
    require_broker()
    v = Vhost().create()
    try:
        yield v
    finally:
        v.delete()
