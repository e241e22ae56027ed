"""Shared fixtures: a lab config in a temp dir, the in-process lab, the real broker."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinder_lab import memory_broker, rpc
from cinder_lab.common import config
from cinder_lab.db import api as db
from tests.broker import Vhost, require_broker
from tests.mariadb import mariadb  # noqa: F401 - a fixture for every test


def write_conf(path: Path, text: str) -> Path:
    """Write a dedented config file and return its path."""
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def memory_conf(tmp_path: Path) -> Iterator[Path]:
    """A maqi-kilo config on kombu+memory:// with SQLite in tmp_path, parsed into CONF."""
    path = write_conf(
        tmp_path / "cinder-lab.conf",
        f"""
        [DEFAULT]
        host = maqi-kilo
        transport_url = kombu+memory:////
        enabled_backends = ceph
        report_interval = 1
        service_down_time = 3
        rpc_response_timeout = 5
        [database]
        connection = sqlite:///{tmp_path}/lab.sqlite
        [ceph]
        volume_backend_name = ceph
        """,
    )
    config.parse_args(["--config-file", str(path)])
    memory_broker.install()
    memory_broker.reset()
    yield path
    rpc.cleanup()
    db.dispose_engine()
    memory_broker.reset()


@pytest.fixture
def vhost() -> Iterator[Vhost]:
    """A fresh vhost on the real RabbitMQ, deleted after the test."""
    require_broker()
    v = Vhost().create()
    try:
        yield v
    finally:
        v.delete()
