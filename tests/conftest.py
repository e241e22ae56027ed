"""Shared fixtures: a lab config in a temp dir, the in-process lab, the real broker.

Also the run's rules: a test that uses a service's fixture carries that service's
marker (``make test-fast`` leaves them out), and the run ends with one line per
group of skipped tests, naming the command that would enable them.
"""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinder_lab import memory_tap, rpc
from cinder_lab.common import config
from cinder_lab.db import api as db
from tests.broker import Vhost, require_broker
from tests.mariadb import Database, require_mariadb

# The fixtures that need a service, and the marker each gives every test using it.
FIXTURE_MARKERS = {
    "vhost": "broker",  # and so rabbit_lab, mgmt, ...
    "cluster": "broker",  # throwaway RabbitMQ nodes (tests/faults)
    "node": "broker",
    "mariadb": "mariadb",
    "browser": "browser",  # and so page
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("lab_database_url") == "mariadb":
            names.add("mariadb")
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in names:
                item.add_marker(marker)


def pytest_terminal_summary(terminalreporter) -> None:
    """One line per reason a test was skipped (each names the command that enables it);
    with CINDER_LAB_SKIPS set, appended to that file for make to print at the very end."""
    if hasattr(terminalreporter.config, "workerinput"):
        return  # an xdist worker: the controller sees every report
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    lines = [f"{n}\t{reason}" for reason, n in sorted(reasons.items())]
    path = os.environ.get("CINDER_LAB_SKIPS")
    if path:
        with open(path, "a") as f:
            f.writelines(line + "\n" for line in lines)
    elif lines:
        terminalreporter.section("skipped, and what would run them")
        for line in lines:
            n, reason = line.split("\t", 1)
            terminalreporter.write_line(f"skipped {n}: {reason}")


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
