"""What one chunk of computed members writes (both engines' Python path).

New: statement + lines + a ``settlement`` ledger entry. Changed: the old version goes to
``statement_revisions``, statement and lines are replaced, and one ``adjustment`` entry carries
the delta. Unchanged members are never passed here, so a second run writes nothing.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from core import ledger
from core.clock import utcnow_naive
from core.db_bulk import bulk_insert, db_time
from core.models.points import PointStatement, StatementLine, StatementRevision
from core.settlement.python_engine import Computed, Line
from core.sqla import table_of

LINE_COLUMNS = (
    "statement_id", "member_id", "half", "resource", "account_id", "evaluated", "reason",
    "reason_params", "baseline", "actual", "rate", "band", "reduction_points",
    "maintenance_points", "standard_points", "points", "standard_usage_qualified",
    "earned_reduction", "streak_before", "streak_after", "group_level", "group_n", "group_total",
    "detail")
_RATES: dict[str, Decimal] = {}


def _line_row(statement_id: int, member_id: int, half: str, ln: Line) -> tuple:
    g = ln.group
    rate = None
    if ln.rate_display is not None:
        rate = _RATES.get(ln.rate_display)
        if rate is None:
            rate = _RATES[ln.rate_display] = Decimal(ln.rate_display)
    return (statement_id, member_id, half, ln.resource, ln.account_id, ln.evaluated, ln.reason,
            json.dumps(ln.params) if ln.params else None, ln.baseline, ln.actual, rate, ln.band, ln.reduction,
            ln.maintenance, ln.standard, ln.reduction + ln.maintenance + ln.standard,
            ln.qualified, ln.earned_reduction, ln.streak_before, ln.streak_after,
            g.level if g else None, g.n if g else None, g.total_actual if g else None,
            json.dumps(ln.detail) if ln.detail else None)


STATEMENT_COLUMNS = (
    "member_id", "half", "member_type", "points_table", "schedule", "local_government_code",
    "rate", "points_before_cap", "points", "won_before_cap", "won", "cap_points_per_half",
    "cap_won_per_year", "payout_month", "result_hash", "settlement_run_id", "updated_at",
    "status", "version", "created_at")


def _statement_values(c: Computed, half: str, run_id: int, now: datetime) -> dict:
    return {
        "member_id": c.member_id, "half": half, "member_type": c.member_type,
        "points_table": c.points_table, "schedule": c.schedule,
        "local_government_code": c.lg_code, "rate": c.rate,
        "points_before_cap": c.points_before_cap, "points": c.points,
        "won_before_cap": c.won_before_cap, "won": c.won, "cap_points_per_half": c.cap_points,
        "cap_won_per_year": c.cap_won, "payout_month": c.payout_month,
        "result_hash": c.result_hash, "settlement_run_id": run_id, "updated_at": now,
    }


def _snapshot(conn: Connection, statement_ids: Sequence[int], member_ids: Sequence[int],
              half: str) -> dict[int, dict]:
    """Previous version of statements (statement fields + lines) for statement_revisions."""
    st = table_of(PointStatement)
    ln = table_of(StatementLine)
    out: dict[int, dict] = {}
    for row in conn.execute(select(st).where(st.c.id.in_(statement_ids))).mappings():
        out[row["id"]] = {k: _jsonable(v) for k, v in row.items()} | {"lines": []}
    for row in conn.execute(select(ln).where(ln.c.member_id.in_(member_ids), ln.c.half == half)
                            .order_by(ln.c.id)).mappings():
        out[row["statement_id"]]["lines"].append(
            {k: _jsonable(v) for k, v in row.items() if k not in ("id", "statement_id")})
    return out


def _jsonable(v):
    if isinstance(v, (Decimal, date, datetime)):
        return str(v)
    return v


def write_chunk(conn, half, run_id, ids, clock, result, new, changed) -> None:
    """Write one computed chunk: new statements with lines and ledger entries; changed ones
    with a revision, replaced lines and an adjustment entry."""
    lo, hi = ids[0], ids[-1]
    h = str(half)
    now = utcnow_naive(clock)
    t = time.perf_counter()
    st = table_of(PointStatement)
    ln_t = table_of(StatementLine)
    ledger_rows = []
    if new:
        stamp = db_time(conn, now)
        bulk_insert(conn, st, [(
            c.member_id, h, c.member_type, c.points_table, c.schedule, c.lg_code, c.rate,
            c.points_before_cap, c.points, c.won_before_cap, c.won, c.cap_points, c.cap_won,
            c.payout_month, c.result_hash, run_id, stamp, "expected", 1, stamp) for c in new],
            STATEMENT_COLUMNS, ready=True)
        sid = dict(conn.execute(text(
            "SELECT member_id, id FROM point_statements WHERE half = :h AND member_id BETWEEN :lo AND :hi"),
            {"h": h, "lo": lo, "hi": hi}).all())
        bulk_insert(conn, ln_t, [_line_row(sid[c.member_id], c.member_id, h, ln)
                                 for c in new for ln in c.lines], LINE_COLUMNS, ready=True)
        ledger_rows += [ledger.entry_rows(c.member_id, h, ledger.SETTLEMENT, c.points, run_id,
                                          f"statement:{sid[c.member_id]}:v1", now)
                        for c in new if c.points]
        result.created += len(new)
    if changed:
        old_ids = [old[0] for _, old in changed]
        snaps = _snapshot(conn, old_ids, [c.member_id for c, _ in changed], h)
        conn.execute(table_of(StatementRevision).insert(), [{
            "statement_id": old[0], "version": old[3], "points": old[2],
            "snapshot": snaps[old[0]], "replaced_by_run_id": run_id, "replaced_at": now}
            for _, old in changed])
        conn.execute(ln_t.delete().where(ln_t.c.member_id.in_([c.member_id for c, _ in changed]),
                                         ln_t.c.half == h))
        upd = st.update().where(st.c.id == bindparam("sid")).values(
            {k: bindparam(k) for k in _statement_values(changed[0][0], h, run_id, now)} |
            {"version": bindparam("new_version")})
        conn.execute(upd, [_statement_values(c, h, run_id, now) | {
            "sid": old[0], "new_version": old[3] + 1} for c, old in changed])
        bulk_insert(conn, ln_t, [_line_row(old[0], c.member_id, h, ln)
                                 for c, old in changed for ln in c.lines], LINE_COLUMNS, ready=True)
        for c, old in changed:
            delta = c.points - old[2]
            if delta:
                ledger_rows.append(ledger.entry_rows(c.member_id, h, ledger.ADJUSTMENT, delta, run_id,
                                                     f"statement:{old[0]}:v{old[3] + 1}", now))
                result.adjustments += 1
                result.points_delta += delta
        result.changed += len(changed)
    ledger.append_entries(conn, ledger_rows)
    result.tick("write", t)
    result.points_new += sum(c.points for c in new)
