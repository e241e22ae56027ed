"""The lab's services as the tests see them: their rows, their pools, their fanout queues."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from cinder_lab import utils
from cinder_lab.db import api as db
from tests.procs import run_cli, wait_until

HEX = re.compile(r"^[0-9a-f]{32}$")


def rows() -> dict[tuple[str, str], bool]:
    """(binary, host) -> up?"""
    return {(s.binary, s.host): utils.service_is_up(s) for s in db.service_get_all()}


def all_up(*keys: tuple[str, str]) -> Callable[[], bool]:
    """A predicate for ``wait_until``: every (binary, host) row is there and up."""
    return lambda: all(rows().get(k) for k in keys)


def fanout_queues(queues, topic: str) -> list[str]:
    """The ``<topic>_fanout_<hex>`` queues among ``queues`` (asserting the hex)."""
    found = [q for q in queues if q.startswith(f"{topic}_fanout_")]
    assert all(HEX.match(q.rsplit("_", 1)[1]) for q in found), found
    return found


def wait_pools(conf: Path, count: int) -> None:
    """Until ``cinder-lab get-pools`` lists ``count`` pools."""

    def pools():
        out = run_cli(conf, "get-pools", "-f", "json")
        return out.returncode == 0 and len(json.loads(out.stdout)) >= count

    wait_until(pools, timeout=30, what=f"{count} pools at the scheduler")
