"""DialogStore on its own (on whichever database the suite runs on): one read for the state and
the member's reach, TTL on read, the re-check when the transaction opens, the lazy write."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from core.clock import FixedClock, utcnow_naive
from core.dialog_store import DialogStore, StateRecord
from core.models import Member
from tests.auxil.support import T0

NOW = utcnow_naive(FixedClock(T0))  # the `clock` fixture's now, as stored


@pytest.fixture
def store(db) -> DialogStore:
    return DialogStore(db)


def load(store, key, clock):
    with store.db.lazy(deferred=True) as tx:
        return store.load(tx, key, clock)


def write(db, key, *, dialog="signup", step="name", expires_at=NOW + timedelta(hours=1), version=1):
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO dialog_states (user_key, dialog, step, slots, failures,"
                          " expires_at, updated_at, version) VALUES (:k, :d, :s, '{\"n\": 1}', 2, :e, :u, :v)"),
                     {"k": key, "d": dialog, "s": step, "e": expires_at, "u": NOW, "v": version})


def bump(db, key):
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE dialog_states SET version = version + 1 WHERE user_key = :k"), {"k": key})


def test_an_unknown_user_has_an_empty_unstored_state_and_no_member(store, clock):
    rec, reach = load(store, "u-none", clock)
    assert rec == StateRecord(user_key="u-none")
    assert reach == ()


def test_the_stored_state_and_the_members_reach_come_in_one_read(store, db, clock, monkeypatch):
    write(db, "u-both")
    with db.transaction() as s:
        s.add(Member(member_type="individual", bot_user_key="u-both", is_friend=False,
                     blocked_at=NOW, joined_at=NOW))
    reads = []
    real = db.read_fetchone
    monkeypatch.setattr(db, "read_fetchone", lambda sql, params: reads.append(sql) or real(sql, params))
    with db.lazy(deferred=True) as tx:
        rec, reach = store.load(tx, "u-both", clock)
        assert not tx.opened  # read outside any transaction
    assert len(reads) == 1
    assert (rec.dialog, rec.step, rec.slots, rec.failures, rec.version) == ("signup", "name", {"n": 1}, 2, 1)
    assert rec.stored and not rec.dirty and rec.expired is None
    assert rec.expires_at == NOW + timedelta(hours=1) and rec.updated_at == NOW
    member_id, is_friend, blocked_at, status = reach
    assert member_id > 0 and not is_friend and blocked_at is not None and status == "active"


def test_a_dialog_past_its_ttl_comes_back_ended_and_dirty(store, db, clock):
    write(db, "u-old", expires_at=NOW - timedelta(seconds=1))
    rec, _ = load(store, "u-old", clock)
    assert rec.expired == "signup"
    assert (rec.dialog, rec.step, rec.slots, rec.failures, rec.expires_at) == (None, None, {}, 0, None)
    assert rec.stored and rec.dirty and rec.version == 1


def test_a_state_without_a_dialog_never_expires(store, db, clock):
    write(db, "u-idle", dialog=None, step=None, expires_at=NOW - timedelta(days=1))
    rec, _ = load(store, "u-idle", clock)
    assert rec.expired is None and not rec.dirty


def test_save_inserts_then_updates_and_counts_versions(store, db, clock):
    with db.lazy(deferred=True) as tx:
        rec, _ = store.load(tx, "u-save", clock)
        rec.dialog, rec.step, rec.slots, rec.dirty = "signup", "mobile", {"a": "가"}, True
        store.save(tx, rec, clock)
    rec, _ = load(store, "u-save", clock)
    assert (rec.dialog, rec.step, rec.slots, rec.version, rec.updated_at) == ("signup", "mobile", {"a": "가"}, 1, NOW)
    with db.lazy(deferred=True) as tx:
        rec, _ = store.load(tx, "u-save", clock)
        rec.step, rec.dirty = "done", True
        store.save(tx, rec, clock)
    rec, _ = load(store, "u-save", clock)
    assert (rec.step, rec.version) == ("done", 2)


def test_save_of_an_unchanged_state_opens_no_transaction(store, db, clock):
    write(db, "u-same")
    with db.lazy(deferred=True) as tx:
        rec, _ = store.load(tx, "u-same", clock)
        store.save(tx, rec, clock)
        assert not tx.opened


def test_is_current_until_another_turn_writes(store, db, clock):
    write(db, "u-race")
    rec, _ = load(store, "u-race", clock)
    with db.connect(deferred=True) as conn:
        assert store.is_current(conn, rec)
    bump(db, "u-race")
    with db.connect(deferred=True) as conn:
        assert not store.is_current(conn, rec)


def test_is_current_fails_when_the_row_appeared_or_went(store, db, clock):
    missing, _ = load(store, "u-new", clock)
    write(db, "u-new")
    with db.connect(deferred=True) as conn:
        assert not store.is_current(conn, missing)
    present, _ = load(store, "u-new", clock)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM dialog_states WHERE user_key = 'u-new'"))
    with db.connect(deferred=True) as conn:
        assert not store.is_current(conn, present)


def test_a_load_inside_an_open_transaction(store, db, clock):
    """A rerun opens its transaction before it reads: PostgreSQL then locks the state row and
    reads it alone (no reach); SQLite reads both as before."""
    write(db, "u-rerun")
    with db.lazy() as tx:
        tx.conn  # noqa: B018
        rec, reach = store.load(tx, "u-rerun", clock)
    assert rec.stored and rec.version == 1
    assert reach == (None if db.is_postgres else ())


def test_postgres_is_current_locks_the_users_row(store, db, clock):
    if not db.is_postgres:
        pytest.skip("SQLite serialises writers with its database lock")
    from sqlalchemy.exc import OperationalError

    write(db, "u-lock")
    rec, _ = load(store, "u-lock", clock)
    with db.connect() as conn:
        assert store.is_current(conn, rec)
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(OperationalError):
                other.execute(text("UPDATE dialog_states SET step = 'x' WHERE user_key = 'u-lock'"))
            other.rollback()


def test_reach_alone_reads_the_members_friendship_in_and_outside_a_transaction(store, db):
    with db.transaction() as s:
        s.add(Member(member_type="individual", bot_user_key="u-reach", is_friend=True, joined_at=NOW))
    with db.lazy(deferred=True) as tx:
        member_id, is_friend, blocked_at, _status = store.reach(tx, "u-reach")
        assert bool(is_friend) and blocked_at is None
        assert store.reach(tx, "u-nobody") is None
        tx.conn  # noqa: B018  (open the transaction: the same read now runs inside it)
        assert store.reach(tx, "u-reach")[0] == member_id
