"""The database engine and sessions; mirrors cinder/db/sqlalchemy/api.py's engine facade.

The engine comes from ``[database] connection``: a SQLite file by default, any
SQLAlchemy URL (``mysql+pymysql://`` for MariaDB) otherwise. Tables are created
on first use with the configured release's columns (``db/models.py``); a
database of the other release is refused before anything is written. The lab
has no migration scripts: one database per release.

MariaDB differs from SQLite in ways the lab absorbs here: several services
create the tables at once (``CREATE TABLE IF NOT EXISTS``), and it reads each
statement at READ COMMITTED so a long transaction sees other processes' rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from cinder_lab import exception, utils
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import models

_LOCK = threading.Lock()
_ENGINE: Engine | None = None
_ENGINE_URL: str | None = None  # as configured; rendering the engine's URL per session costs
# URLs whose tables this process (or the parent it was forked from) created or checked.
_SCHEMA_READY: set[str] = set()


def _make_engine(url: str) -> Engine:
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})

            event.listen(engine, "connect", _sqlite_pragmas)

        else:
            # READ COMMITTED: every statement sees what other processes committed,
            # even inside one transaction (InnoDB's default would pin a snapshot).
            engine = create_engine(
                parsed, pool_pre_ping=True, pool_recycle=3600, isolation_level="READ COMMITTED"
            )
    except (ArgumentError, NoSuchModuleError, ValueError) as e:
        raise exception.ConfigError(
            reason=f"bad [database] connection {utils.mask_url(url)}: {utils.one_line(e)}"
        ) from None
    if url not in _SCHEMA_READY:
        # Once per URL: a launcher checks before forking, and its children need not again.
        try:
            check_release(engine, url)
            create_tables(engine)
        except (AttributeError, TypeError, LookupError, ValueError) as e:
            # The driver choked on the URL's options (pymysql on ?charset=nope, ?bogus=1).
            raise exception.ConfigError(
                reason=f"bad [database] connection {utils.mask_url(url)}: the {parsed.drivername} "
                f"driver refused its options: {type(e).__name__}: {utils.one_line(e)}"
            ) from None
        _SCHEMA_READY.add(url)
    return engine


def parse_url(url: str) -> URL:
    """``[database] connection`` as SQLAlchemy reads it, or a ConfigError that does not echo it.

    SQLAlchemy ends the password at its *first* ``@`` (oslo.messaging at the last):
    a second ``@`` is a password that needed ``%40``.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    # Two '@' before the options: SQLAlchemy cut the password at the first, and the rest
    # (a piece of the password) would be shown as the host in the driver's error.
    two_ats = url.split("?", 1)[0].count("@") > 1
    if parsed is None or (two_ats and parsed.get_backend_name() != "sqlite"):
        raise exception.UnparseableURL(option="[database] connection", parser="SQLAlchemy")
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    """WAL, so readers never wait for the writer; synchronous=NORMAL, so a commit costs no fsync.

    Several service processes share one file. In WAL mode NORMAL syncs only at
    checkpoints: a commit survives a crash of any process (the crash bookkeeping
    of ``workers`` rows included), and only a power cut may lose the last ones.
    """
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def create_tables(engine: Engine) -> None:
    """Create the release's tables unless they exist; safe when several services start at once.

    ``metadata.create_all`` checks, then creates: two processes can both see no
    table and the second fails on MariaDB. ``IF NOT EXISTS`` leaves it to the server.
    """
    with engine.begin() as conn:
        for table in models.metadata().sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))


def release_of(engine: Engine) -> str | None:
    """Which release's ``services`` table the database has: ``kilo``, ``current``, None
    (no table yet), or ``unknown`` (neither: another program's, or an older lab's)."""
    inspector = inspect(engine)
    if not inspector.has_table("services"):
        return None
    have = {c["name"] for c in inspector.get_columns("services")}
    for release in models.RELEASES:
        if have == set(models.classes(release).Service.__table__.c.keys()):
            return release
    return "unknown"


def check_release(engine: Engine, url: str) -> None:
    """ConfigError, before anything is written, when the database is another release's.

    Each release has its own columns (docs/releases.md): a Kilo database has no
    ``rpc_current_version`` for today's pinning to read, today's has columns
    Kilo never wrote. Use one database per release.
    """
    found, wanted = release_of(engine), config.release()
    if found is None or found == wanted:
        return
    where = utils.mask_url(url)
    if found == "unknown":
        raise exception.ConfigError(
            reason=f"database {where} has a services table of neither release "
            f"(an older cinder-lab's?); lab_release = {wanted} needs a new database"
        )
    raise exception.ConfigError(
        reason=f"database {where} was created with lab_release = {found} "
        f"({RELEASE_NAMES[found]}); this is lab_release = {wanted} "
        f"({RELEASE_NAMES[wanted]}): use one database per release"
    )


RELEASE_NAMES = {"kilo": "Cinder 2015.1.4", "current": "today's Cinder"}


def get_engine() -> Engine:
    """The process's engine for ``[database] connection``, made on first use."""
    global _ENGINE, _ENGINE_URL
    with _LOCK:
        url = CONF.database.connection
        if _ENGINE is None or _ENGINE_URL != url:
            if _ENGINE is not None:
                _ENGINE.dispose()
            _ENGINE = _make_engine(url)
            _ENGINE_URL = url
        return _ENGINE


def dispose_engine() -> None:
    """Drop pooled connections and the engine; the next use makes and checks a new one."""
    global _ENGINE, _ENGINE_URL
    with _LOCK:
        if _ENGINE is not None:
            _ENGINE.dispose()
        _ENGINE = _ENGINE_URL = None
        _SCHEMA_READY.clear()


def release_connections() -> None:
    """Close pooled connections only; call before fork so children never share one.

    The engine stays, with its compiled statements and checked tables: a forked
    child opens its own connections through it and shares those pages.
    """
    with _LOCK:
        if _ENGINE is not None:
            _ENGINE.dispose()


def warm_up() -> None:
    """Build what a service's first queries build (mappers, compiled statements), then roll back.

    For a launcher about to fork: its children find it made and share its pages
    instead of each building a private copy (about 8 MiB each). Nothing is kept.
    """
    from sqlalchemy import orm, select

    orm.configure_mappers()
    now = utils.utcnow()
    with Session(get_engine()) as s:
        s.scalars(select(models.Service).filter_by(host="", binary="")).all()
        values = {"host": "", "binary": "", "topic": "", "report_count": 0}
        row = models.Service(availability_zone="", **values)
        s.add(row)
        s.flush()
        row.report_count, row.updated_at = 1, now
        s.flush()
        s.get(models.Service, row.id)
        s.rollback()


@contextmanager
def session() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(get_engine(), expire_on_commit=False) as s, s.begin():
        yield s


# MariaDB's answers when the database itself is gone (dropped, or dropped and made
# again empty), as opposed to unreachable or locked out, which may pass.
_GONE = {1049: "ER_BAD_DB_ERROR", 1146: "ER_NO_SUCH_TABLE"}


def database_gone(error: BaseException) -> str | None:
    """The server's one line when ``error`` says the database (or its tables) is gone.

    SQLite's file deleted or replaced is noticed by the file's identity instead
    (``Service.database_lost``); this is the same rule for a server database.
    """
    orig = getattr(error, "orig", None)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _GONE:
        return f"{_GONE[args[0]]}: {str(args[-1]).splitlines()[0]}"
    return None
