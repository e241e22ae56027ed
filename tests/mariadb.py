"""The MariaDB of this machine (127.0.0.1:3306, root, no password), one database per test."""

from __future__ import annotations

import os
import uuid

import pymysql
import pytest

HOST, PORT, USER = "127.0.0.1", 3306, "root"


def _connect(database: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(
        host=HOST, port=PORT, user=USER, password="", database=database, connect_timeout=3
    )


def mariadb_available() -> bool:
    """True when MariaDB answers on 127.0.0.1:3306 as root with no password."""
    try:
        _connect().close()
        return True
    except pymysql.err.MySQLError:
        return False


def require_mariadb() -> None:
    """Skip without MariaDB; under CI (CI=true) fail instead."""
    if mariadb_available():
        return
    message = f"MariaDB is not reachable on {HOST}:{PORT} as {USER} (run .ci/services.sh)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def sql(statement: str, database: str | None = None) -> list[tuple]:
    """Run one statement as root and return its rows."""
    conn = _connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            rows = list(cur.fetchall())
        conn.commit()
        return rows
    finally:
        conn.close()


class Database:
    """A throwaway database ``cinder_lab_test_<hex>``: the lab's tables die with it."""

    def __init__(self) -> None:
        self.name = f"cinder_lab_test_{uuid.uuid4().hex[:12]}"
        self.url = f"mysql+pymysql://{USER}@{HOST}:{PORT}/{self.name}?charset=utf8mb4"

    def create(self) -> Database:
        sql(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        return self

    def drop(self) -> None:
        sql(f"DROP DATABASE IF EXISTS `{self.name}`")

    def exists(self) -> bool:
        return bool(sql(f"SHOW DATABASES LIKE '{self.name}'"))
