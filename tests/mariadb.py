"""A throwaway MariaDB database and user per test, on the machine's MariaDB (never stopped).

The user has a password (so tests can grep logs for it) and can be locked out
and let back in, which is how a test makes "the database unavailable" without
touching the shared server.
"""

from __future__ import annotations

import uuid

import pymysql

from tests.broker import SETUP, require

HOST, PORT = "127.0.0.1", 3306


def _root(database: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(
        host=HOST,
        port=PORT,
        user="root",
        password="",
        database=database,
        autocommit=True,
        connect_timeout=3,
    )


def mariadb_available() -> bool:
    """True when MariaDB answers on 127.0.0.1:3306 as root with no password."""
    try:
        _root().close()
        return True
    except pymysql.err.MySQLError:
        return False


def require_mariadb() -> None:
    """The local MariaDB, or skip (fail under CI)."""
    require(
        mariadb_available(),
        f"MariaDB is not reachable as root on {HOST}:{PORT} ({SETUP})",
    )


def sql(statement: str, database: str | None = None) -> list[tuple]:
    """Run one statement as root and return its rows."""
    conn = _root(database)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())
    finally:
        conn.close()


class Database:
    """``cinderlab_<hex>``, owned by user ``cinderlab_<hex>`` with a distinctive password."""

    def __init__(self, password: str | None = None) -> None:
        self.name = f"cinderlab_{uuid.uuid4().hex[:10]}"
        self.user = self.name
        self.password = password or f"Db{uuid.uuid4().hex[:12]}Pw"
        self.url = (
            f"mysql+pymysql://{self.user}:{self.password}@{HOST}:{PORT}/{self.name}?charset=utf8mb4"
        )

    def _sql(self, *statements: str) -> list:
        conn = _root()
        try:
            with conn.cursor() as cur:
                rows: list = []
                for statement in statements:
                    cur.execute(statement)
                    rows = list(cur.fetchall())
                return rows
        finally:
            conn.close()

    def create(self) -> Database:
        self._sql(
            f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4",
            f"CREATE USER '{self.user}'@'{HOST}' IDENTIFIED BY '{self.password}'",
            f"CREATE USER '{self.user}'@'localhost' IDENTIFIED BY '{self.password}'",
            f"GRANT ALL ON {self.name}.* TO '{self.user}'@'{HOST}'",
            f"GRANT ALL ON {self.name}.* TO '{self.user}'@'localhost'",
        )
        return self

    def lock(self) -> None:
        """The database goes away for this user: new logins fail, open sessions are killed."""
        self._sql(
            f"ALTER USER '{self.user}'@'{HOST}' ACCOUNT LOCK",
            f"ALTER USER '{self.user}'@'localhost' ACCOUNT LOCK",
        )
        for (conn_id,) in self._sql(
            f"SELECT id FROM information_schema.processlist WHERE user = '{self.user}'"
        ):
            try:
                self._sql(f"KILL {int(conn_id)}")
            except pymysql.err.MySQLError:
                pass  # already gone

    def unlock(self) -> None:
        self._sql(
            f"ALTER USER '{self.user}'@'{HOST}' ACCOUNT UNLOCK",
            f"ALTER USER '{self.user}'@'localhost' ACCOUNT UNLOCK",
        )

    def dump(self) -> list[tuple]:
        """Every row of every table, for before/after comparisons."""
        tables = [r[0] for r in self._sql(f"SHOW TABLES FROM {self.name}")]
        rows: list[tuple] = []
        for table in sorted(tables):
            rows += [(table, *r) for r in self._sql(f"SELECT * FROM {self.name}.{table}")]
        return rows

    def exists(self) -> bool:
        return bool(self._sql(f"SHOW DATABASES LIKE '{self.name}'"))

    def drop(self) -> None:
        self._sql(
            f"DROP DATABASE IF EXISTS {self.name}",
            f"DROP USER IF EXISTS '{self.user}'@'{HOST}'",
            f"DROP USER IF EXISTS '{self.user}'@'localhost'",
        )
