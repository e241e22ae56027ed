"""The in-process lab as a fixture, for unit tests on kombu+memory://."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cinder_lab.lab import Lab


@pytest.fixture
def lab(memory_conf: Path) -> Iterator[Lab]:
    """Every service of the maqi-kilo config running as threads of this process."""
    lab = Lab()
    lab.start_all()
    assert lab.wait_for_pools(1), "the scheduler never learned the ceph pool"
    yield lab
    lab.close()
