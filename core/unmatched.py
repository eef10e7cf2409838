"""The queue of questions the bot did not understand (or only as a close call), for operators.

``record`` (or, on the chat's hot path, ``Buffer.add`` with ``row_values``) keeps one typed message with the classifier's top guesses; every run of four or more
digits (separators between them included, full-width digits too) and every e-mail address is
masked first, so a customer number, account, phone number or e-mail typed by mistake is never
stored. The caller (bot.router) never
records text typed at a personal-data step. ``groups`` counts them by normalised text for the
dashboard, ``export_csv`` writes the same as CSV, ``purge`` removes rows older than the
retention (the scheduler's housekeeping, UNMATCHED_RETENTION_DAYS)."""
from __future__ import annotations

import atexit
import io
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from core import spreadsheet
from core.db import Database
from core.db_bulk import bulk_insert
from core.models.unmatched import UnmatchedQuestion
from core.pii import mask_addresses, mask_names
from core.sqla import table_of

log = logging.getLogger("cpoint.unmatched")

MASK = "****"
TEXT_MAX = 300
_DIGIT_RUN = re.compile(r"\d(?:[\s.\-_/]*\d){3,}")
# local@domain.tld, also with spaces typed around the @ or the dots (phone keyboards add them)
_EMAIL = re.compile(r"[\w.+\-]+\s*@\s*[\w\-]+(?:\s*\.\s*[A-Za-z0-9\-]+)+", re.ASCII)
_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


_NOT_JAMO = re.compile(r"[^\u3131-\u318e]+")


def _nfkc(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), except the lone jamo citizens type
    (ㅋㅋ, ㅇㅇ), which NFKC turns into conjoining jamo that show as broken letters."""
    if unicodedata.is_normalized("NFKC", text):  # nearly every message: nothing to do
        return text
    return _NOT_JAMO.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def mask_digits(text: str) -> str:
    """Every e-mail address, and every run of 4+ digits (spaces, dots, dashes or slashes
    between them allowed) -> ****."""
    t = _nfkc(text or "")
    return _DIGIT_RUN.sub(MASK, _EMAIL.sub(MASK, t) if "@" in t else t)


def mask_personal(text: str) -> str:
    """`mask_digits`, `mask_addresses` and `mask_names`: what is kept of a citizen's typed
    question carries no number, e-mail, address number or name they wrote in it."""
    return mask_names(mask_addresses(mask_digits(text)))


def group_key(text: str) -> str:
    """What groups messages: masked, NFKC, lower case, no punctuation, single spaces."""
    parts = [_PUNCT.sub(" ", p) for p in mask_digits(text).lower().split(MASK)]
    return _SPACE.sub(" ", " # ".join(parts)).strip()[:TEXT_MAX] or "#"


def record(session: Session, now: datetime, text: str, outcome: str, guesses: Sequence[tuple[str, float]] = (),
           local_government_code: str | None = None) -> UnmatchedQuestion | None:
    values = row_values(now, text, outcome, guesses, local_government_code)
    if values is None:
        return None
    row = UnmatchedQuestion(**values)
    session.add(row)
    return row


def row_values(now: datetime, text: str, outcome: str, guesses: Sequence[tuple[str, float]] = (),
               local_government_code: str | None = None) -> dict | None:
    """The queue row of one message (digit runs masked), or None when nothing is left."""
    masked, normalised = _masked(text)
    if not masked:
        return None
    return {"created_at": now, "text": masked, "normalised": normalised, "outcome": outcome,
            "guesses": ", ".join(f"{i} {s:.2f}" for i, s in guesses)[:200],
            "local_government_code": local_government_code}


@lru_cache(maxsize=4096)
def _masked(text: str) -> tuple[str, str]:
    """(masked text, group key): citizens repeat the same phrasings, so both are remembered."""
    masked = _SPACE.sub(" ", mask_personal(text)).strip()[:TEXT_MAX]
    return masked, group_key(masked) if masked else ""


class Buffer:
    """Queued questions written in batches, in a transaction of their own: a citizen's turn
    never waits for (or holds the write lock for) operator telemetry. Rows wait at most
    `max_age` seconds or `max_rows` rows; 0 seconds writes each row at once (tests). A crash
    loses at most that window of telemetry, never a citizen's data."""

    def __init__(self, max_age: float = 5.0, max_rows: int = 500, now: Callable[[], float] = time.monotonic):
        self.max_age, self.max_rows, self._now = max_age, max_rows, now
        self._rows: list[dict] = []
        self._since = 0.0
        self._lock = threading.Lock()
        self._db: Database | None = None
        atexit.register(self._at_exit)  # a worker that stops writes what it holds

    def _at_exit(self) -> None:
        if self._db is not None:
            self.flush(self._db)

    def add(self, db: Database, values: dict | None) -> None:
        if values is None:
            return
        self._db = db
        with self._lock:
            if not self._rows:
                self._since = self._now()
            self._rows.append(values)
            due = len(self._rows) >= self.max_rows or self._now() - self._since >= self.max_age
            rows, self._rows = (self._rows, []) if due else ([], self._rows)
        if rows:
            self._write(db, rows)

    def flush(self, db: Database) -> None:
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            self._write(db, rows)

    @staticmethod
    def _write(db: Database, rows: list[dict]) -> None:
        try:
            with db.engine.begin() as conn:  # through the driver: Core's per-row work cost more than the row
                bulk_insert(conn, table_of(UnmatchedQuestion), rows)
        except Exception:  # telemetry must never break a reply
            log.exception("unmatched questions not written (%d)", len(rows))


@dataclass(frozen=True)
class Group:
    normalised: str
    count: int
    close_calls: int
    first_seen: datetime
    last_seen: datetime
    example: str  # the latest message of the group
    guesses: str  # its top guesses


def _scoped(q, scope):
    clause = scope.where(UnmatchedQuestion.local_government_code) if scope is not None else None
    return q.where(clause) if clause is not None else q


def groups(session: Session, scope=None, limit: int | None = 200) -> list[Group]:
    """Messages grouped by normalised text, most frequent first (then the latest)."""
    Q = UnmatchedQuestion
    q = _scoped(select(Q.normalised, func.count(), func.sum(case((Q.outcome == "close", 1), else_=0)),
                       func.min(Q.created_at), func.max(Q.created_at), func.max(Q.id))
                .group_by(Q.normalised)
                .order_by(func.count().desc(), func.max(Q.created_at).desc(), Q.normalised), scope)
    if limit is not None:
        q = q.limit(limit)
    rows = session.execute(q).all()
    latest = {r.id: r for r in session.scalars(select(Q).where(Q.id.in_([row[5] for row in rows])))} if rows else {}
    return [Group(key, n, int(close or 0), first, last, latest[last_id].text, latest[last_id].guesses)
            for key, n, close, first, last, last_id in rows]


def total(session: Session, scope=None) -> int:
    return session.scalar(_scoped(select(func.count()).select_from(UnmatchedQuestion), scope)) or 0


CSV_HEADER = ("normalised", "count", "close_calls", "first_seen", "last_seen", "example", "guesses")


def export_csv(session: Session, scope=None) -> tuple[str, int]:
    out = io.StringIO()
    w = spreadsheet.writer(out, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    found = groups(session, scope, limit=None)
    for g in found:
        w.writerow([g.normalised, g.count, g.close_calls, g.first_seen.isoformat(sep=" ", timespec="seconds"),
                    g.last_seen.isoformat(sep=" ", timespec="seconds"), g.example, g.guesses])
    return "\ufeff" + out.getvalue(), len(found)


def purge(session: Session, now: datetime, days: int) -> int:
    """Delete the messages older than `days` days; the number deleted."""
    result = session.execute(delete(UnmatchedQuestion).where(UnmatchedQuestion.created_at < now - timedelta(days=days)))
    return int(getattr(result, "rowcount", 0) or 0)
