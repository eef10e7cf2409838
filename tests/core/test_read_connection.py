"""Database.read_fetchone: the per-thread connection that the reads starting every chat turn
run on, outside any transaction."""
from __future__ import annotations

import os
import threading
from datetime import datetime

from sqlalchemy import event, text

from core.db import Database


def _state(db: Database, key: str):
    p = "%s" if db.is_postgres else "?"  # the driver's own paramstyle
    return db.read_fetchone(f"SELECT step FROM dialog_states WHERE user_key = {p}", (key,))


def _insert_state(db: Database, key: str, step: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO dialog_states (user_key, step, slots, failures, version,"
                          " updated_at) VALUES (:k, :s, '{}', 0, 1, :now)"),
                     {"k": key, "s": step, "now": datetime(2026, 11, 22, 1, 0)})


def test_one_connection_per_thread_without_pool_checkouts(db):
    checkouts = []

    def count(*_args):
        checkouts.append(1)

    event.listen(db.engine, "checkout", count)
    try:
        _state(db, "warm")  # may open this thread's connection once
        checkouts.clear()
        for _ in range(20):
            _state(db, "nobody")
        assert checkouts == []
        seen = []
        thread = threading.Thread(target=lambda: seen.append(_state(db, "nobody")))
        thread.start()
        thread.join()
        assert seen == [None] and len(checkouts) == 1  # another thread opens its own
    finally:
        event.remove(db.engine, "checkout", count)


def test_reads_see_what_others_committed_since(db):
    assert _state(db, "u-commit") is None
    _insert_state(db, "u-commit", "name")
    assert _state(db, "u-commit") == ("name",)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE dialog_states SET step = 'mobile' WHERE user_key = 'u-commit'"))
    assert _state(db, "u-commit") == ("mobile",)


def test_the_read_connection_holds_no_transaction(db):
    if not db.is_postgres:
        return  # SQLite: autocommit driver mode, nothing to hold
    _state(db, "nobody")
    with db.engine.connect() as conn:
        states = conn.execute(text(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()")).scalars().all()
    assert "idle in transaction" not in states


def test_a_broken_connection_is_replaced_and_the_read_tried_again(db):
    _state(db, "nobody")
    db._reads.conn.close()  # as if the server had dropped it
    assert _state(db, "nobody") is None


def test_a_forked_child_opens_its_own_connection(db):
    _state(db, "nobody")
    parent = db._reads.conn
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: must not touch the parent's connection
        try:
            ok = _state(db, "nobody") is None and db._reads.conn is not parent
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert db._reads.conn is parent and _state(db, "nobody") is None
