"""Fault tests: a count of sent, served and lost per test, printed at the end of the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import pytest
from sqlalchemy.orm import Session

from cinder_lab.db import api as db
from cinder_lab.db import models
from tests.broker import require
from tests.faults import rabbit_node
from tests.integration.conftest import rabbit_lab  # noqa: F401 - the fixture, re-exported

COUNTS: list[str] = []


@pytest.fixture(scope="package")
def cluster() -> Iterator[rabbit_node.RabbitCluster]:
    """Three throwaway clustered nodes with the management plugin, for this package's tests."""
    why = rabbit_node.can_run()
    require(why is None, f"{why} (sudo make test)")
    c = rabbit_node.RabbitCluster(management=True)
    try:
        c.start()
        yield c
    finally:
        c.destroy()


@pytest.fixture
def report() -> Callable[..., str]:
    """``report(name, sent=, served=, lost=)``: print one count line and keep it for the summary."""

    def record(name: str, **counts: int) -> str:
        line = f"{name}: " + " ".join(f"{k}={v}" for k, v in counts.items())
        print(line)
        COUNTS.append(line)
        return line

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    if COUNTS:
        terminalreporter.section("fault counts")
        for line in COUNTS:
            terminalreporter.write_line(line)


class Sent(NamedTuple):
    """What backup/rpcapi.py reads of a backup: its id and the host to cast to."""

    id: str
    host: str


def prepare_backups(count: int, host: str = "maqi-kilo", volume_host: str = "maqi-kilo@ceph#ceph"):
    """``count`` volumes ``backing-up`` and their backups ``creating``, as backup/api.py leaves
    them just before it casts; one transaction, so 1,000 take a moment, not a minute."""
    volumes = [
        models.Volume(
            id=f"00000000-0000-4000-8000-{i:012d}", size=1, status="backing-up", host=volume_host
        )
        for i in range(count)
    ]
    backups = [
        models.Backup(
            id=f"00000000-0000-4000-9000-{i:012d}", volume_id=v.id, status="creating", host=host
        )
        for i, v in enumerate(volumes)
    ]
    pairs = [(b.id, v.id) for b, v in zip(backups, volumes, strict=True)]
    with Session(db.get_engine()) as s, s.begin():
        s.add_all(volumes + backups)
    return pairs


def backup_statuses() -> dict[str, int]:
    """status -> number of backups."""
    counts: dict[str, int] = {}
    for b in db.backup_get_all():
        counts[b.status] = counts.get(b.status, 0) + 1
    return counts
