"""Database plumbing: declarative base, engine and session factory, transactions.

Knows nothing of Flask. The web app, the CLI, the scheduler and the tests each build one
`Database` from a URL and share it within their process.
"""
from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


@dataclass(frozen=True)
class Deadlines:
    """How long the database may keep a caller waiting, in seconds (None: no limit).

    A web process keeps them all under Kakao's 5 seconds, so a citizen gets our apology and
    not Kakao's error when the database hangs; the scheduler and operator commands use longer
    ones (settlement statements run long). `statement` is PostgreSQL's statement_timeout
    (lock waits included); on SQLite a statement waits for a lock at most `busy`."""

    connect: float | None = None
    statement: float | None = None
    pool: float | None = None
    busy: float = 10.0


def _sqlite_pragmas(dbapi_conn, _record, busy: float = 10.0) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
    cur.close()


def _sqlite_begin(conn) -> None:
    # pysqlite's implicit BEGIN is deferred; two writers could then both read the same row
    # before either writes. IMMEDIATE takes the write lock at BEGIN, so such work is
    # serialised (SQLite is the single-machine default). Mostly-read work (chat turns) opts
    # into a deferred BEGIN: in WAL mode a stale read that later writes fails with
    # SQLITE_BUSY instead of losing an update, and the caller retries (see is_write_conflict).
    # Straight to the driver: this runs on every transaction, and the statement needs none of
    # SQLAlchemy's execution machinery.
    raw = conn.connection.driver_connection
    raw.execute("BEGIN" if conn.get_execution_options().get("sqlite_deferred") else "BEGIN IMMEDIATE")


def is_deadline(exc: BaseException) -> bool:
    """The database did not answer in time: a lock held too long (SQLite busy, PostgreSQL
    lock_timeout) or a statement cancelled by statement_timeout."""
    orig = getattr(exc, "orig", None)
    return is_write_conflict(exc) or getattr(orig, "sqlstate", None) in ("57014", "55P03")


def is_write_conflict(exc: BaseException) -> bool:
    """SQLite refused a write because another transaction wrote first (retry the unit)."""
    orig = getattr(exc, "orig", None)
    text = str(orig or exc).lower()
    return "database is locked" in text or "database is busy" in text or "busy_snapshot" in text


def driver_fetchone(conn: Connection, sql: str, params: tuple) -> tuple | None:
    """One short read straight on the driver, inside ``conn``'s transaction: for the few
    statements that run on every chat turn, where SQLAlchemy's per-statement execution
    machinery costs more than the indexed lookup itself. ``sql`` is in the driver's own
    paramstyle (``?`` for sqlite3, ``%s`` for psycopg; core.dialog_store keeps one statement
    per database); values come back as the driver gives them (see ``driver_datetime``).
    Driver errors are wrapped as SQLAlchemy's, without parameters, like every other
    statement's."""
    return _fetchone(conn.connection.driver_connection, conn.dialect, sql, params)


def _fetchone(raw, dialect, sql: str, params: tuple, fetch: bool = True) -> tuple | None:
    cur = None
    try:
        cur = raw.cursor()
        cur.execute(sql, params)
        return cur.fetchone() if fetch else None
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error,
                                  hide_parameters=True, dialect=dialect) from exc
    finally:
        if cur is not None:
            cur.close()


class LazyTransaction:
    """A unit of work that opens its transaction only when it needs one.

    `read` before that runs on the thread's read connection outside any transaction
    (`Database.read_fetchone`: each read sees the latest committed data); the first use of
    `conn` opens the real one, a Core connection as `Database.connect` gives it, and runs the `on_open` callbacks in it (for
    instance to check that what was read before is still so). Chat turns that only answer from
    static content then never pay for BEGIN/COMMIT and the pool round trip. Use as a context
    manager: commits on success, rolls back on an exception."""

    def __init__(self, db: Database, *, deferred: bool = False) -> None:
        self._db, self._deferred = db, deferred
        self._cm: AbstractContextManager[Connection] | None = None  # Database.connect() context once opened
        self._conn: Connection | None = None
        self.on_open: list = []

    @property
    def opened(self) -> bool:
        return self._conn is not None

    def read(self, sql: str, params: tuple) -> tuple | None:
        """One row; ``sql`` in the driver's own paramstyle (see `driver_fetchone`)."""
        if self._conn is not None:
            return driver_fetchone(self._conn, sql, params)
        return self._db.read_fetchone(sql, params)

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            cm = self._db.connect(deferred=self._deferred)
            conn = cm.__enter__()
            self._cm, self._conn = cm, conn
            for callback in self.on_open:
                callback(conn)
        return self._conn

    def __enter__(self) -> LazyTransaction:
        return self

    def __exit__(self, *exc) -> bool:
        if self._cm is None:
            return False
        cm, self._cm, self._conn = self._cm, None, None
        return bool(cm.__exit__(*exc))


def driver_datetime(value) -> datetime | None:
    """A DateTime column as the driver returns it: SQLite stores ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def sqlite_time(value: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy stores a DateTime on SQLite (the driver is handed
    it straight): 'YYYY-MM-DD HH:MM:SS.ffffff', so stored values compare as text."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def driver_json(value):
    """A JSON column as the driver returns it: SQLite stores text, psycopg parses it. orjson:
    the balance turn decodes its prepared view (a few KB) on every tap."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _owner_only(url: str) -> None:
    """A SQLite database file holds names, mobiles and addresses: create it readable by its
    owner only, and take group and other permissions off an existing one (SQLite gives its
    -wal and -shm files the database file's permissions)."""
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        # Never open an existing file: closing any descriptor of it releases every POSIX lock
        # this process's SQLite connections hold on it, and another process closing its last
        # connection then takes itself for the last one and deletes the -wal and -shm files
        # under ours (their later commits are lost to everyone else). os.stat and os.chmod
        # take no descriptor.
        if not os.path.exists(path):
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:  # another process created it just now
                pass
        for name in (path, path + "-wal", path + "-shm"):
            if os.path.exists(name):
                mode = os.stat(name).st_mode & 0o777
                if mode & 0o077:
                    os.chmod(name, mode & 0o700)
    except OSError:  # a read-only or foreign file: SQLite reports what matters when it opens it
        pass


def make_engine(url: str, deadlines: Deadlines | None = None, **kw) -> Engine:
    # Statement parameters carry names and mobiles: keep them out of exception messages and
    # therefore out of logged tracebacks.
    kw.setdefault("hide_parameters", True)
    limits = deadlines or Deadlines()
    if url.startswith("sqlite"):
        _owner_only(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": limits.busy}, **kw)
        event.listen(engine, "connect", lambda conn, rec: _sqlite_pragmas(conn, rec, limits.busy))

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _rec):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kw.setdefault("pool_pre_ping", True)
    if limits.pool is not None:
        kw.setdefault("pool_timeout", limits.pool)
    connect_args = dict(kw.pop("connect_args", {}))
    if limits.connect is not None:  # libpq counts whole seconds, at least 2
        connect_args.setdefault("connect_timeout", max(2, math.ceil(limits.connect)))
    if limits.statement is not None:
        ms = max(1, int(limits.statement * 1000))
        connect_args["options"] = f"{connect_args.get('options', '')} -c statement_timeout={ms}".strip()
    return create_engine(url, connect_args=connect_args, **kw)


class Database:
    def __init__(self, url: str, *, deadlines: Deadlines | None = None, **engine_kw) -> None:
        self.url = url
        self.deadlines = deadlines or Deadlines()
        self.engine = make_engine(url, self.deadlines, **engine_kw)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._deferred_engine = self.engine.execution_options(sqlite_deferred=True)
        self._deferred = sessionmaker(self._deferred_engine, expire_on_commit=False)
        self._reads = threading.local()  # .conn, .pid: this thread's read connection

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def session(self) -> Session:
        return self.Session()

    @contextmanager
    def transaction(self, *, deferred: bool = False) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception.

        On SQLite the write lock is taken at BEGIN unless `deferred` (mostly-read units that
        retry on `is_write_conflict`). PostgreSQL ignores the flag."""
        factory = self._deferred if deferred else self.Session
        with factory() as s, s.begin():
            yield s

    @contextmanager
    def connect(self, *, deferred: bool = False) -> Iterator[Connection]:
        """A Core connection in one transaction (commit on success), for hot paths that would
        pay more for the ORM session than for their queries; see `transaction` for `deferred`."""
        with (self._deferred_engine if deferred else self.engine).begin() as conn:
            yield conn

    def read_fetchone(self, sql: str, params: tuple) -> tuple | None:
        """One short read outside any transaction, on a driver connection this thread keeps
        (autocommit, detached from the pool): the reads that start every chat turn then cost
        neither a pool checkout and checkin nor a rollback. ``sql`` is in the driver's own
        paramstyle (see `driver_fetchone`). A failed read drops the connection and is tried
        once more on a new one (what the pool's pre-ping did for a dead one), unless it failed
        by a deadline (a lock or statement timeout: trying again would only wait as long)."""
        return self._on_own_connection(sql, params, fetch=True)

    def write_now(self, sql: str, params: tuple) -> None:
        """One small write committed on its own, on the connection `read_fetchone` uses
        (autocommit): for ephemeral per-user state that must stay out of a chat turn's
        versioned transaction (bot.handoff's not-understood streak). Cheap: no pool checkout,
        no BEGIN/COMMIT round trips, and on SQLite that connection commits without an fsync
        (synchronous=NORMAL, set on it alone: only such writes commit through it). Retried as
        a read is, so the statement must be idempotent (an upsert, a delete)."""
        self._on_own_connection(sql, params, fetch=False)

    def _on_own_connection(self, sql: str, params: tuple, *, fetch: bool) -> tuple | None:
        for attempt in (1, 2):
            raw = self._read_connection()
            try:
                return _fetchone(raw, self.engine.dialect, sql, params, fetch=fetch)
            except DBAPIError as exc:
                self._drop_read_connection()
                if attempt == 2 or is_deadline(exc):
                    raise
        raise AssertionError("unreachable")

    def _read_connection(self):
        reads = self._reads
        conn = getattr(reads, "conn", None)
        if conn is None or reads.pid != os.getpid():  # never a connection a forked parent opened
            pooled = self.engine.raw_connection()
            conn = pooled.driver_connection
            pooled.detach()  # ours until the thread ends: the pool never hands it to others
            if conn is None:
                raise RuntimeError("the pool handed out a closed connection")
            if self.is_postgres:
                conn.autocommit = True
            else:
                conn.execute("PRAGMA synchronous=NORMAL")  # see write_now
            reads.conn, reads.pid = conn, os.getpid()
        return conn

    def _drop_read_connection(self) -> None:
        conn, self._reads.conn = getattr(self._reads, "conn", None), None
        if conn is not None and self._reads.pid == os.getpid():
            try:
                conn.close()
            except Exception:  # a dead connection may fail to close; it is gone either way
                pass

    def write_problem(self, conn: Connection) -> str | None:
        """Why this database cannot take writes now, or None; reads only (a health check must
        not write on every call). PostgreSQL: a standby, or sessions read-only by default;
        SQLite: query_only, or a file or directory the process may not write."""
        from sqlalchemy import text

        if self.is_postgres:
            recovery, read_only = conn.execute(text(
                "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")).one()
            if recovery:
                return "the server is a standby (in recovery)"
            return "transactions are read-only" if read_only == "on" else None
        if conn.execute(text("PRAGMA query_only")).scalar():
            return "the connection is query-only"
        from sqlalchemy.engine import make_url

        path = make_url(self.url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            folder = os.path.dirname(os.path.abspath(path))
            if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
                return "the database file or its directory is not writable"
        return None

    def lazy(self, *, deferred: bool = False) -> LazyTransaction:
        """A unit of work whose transaction opens on first need (see LazyTransaction)."""
        return LazyTransaction(self, deferred=deferred)

    def create_all(self) -> None:
        import core.models  # noqa: F401  (registers every table)

        Base.metadata.create_all(self.engine)

    def recreate_all(self) -> None:
        """Drop everything and create the schema afresh (tests, benchmarks, never production).
        On PostgreSQL the whole public schema goes, so whatever an older schema left (keys,
        triggers, functions) cannot stand in the way."""
        import core.models  # noqa: F401

        if self.is_postgres:
            from sqlalchemy import text

            with self.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(self.engine)
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self._drop_read_connection()
        self.engine.dispose()
