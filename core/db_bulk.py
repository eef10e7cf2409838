"""Database bulk helpers for batch work (settlement, payouts, the ledger, monthly results).

- :func:`bulk_insert`: many rows through the driver (COPY on PostgreSQL, executemany on SQLite),
  without the ORM's or Core's per-row processing.
- :func:`insert_ignore`: many rows, skipping those whose unique key is already there.
- :func:`json_text`: a JSON column's value as the driver takes it.
- :func:`db_time`: a datetime as the driver takes it for a DateTime column.
- :func:`tune_connection` / :func:`reset_connection`: session settings of one batch connection.
- :func:`analyze_temporary`: statistics for temporary tables (autovacuum never analyses them).

Nothing here knows about points or members: it is plumbing shared by the batch jobs.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from core.db import sqlite_time

# pysqlite cannot bind Decimal; the bulk writers below hand it Decimals directly (SQLAlchemy
# itself converts before binding, so this changes nothing for it). Text keeps them exact.
sqlite3.register_adapter(Decimal, str)

SQLITE_CACHE_KB = 131072  # 128 MB page cache for the batch connection (default is 2 MB)
SQLITE_DEFAULT_CACHE_KB = 2000  # SQLite's own default, given back to a pooled connection
PG_WORK_MEM = "128MB"     # hash aggregates of the staging query stay in memory


def bulk_insert(conn: Connection, table: Table, rows: Sequence, columns: Sequence[str] | None = None,
                *, ready: bool = False) -> None:
    """Insert many rows through the driver: COPY on PostgreSQL, executemany on SQLite. Rows are
    dicts, or tuples in the order of ``columns``. JSON columns are serialised; on SQLite,
    dates and datetimes are written in the form SQLAlchemy reads back. ``ready``: the tuples
    are already in driver form (JSON as text, datetimes as :func:`db_time` gives them)."""
    if not rows:
        return
    if ready:
        if columns is None:
            raise ValueError("ready rows are tuples: name their columns")
        _driver_insert(conn, table, rows, columns)
        return
    if columns is None:
        cols = list(rows[0])
        rows = [tuple(r[c] for c in cols) for r in rows]
    else:
        cols = list(columns)
    json_idx = [i for i, c in enumerate(cols) if table.c[c].type.__class__.__name__ == "JSON"]
    if json_idx:
        def dump(row):
            row = list(row)
            for i in json_idx:
                if row[i] is not None:
                    row[i] = json_text(row[i])
            return row
        rows = [dump(r) for r in rows]
    if conn.dialect.name == "postgresql":
        _driver_insert(conn, table, rows, cols)  # COPY takes Python values as they are
        return

    def converter(column):
        kind = column.type.__class__.__name__
        if kind == "Numeric":
            return str
        if kind == "DateTime":
            return sqlite_time
        if kind == "Date":
            return date.isoformat
        return None

    convs = [(i, f) for i, c in enumerate(cols) if (f := converter(table.c[c])) is not None]
    if convs:
        def convert(row):
            row = list(row)
            for i, f in convs:
                if row[i] is not None:
                    row[i] = f(row[i])
            return row
        rows = [convert(r) for r in rows]
    _driver_insert(conn, table, rows, cols)


def json_text(value: Any) -> str:
    """A JSON column's text: orjson (several times faster than the standard library), or
    json.dumps for what orjson refuses (Decimals, keys that are not strings)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Sequence], columns: Sequence[str],
                  conflict: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING of many rows in driver form (tuples in the
    order of ``columns``: JSON as :func:`json_text`, datetimes as :func:`db_time` give them),
    through the driver's executemany (pipelined on psycopg)."""
    if not rows:
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
           f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
    raw = driver_connection(conn)
    cur = raw.cursor()
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()


def driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under ``conn`` (sqlite3 or psycopg), for work that bypasses
    SQLAlchemy. SQLAlchemy types it as optional: it is None only once the pooled connection
    was invalidated, which a connection in use must not be."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection was invalidated: no driver connection")
    return raw


def _driver_insert(conn: Connection, table: Table, rows: Sequence, cols: Sequence[str]) -> None:
    raw = driver_connection(conn)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    cur = raw.cursor()
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()


def db_time(conn: Connection, value: datetime):
    """A naive UTC datetime as the driver should receive it for a DateTime column."""
    return value if conn.dialect.name == "postgresql" else sqlite_time(value)


def tune_connection(conn: Connection, share: int = 1) -> None:
    """Session settings for one batch connection (settlement, monthly results, the bench's
    floor): a larger page cache and in-memory temporary tables on SQLite, work_mem on
    PostgreSQL. They end with the connection (it is not returned to the pool changed: the
    SQLite settings only size caches; PostgreSQL's are RESET by :func:`reset_connection`)."""
    if conn.dialect.name == "sqlite":
        raw = driver_connection(conn)  # outside any transaction (pysqlite autocommit)
        # ``share``: processes working side by side split the page cache between them
        raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB // max(1, share)}")
        raw.execute("PRAGMA temp_store = MEMORY")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET work_mem = '{PG_WORK_MEM}'")
        conn.commit()


def reset_connection(conn: Connection) -> None:
    """Undo :func:`tune_connection` before the connection goes back to the pool."""
    if conn.dialect.name == "sqlite":
        raw = driver_connection(conn)
        raw.execute(f"PRAGMA cache_size = -{SQLITE_DEFAULT_CACHE_KB}")
        raw.execute("PRAGMA temp_store = DEFAULT")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("RESET work_mem")
        conn.commit()


def analyze_temporary(conn: Connection, *names: str) -> None:
    """Statistics for temporary tables, which autovacuum never analyses. A small sample is
    enough for the few plans they take part in (the default one costs a quarter second on a
    wide table of 150,000 rows)."""
    conn.execute(text("SET LOCAL default_statistics_target = 10"))
    for name in names:
        conn.execute(text(f"ANALYZE {name}"))
    conn.execute(text("SET LOCAL default_statistics_target = DEFAULT"))
