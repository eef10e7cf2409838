"""DialogStore: where a user's dialog state is read, re-checked and written back, and where
the member's channel friendship is read along with it.

This runs on every chat turn, so the reads go straight to the driver (SQLAlchemy's execution
machinery costs several times the indexed lookup; bench/turn_cost.py), each statement written
once per database in the driver's own paramstyle. The write, rare, goes through SQLAlchemy Core.

A turn uses it in three steps (bot.app.BotApp does):
1. `load` before the turn's transaction opens (`LazyTransaction.read` runs on the thread's
   autocommit read connection): the state, expired past its TTL if so, and the member's reach;
2. `is_current` when the transaction opens: the state read before must still be the stored
   one (on PostgreSQL it also takes the row lock that serialises the user's turns);
3. `save` at the end, only if the turn changed the state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from core.clock import Clock, utcnow_naive
from core.db import Database, LazyTransaction, driver_datetime, driver_fetchone, driver_json, sqlite_time
from core.models import DialogState
from core.sqla import table_of


@dataclass
class StateRecord:
    """The user's dialog state as read at the start of the turn (see DialogState)."""

    user_key: str
    dialog: str | None = None
    step: str | None = None
    slots: dict = field(default_factory=dict)
    failures: int = 0
    expires_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    lang: str | None = None  # the language the user chose for the chat (None: the default)
    stored: bool = False  # a row exists in dialog_states
    dirty: bool = False  # changed during this turn: written back before commit
    expired: str | None = None  # the dialog that had run past its TTL (cleared when read)
    # The user's not-understood streak (miss_streaks): (turns, asked, at) or None; written
    # apart from the state (DialogStore.note_miss / clear_misses), never by `save`.
    misses: tuple | None = None
    misses_stored: bool = False  # a miss_streaks row existed when the turn began
    misses_changed: bool = False  # the turn changed `misses` (bot.handoff writes it after the commit)


_COLUMNS = "dialog, step, slots, failures, expires_at, updated_at, version, lang"


def _statements(p: str) -> dict[str, str]:
    """The store's reads with ``p`` as the driver's placeholder."""
    state = f"SELECT {_COLUMNS} FROM dialog_states WHERE user_key = {p}"
    version = f"SELECT version FROM dialog_states WHERE user_key = {p}"
    misses = f"SELECT turns, asked, at FROM miss_streaks WHERE user_key = {p}"
    return {
        # One read for the two rows every turn looks at: always one row, NULLs where either
        # is missing.
        "state_and_reach": (
            "SELECT d.dialog, d.step, d.slots, d.failures, d.expires_at, d.updated_at, d.version, d.lang,"
            f" d.user_key, m.id, m.is_friend, m.blocked_at, m.status, s.turns, s.asked, s.at"
            f" FROM (SELECT CAST({p} AS VARCHAR) AS k) q"
            " LEFT JOIN dialog_states d ON d.user_key = q.k LEFT JOIN members m ON m.bot_user_key = q.k"
            " LEFT JOIN miss_streaks s ON s.user_key = q.k"),
        # A row lock cannot reach through the outer joins above: a turn that holds its
        # transaction from the start (a rerun) reads the state alone.
        "state_locked": state + " FOR UPDATE",
        "version": version,
        "version_locked": version + " FOR UPDATE",  # serialises concurrent turns of one user
        # The member's channel friendship alone, when the turn's first read is stale.
        "reach": f"SELECT id, is_friend, blocked_at, status FROM members WHERE bot_user_key = {p}",
        "misses": misses,
        # Written on their own after the turn (Database.write_now), never in its transaction.
        "note_miss": (f"INSERT INTO miss_streaks (user_key, turns, asked, at) VALUES ({p}, {p}, {p}, {p})"
                      " ON CONFLICT (user_key) DO UPDATE SET turns = excluded.turns, asked = excluded.asked,"
                      " at = excluded.at"),
        "clear_misses": f"DELETE FROM miss_streaks WHERE user_key = {p}",
    }


_SQLITE = _statements("?")
_POSTGRES = _statements("%s")
_TABLE = table_of(DialogState)


class DialogStore:
    """Dialog-state persistence for one Database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.is_postgres = db.is_postgres
        sql = _POSTGRES if self.is_postgres else _SQLITE
        self._state_and_reach = sql["state_and_reach"]
        self._state_locked = sql["state_locked"]
        self._reach = sql["reach"]
        self._misses, self._note_miss, self._clear_misses = sql["misses"], sql["note_miss"], sql["clear_misses"]
        # SQLite serialises writers itself (the deferred transaction fails on a stale read).
        self._version = sql["version_locked"] if self.is_postgres else sql["version"]

    def load(self, tx: LazyTransaction, user_key: str, clock: Clock) -> tuple[StateRecord, tuple | None]:
        """The user's state and the member's reach: (member id, is_friend, blocked_at, status), () when
        no member has this key, None when not read (a PostgreSQL transaction already open
        locks the state row alone). A dialog past its TTL comes back ended, marked dirty, and
        named in `expired`."""
        if tx.opened and self.is_postgres:
            reach = None
            found = tx.read(self._state_locked, (user_key,))
            misses = tx.read(self._misses, (user_key,))
        else:
            row = tx.read(self._state_and_reach, (user_key,))
            assert row is not None  # the one-row select always returns its row
            reach = () if row[9] is None else tuple(row[9:13])
            found = row[:8] if row[8] is not None else None
            misses = tuple(row[13:16]) if row[13] is not None else None
        if misses is not None:
            misses = (misses[0], misses[1] or "", driver_datetime(misses[2]))
        if found is None:
            return StateRecord(user_key=user_key, misses=misses, misses_stored=misses is not None), reach
        dialog, step, slots, failures, expires_at, updated_at, version, lang = found
        rec = StateRecord(user_key=user_key, dialog=dialog, step=step, slots=driver_json(slots) or {},
                          failures=failures or 0, expires_at=driver_datetime(expires_at),
                          updated_at=driver_datetime(updated_at), version=version or 0, lang=lang,
                          stored=True, misses=misses, misses_stored=misses is not None)
        if rec.dialog and rec.expires_at and rec.expires_at < utcnow_naive(clock):
            rec.expired = rec.dialog
            rec.dialog = rec.step = rec.expires_at = None
            rec.slots, rec.failures, rec.dirty = {}, 0, True
        return rec, reach

    def reach(self, tx: LazyTransaction, user_key: str) -> tuple | None:
        """(member id, is_friend, blocked_at, status) of the member with this key, or None."""
        return tx.read(self._reach, (user_key,))

    def is_current(self, conn: Connection, rec: StateRecord) -> bool:
        """Inside the turn's transaction: is ``rec`` still what is stored? If not, another turn
        of the user changed it meanwhile. On PostgreSQL this takes the state row's lock."""
        now = driver_fetchone(conn, self._version, (rec.user_key,))
        if now is None:
            return not rec.stored
        return rec.stored and (now[0] or 0) == rec.version

    def note_miss(self, user_key: str, turns: int, asked: str, at: datetime) -> None:
        """Store the user's not-understood streak, committed at once on its own."""
        when = at if self.is_postgres else sqlite_time(at)
        self.db.write_now(self._note_miss, (user_key, turns, asked, when))

    def clear_misses(self, user_key: str) -> None:
        self.db.write_now(self._clear_misses, (user_key,))

    @staticmethod
    def save(tx: LazyTransaction, rec: StateRecord, clock: Clock) -> None:
        """Write ``rec`` back in the turn's transaction if the turn changed it (most turns do
        not, and then never open one). Two first turns of one user may race to insert: the
        loser gets an IntegrityError naming dialog_states (and runs again)."""
        if not rec.dirty:
            return
        conn = tx.conn
        values = dict(dialog=rec.dialog, step=rec.step, slots=rec.slots, failures=rec.failures,
                      expires_at=rec.expires_at, updated_at=rec.updated_at or utcnow_naive(clock),
                      version=rec.version + 1, lang=rec.lang)
        if rec.stored:
            conn.execute(_TABLE.update().where(_TABLE.c.user_key == rec.user_key), values)
        else:
            conn.execute(_TABLE.insert(), {"user_key": rec.user_key, **values})
