"""The append-only points ledger (spec §8.2: points and won are separate; the rate applies at
payout).

Entries: ``(member_id, half, kind, points, run_id, reference, created_at)`` with kind
``settlement`` (first result of a half) or ``adjustment`` (the delta after corrected inputs).
Unique on (member, half, kind, run): one run never writes two entries of a kind for a member
and half. Nothing here updates or deletes an entry; the ORM refuses to (core.models.points).

Invariant: for every statement, ``statement.points == Σ ledger points (member, half)``;
:func:`ledger_mismatches` checks it set-based (tests, `cpoint ledger-check`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db_bulk import bulk_insert, db_time
from core.models.points import LedgerEntry
from core.sqla import table_of

SETTLEMENT = "settlement"
ADJUSTMENT = "adjustment"
KINDS = (SETTLEMENT, ADJUSTMENT)


def append_entries(conn: Connection, rows: Sequence[dict]) -> int:
    """Bulk append: rows of member_id, half, kind, points, run_id, reference, created_at."""
    if not rows:
        return 0
    for row in rows:
        if row["kind"] not in KINDS:
            raise ValueError(f"unknown ledger kind {row['kind']!r}")
    cols = ("member_id", "half", "kind", "points", "run_id", "reference", "created_at")
    bulk_insert(conn, table_of(LedgerEntry),
                [(r["member_id"], r["half"], r["kind"], r["points"], r["run_id"], r["reference"],
                  db_time(conn, r["created_at"])) for r in rows], cols, ready=True)
    return len(rows)


def balance(session: Session, member_id: int, half: str | None = None) -> int:
    """Σ points of a member, for one half or all halves."""
    q = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.member_id == member_id)
    if half is not None:
        q = q.where(LedgerEntry.half == half)
    return int(session.execute(q).scalar_one())


def entries(session: Session, member_id: int, half: str | None = None) -> list[LedgerEntry]:
    q = select(LedgerEntry).where(LedgerEntry.member_id == member_id)
    if half is not None:
        q = q.where(LedgerEntry.half == half)
    return list(session.scalars(q.order_by(LedgerEntry.id)))


def ledger_mismatches(session: Session, half: str | None = None) -> list[tuple[int, str, int, int]]:
    """(member_id, half, statement points, ledger sum) wherever they differ."""
    where = "WHERE s.half = :half" if half else ""
    rows = session.execute(text(
        "SELECT s.member_id, s.half, s.points, COALESCE(l.total, 0) FROM point_statements s"
        " LEFT JOIN (SELECT member_id, half, SUM(points) AS total FROM points_ledger"
        " GROUP BY member_id, half) l ON l.member_id = s.member_id AND l.half = s.half "
        f"{where}"), {"half": half} if half else {}).all()
    return [(m, h, p, int(t)) for m, h, p, t in rows if int(t) != p]


def entry_rows(member_id: int, half: str, kind: str, points: int, run_id: int, reference: str,
               now: datetime) -> dict:
    return {"member_id": member_id, "half": half, "kind": kind, "points": points,
            "run_id": run_id, "reference": reference, "created_at": now}


def total_points(rows: Iterable[dict]) -> int:
    return sum(r["points"] for r in rows)
