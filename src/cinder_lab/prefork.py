"""What a launcher does once before forking its children, so they share the parent's pages.

Lab-only; Cinder's launcher (oslo.service's ProcessLauncher) does none of it,
which matters little with one child per backend on a large host but doubles
the memory of a lab running fifty. Each forked child writes to every page it
touches: the imports it makes after the fork, and the objects the garbage
collector walks (every collection touches each tracked object's header, which
copies its page). So the parent imports what the children will (the
messaging driver, the database dialect, the RPC executor) and freezes its
objects out of the collector's reach (``gc.freeze()``, as CPython's docs advise
for pre-fork servers).
"""

from __future__ import annotations

import gc
import importlib

from cinder_lab import rpc
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import engine

# Imported by each child's rpc.init / first query; loaded here once, then shared.
CHILD_IMPORTS = (
    "futurist",
    "oslo_messaging._drivers.impl_rabbit",
    "oslo_messaging._drivers.impl_fake",
    "kombu.transport.pyamqp",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlite3",
)


def warm_imports() -> None:
    """Import what every child would import after the fork (missing ones are skipped)."""
    for name in CHILD_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def prepare() -> None:
    """Call once in the parent before the first fork: warm imports, then freeze the heap.

    The parent also creates or checks the tables once (``db.get_engine``), so no
    child does it again: fifty children each reflecting every table, on one
    SQLite file, would queue on its write lock.
    """

    warm_imports()
    # What each child's first steps would build: the messaging driver and its options
    # (found through the entry points of every installed package), the ORM's mappers,
    # the engine's compiled statements. A transport connects only when first used.
    if not rpc.initialized():
        rpc.init(CONF)
        rpc.cleanup()
    engine.warm_up()
    db.service_get_all()
    if not config.is_kilo():  # Kilo has no workers table
        db.worker_get_all(0)
    engine.release_connections()
    gc.freeze()


_PREPARED = False


def before_fork() -> None:
    """Before each fork: the first time ``prepare()``; every time, no pooled DB connection."""
    global _PREPARED
    if not _PREPARED:
        prepare()
        _PREPARED = True
    engine.release_connections()
