"""Half-year settlement: `flask --app webhooks cpoint settle --half 2026H1` (spec §5-§8).

For every member and registered resource of a half: baseline, actual, reduction rate, band,
points and the reason when nothing is paid; one statement per (member, half) with its lines; the
points written to the append-only ledger (core.ledger).

How it runs (set-based; no ORM object per member):

1. A ``settlement_runs`` row marks the run ``running``; a partial unique index allows one per
   half, so two processes never settle the same half at once (a crashed run whose heartbeat is
   older than ``STALE_AFTER`` is marked ``abandoned`` and taken over).
2. One aggregate query (GROUP BY account over ``meter_readings`` joined on the supply-key hash,
   an inner join left-joined back to the accounts, so PostgreSQL hashes the accounts rather than
   the readings; ``CREATE TEMPORARY TABLE ... AS`` there, which may run in parallel where an
   ``INSERT ... SELECT`` never does) fills a temporary table with one compact row per member
   resource: the six actual months of the half and the same months one and two years before,
   as integer thousandths (exact on both backends), plus the member type, the 시군구 at the
   half's end (address history), the account's billing mode/tariff/registration day and the
   streak stored on the previous half's line (both joined, not looked up row by row).
3. The standard-usage groups (n, Σ A_H per 시군구 / 시도 / nation, points table and resource)
   are summed from that table in SQL, and checked at the end against the evaluations of the
   lines, so a group can never disagree with the lines.
4. The statements, in member chunks (one transaction each), by one of two executions:
   - SQLite: members are read in chunks of ``CHUNK``; awards, caps and won are computed on
     tuples (:func:`line_for`), compared with the stored statement by a fingerprint of the
     inputs, and only new or changed statements are written with bulk inserts.
   - PostgreSQL: core.settlement_sql computes every line and statement of the range in SQL
     from the staging table, and inserts new statements, lines and ledger entries with one
     ``INSERT ... SELECT`` per chunk of ``SQL_CHUNK``; nothing travels through Python. Sampled
     members are read back and must equal line_for's result and fingerprint.
   New: statement + lines + a ``settlement`` ledger entry. Changed (both executions, in
   Python): the old version goes to ``statement_revisions``, statement and lines are replaced,
   and one ``adjustment`` entry carries the delta. Unchanged: nothing is written, so a second
   run is a no-op and a crashed run resumes where it stopped.

Exactness and the pure engine. The arithmetic here is integer (readings in thousandths); every
decision mirrors core.points (evaluation, award) and uses its public helpers for streaks and
won; the rate display is an integer twin of format_rate (property-tested against it). ``verify`` members per run (spread over the members) are recomputed with
``core.points.award.compute_statement`` from the same readings and any difference aborts the run:
the pure functions stay the specification; this is their set-based execution.
Supported settings: baseline_mode ``rolling`` and baseline_history ``supply_point`` (others
raise SettlementError).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, NamedTuple, Sequence

from sqlalchemy import (
    BigInteger, Column, Date, DateTime, Integer, MetaData, String, Table, bindparam, select, text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core import ledger
from core.clock import Clock, today_kst, utcnow_naive
from core.db import Database
from core.models.members import LocalGovernment
from core.models.points import (
    LocalGovernmentRate, PointStatement, SettlementRun, StatementLine, StatementRevision,
)
from core.points import reasons
from core.points.award import next_streak, won_for
from core.points.periods import Half
from core.points.standard_usage import GroupStats, pick_standard_usage_group
from core.rules import Rules, RulesError, default_rules, validate_rate

# pysqlite cannot bind Decimal; the bulk writers below hand it Decimals directly (SQLAlchemy
# itself converts before binding, so this changes nothing for it). Text keeps them exact.
sqlite3.register_adapter(Decimal, str)

CHUNK = 5000       # members per transaction, Python path
# Side by side, each worker gets at least CHUNKS_PER_WORKER chunks (of MIN_CHUNK members or
# more), so one worker's writes overlap another's computing: SQLite has one writer, and with one
# chunk each both workers would compute, then queue to write.
CHUNKS_PER_WORKER = 4
MIN_CHUNK = 1000
SQL_CHUNK = 25000  # members per transaction, SQL path (one set-based insert each)
STALE_AFTER = timedelta(minutes=15)
MILLI = 1000
ELECTRICITY = "electricity"


class SettlementError(RuntimeError):
    """The half cannot be settled (bad half, unsupported setting, run in progress, mismatch)."""


# --- small pieces shared with payouts, monthly results and the read API ------------------

def payout_month_for(half: Half, lg_month: int | None, rules: Rules) -> int:
    """yyyymm of the payout: the 시군구's month (first such month after the half ends), else the
    rules' default calendar (spec §8.3)."""
    if lg_month is None:
        return half.payout_month(rules)
    last = half.months[-1]
    year = last // 100 if lg_month > last % 100 else last // 100 + 1
    return year * 100 + lg_month


@dataclass(frozen=True)
class LgInfo:
    code: str
    sido: str
    name: str
    rate: Decimal
    payout_month: int
    incentive_types: tuple[str, ...]


def local_government_table(conn_or_session, half: Half, rules: Rules) -> dict[str, LgInfo]:
    """Every 시군구 with the rate in force on the half's last day (effective-dated rates, else
    LocalGovernment.won_per_point) and its payout month for the half."""
    lgs = conn_or_session.execute(select(
        LocalGovernment.code, LocalGovernment.sido, LocalGovernment.name,
        LocalGovernment.won_per_point, LocalGovernment.payout_month_h1,
        LocalGovernment.payout_month_h2, LocalGovernment.incentive_types)).all()
    dated: dict[str, tuple[date, Decimal]] = {}
    for code, frm, rate in conn_or_session.execute(select(
            LocalGovernmentRate.local_government_code, LocalGovernmentRate.effective_from,
            LocalGovernmentRate.won_per_point).where(LocalGovernmentRate.effective_from <= half.end)):
        if code not in dated or frm > dated[code][0]:
            dated[code] = (frm, rate)
    out = {}
    for code, sido, name, rate, m1, m2, types in lgs:
        chosen = dated[code][1] if code in dated else (rate if rate is not None else rules.rate.default)
        try:
            chosen = validate_rate(Decimal(chosen).quantize(Decimal("0.01")), rules)
        except RulesError as exc:
            raise SettlementError(f"local government {code}: {exc}") from None
        month = m1 if half.number == 1 else m2
        out[code] = LgInfo(code, sido, name, chosen, payout_month_for(half, month, rules),
                           tuple(types or ()))
    return out


# --- the compact evaluation (mirrors core.points.evaluation / award) ---------------------------

class Row(NamedTuple):
    """One member resource from the staging table. Readings in thousandths (None = missing):
    a = the half's six months, p = one year before, q = two years before."""

    member_id: int
    account_id: int
    resource: str
    billing_mode: str
    tariff: str | None
    registered_on: date | None
    member_type: str
    points_table: str
    lg_code: str | None
    sido: str | None
    streak_before: int
    a: tuple[int | None, ...]
    p: tuple[int | None, ...]
    q: tuple[int | None, ...]


@dataclass(slots=True)
class Line:
    resource: str
    account_id: int
    evaluated: bool
    reason: str | None
    params: dict
    baseline: Decimal | None
    actual: Decimal | None
    rate_display: str | None
    band: Decimal | None
    reduction: int
    maintenance: int
    standard: int
    qualified: bool
    earned_reduction: bool
    streak_before: int
    streak_after: int
    group: GroupStats | None
    detail: dict | None
    actual_milli: int | None = None  # A_H in thousandths (the standard-usage group sums)

    @property
    def points(self) -> int:
        return self.reduction + self.maintenance + self.standard


@dataclass(frozen=True)
class Plan:
    """Everything the line arithmetic needs of one points table in one half, looked up once per
    run rather than once per line: the schedule's bands as exact fractions (num/den), its
    incentives, and the half-wide settings."""

    table: Any
    schedule: Any
    bands: tuple[tuple[int, int, Decimal, Any], ...]  # (num, den, min_rate, points) ascending
    maintenance: Any
    maintenance_min_streak: int
    standard: Any                   # points by resource, or None when not offered
    threshold: str                  # lowest band rate (reason params)
    start: date
    months: tuple[int, ...]
    excluded_tariffs: frozenset
    stacking: bool
    standard_needs_evaluation: bool
    keeps_streak: bool
    order: dict                     # resource -> position in rules.resources


def plans_for(rules: Rules, half: Half) -> dict[str, Plan]:
    """A Plan per points table for ``half`` (RulesError when a table has no schedule)."""
    out = {}
    for name, table in rules.tables.items():
        schedule = table.schedule_for(half)
        bands = []
        for band in schedule.bands:
            fr = Fraction(band.min_rate)
            bands.append((fr.numerator, fr.denominator, band.min_rate, band.points))
        out[name] = Plan(
            table=table, schedule=schedule, bands=tuple(bands),
            maintenance=schedule.maintenance or None,
            maintenance_min_streak=schedule.maintenance_min_streak,
            standard=(schedule.standard_usage or None) if table.standard_usage_offered else None,
            threshold=str(schedule.lowest_band_rate), start=half.start, months=half.months,
            excluded_tariffs=frozenset(rules.excluded_electricity_tariffs),
            stacking=rules.stacking_applies(half),
            standard_needs_evaluation=rules.standard_usage_requires_evaluation,
            keeps_streak=rules.maintenance_keeps_streak,
            order={r: i for i, r in enumerate(rules.resources)})
    return out


def rate_display(diff: int, base3: int) -> str:
    """``format_rate(100 * diff / base3)`` in integers: percent truncated toward zero to two
    places, "-0.00" for a rise under 0.01 % (as Decimal prints it). Exact: the quotient of
    integers this size is never within Decimal's rounding of a hundredth."""
    return hundredths_text(10000 * abs(diff) // base3, diff < 0)


def hundredths_text(q: int, negative: bool) -> str:
    """A rate of ``q`` hundredths of a percent as displayed, the sign given apart (-0.00)."""
    return f"{'-' if negative else ''}{abs(q) // 100}.{abs(q) % 100:02d}"


_K = {k: Decimal(k) for k in range(1, 7)}  # months with a baseline; 3·S2/k is exact for each


def line_for(row: Row, group: GroupStats | None, plan: Plan) -> Line:
    """One resource: eligibility, baseline, actual (core.points.evaluation.evaluate_resource)
    and points (core.points.award.award_resource), in integer thousandths. The pure functions
    are the specification; every run checks a sample of members against them."""
    resource, before = row.resource, row.streak_before
    reason = None
    if row.billing_mode == "not_used":
        reason = reasons.RESOURCE_NOT_USED
    elif resource == ELECTRICITY and row.tariff in plan.excluded_tariffs:
        reason = reasons.EXCLUDED_TARIFF
    elif row.registered_on is not None and row.registered_on > plan.start:
        reason = reasons.NOT_REGISTERED_FOR_HALF
    if reason is not None:  # not eligible: nothing evaluated, nothing earned, streak ends
        return Line(resource, row.account_id, False, reason, {}, None, None, None, None, 0, 0, 0,
                    False, False, before, 0, None, None)
    s2 = k = 0
    filled = fallback = None
    months = plan.months
    p, q = row.p, row.q
    for i in range(6):
        pv, qv = p[i], q[i]
        if pv is not None:
            if qv is not None:
                s2 += pv + qv
            else:
                s2 += 2 * pv
                fallback = (fallback or []) + [months[i]]
        elif qv is not None:
            s2 += 2 * qv
            fallback = (fallback or []) + [months[i]]
        else:
            filled = (filled or []) + [months[i]]
            continue
        k += 1
    a = row.a
    if None in a:
        actual = None
        missing = [months[i] for i in range(6) if a[i] is None]
    else:
        actual = a[0] + a[1] + a[2] + a[3] + a[4] + a[5]
        missing = None
    params = {}
    evaluated = False
    if k == 0:
        reason = reasons.NO_BASELINE
    elif s2 == 0:
        reason = reasons.ZERO_BASELINE
    elif missing:
        reason = reasons.ACTUAL_MONTH_MISSING
        params = {"months": missing, "resource": resource}
    else:
        evaluated = True

    band = None
    reduction = maintenance = standard = 0
    shown = None
    if evaluated:
        base3 = 3 * s2
        diff = base3 - k * actual                  # (B - A) * k * 1000
        for b in plan.bands:                       # 100 (B - A) >= r B, cross-multiplied
            if 100 * b[1] * diff >= b[0] * base3:
                band = b
            else:
                break                              # ascending: no higher band can hold
        shown = rate_display(diff, base3)
        if band is not None:
            reduction = band[3][resource]
        elif diff <= 0:
            reason = reasons.NO_REDUCTION
        elif plan.maintenance and before >= plan.maintenance_min_streak:
            maintenance = plan.maintenance[resource]
        else:
            reason = reasons.BELOW_THRESHOLD
            params = {"rate": shown, "threshold": plan.threshold}
    # as award_resource: the group test needs an evaluated resource unless the rules say not
    qualified = bool(plan.standard and group is not None
                     and (evaluated or (not plan.standard_needs_evaluation and actual is not None))
                     and 2 * actual * group.n <= group.total_actual * MILLI)
    if qualified:
        standard = plan.standard[resource]
    earned = band is not None
    if not plan.stacking:
        best = max(reduction, maintenance, standard)
        if reduction == best:
            maintenance = standard = 0
        elif maintenance == best:
            reduction = standard = 0
        else:
            reduction = maintenance = 0
        earned = band is not None and not standard
    detail = None
    if k and filled:
        detail = {"filled": filled}
    if fallback:
        detail = (detail or {}) | {"fallback": fallback}
    if earned:
        after = before + 1
    elif maintenance > 0 and plan.keeps_streak:
        after = before
    else:
        after = 0
    return Line(
        resource, row.account_id, evaluated, reason, params,
        (Decimal(3 * s2) / _K[k]).scaleb(-3) if k else None,  # exact: k divides 6
        Decimal(actual).scaleb(-3) if actual is not None else None,
        shown, band[2] if band else None, reduction, maintenance, standard, qualified, earned,
        before, after, group if qualified or (group is not None and evaluated) else None,
        detail, actual)


@dataclass
class Computed:
    member_id: int
    member_type: str
    points_table: str
    schedule: str
    lg_code: str | None
    rate: Decimal
    lines: list[Line]
    points_before_cap: int
    points: int
    won_before_cap: int
    won: int
    cap_points: int
    cap_won: int
    payout_month: int
    won_earlier: int
    rows: list = field(default_factory=list)  # the staging rows, in line order
    result_hash: str = ""


_RULES_KEYS: dict[int, tuple[Rules, str]] = {}


def _rules_key(rules: Rules) -> str:
    """Fingerprint of the rules (cached per object; the cache holds the object, so its id
    cannot be reused by another rules object while the entry exists)."""
    cached = _RULES_KEYS.get(id(rules))
    if cached is None or cached[0] is not rules:
        cached = _RULES_KEYS[id(rules)] = (
            rules, hashlib.blake2b(repr(rules).encode(), digest_size=16).hexdigest())
    return cached[1]


def fingerprint_head(rules: Rules, member_type: str, lg_code: str | None, rate: Decimal,
                     won_earlier: int, payout_month: int) -> str:
    return f"{_rules_key(rules)}|{member_type}|{lg_code or ''}|{rate}|{won_earlier}|{payout_month}"


def fingerprint_line(row: Row, qualified: bool, level: str | None) -> str:
    """The inputs of one line as text: core.settlement_sql builds the same text in SQL."""
    day = (row.registered_on - EPOCH).days if row.registered_on is not None else None
    numbers = "|".join("" if v is None else str(v) for v in (
        row.account_id, row.streak_before, day, *row.a, *row.p, *row.q, 1 if qualified else 0))
    return f"{row.resource}|{row.billing_mode}|{row.tariff or ''}|{numbers}|{level or ''}"


EPOCH = date(1970, 1, 1)


def _hash(c: Computed, rules: Rules) -> str:
    """Fingerprint of everything the statement is computed from: the rules, the member's
    staging rows (readings, registration, streak), the rate, payout month, won already counted
    in the year, and per line the group level and whether it qualified. Equal inputs give equal
    statements, so an equal fingerprint means nothing to write. The group's n and sum are left
    out on purpose: one corrected reading moves every group total, and that alone must not
    rewrite the statements of the whole 시군구 (the qualification itself is in). An MD5 of
    canonical text, so the SQL engine computes the same value (not a security function)."""
    text_ = ";".join([fingerprint_head(rules, c.member_type, c.lg_code, c.rate,
                                       c.won_earlier, c.payout_month)]
                     + [fingerprint_line(r, ln.qualified, ln.group.level if ln.group else None)
                        for r, ln in zip(c.rows, c.lines)])
    return hashlib.md5(text_.encode(), usedforsecurity=False).hexdigest()


# --- staging ----------------------------------------------------------------------------

def _staging_table() -> Table:
    cols = [Column("member_id", Integer), Column("account_id", Integer, primary_key=True),
            Column("resource", String(16)), Column("billing_mode", String(16)),
            Column("tariff", String(24)), Column("registered_on", Date),
            Column("member_type", String(24)), Column("lg_code", String(16)),
            Column("sido", String(32)), Column("streak_before", Integer)]
    cols += [Column(f"{p}{i}", BigInteger) for p in "apq" for i in range(1, 7)]
    return Table("tmp_settle", MetaData(), *cols, prefixes=["TEMPORARY"])


def _fill_staging(conn: Connection, tmp: Table, half: Half, rules: Rules,
                  lo: int | None = None, hi: int | None = None) -> None:
    """Create the staging table with one compact row per member resource (the members in
    [lo, hi] when given)."""
    months = half.months
    ref = {"a": months, "p": tuple(m - 100 for m in months), "q": tuple(m - 200 for m in months)}
    every = sorted(m for ms in ref.values() for m in ms)
    milli = "CAST(ROUND(r.amount * 1000) AS BIGINT)"
    pivots = ",\n  ".join(
        f"MAX(CASE WHEN r.month = {m} THEN {milli} END) AS {p}{i + 1}"
        for p, ms in ref.items() for i, m in enumerate(ms))
    types = sorted(rules.points_table_by_member_type)
    type_list = ", ".join(f"'{t}'" for t in types if t.isidentifier())
    household = rules.maintenance_streak_scope == "household"

    def in_range(column: str) -> str:  # one worker's share of the members, when given
        return f" AND {column} BETWEEN {int(lo)} AND {int(hi)}" if lo is not None else ""

    active = ("ra.registered_on <= :end AND (ra.ended_on IS NULL OR ra.ended_on > :end)"
              + in_range("ra.member_id"))
    # Joins rather than correlated subqueries: the planner hashes them once instead of
    # looking up every member's address and previous line one by one.
    prev_streak = (
        "SELECT member_id, NULL AS resource, MAX(streak_after) AS streak FROM statement_lines"
        f" WHERE half = :prev{in_range('member_id')} GROUP BY member_id" if household else
        "SELECT member_id, resource, streak_after AS streak FROM statement_lines"
        f" WHERE half = :prev{in_range('member_id')}")
    prev_on = "pl.member_id = ra.member_id" + ("" if household else " AND pl.resource = ra.resource")
    query = f"""
SELECT ra.member_id AS member_id, ra.id AS account_id, ra.resource AS resource,
  ra.billing_mode AS billing_mode, ra.tariff AS tariff, ra.registered_on AS registered_on,
  m.member_type AS member_type, lga.code AS lg_code, lga.sido AS sido,
  COALESCE(pl.streak, 0) AS streak_before,
  {", ".join(f"agg.{p}{i} AS {p}{i}" for p in "apq" for i in range(1, 7))}
FROM resource_accounts ra
LEFT JOIN (
  SELECT ra.id AS account_id,
  {pivots}
  FROM resource_accounts ra
  JOIN meter_readings r ON r.resource = ra.resource AND r.supply_key_hash = ra.supply_key_hash
    AND r.month IN ({", ".join(str(m) for m in every)})
  WHERE {active}
  GROUP BY ra.id
) agg ON agg.account_id = ra.id
JOIN members m ON m.id = ra.member_id
LEFT JOIN (
  SELECT member_id, local_government_code,
    ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY valid_from DESC, id DESC) AS pick
  FROM member_addresses WHERE valid_from <= :end{in_range('member_id')}
) ma ON ma.member_id = m.id AND ma.pick = 1
LEFT JOIN local_governments lga ON lga.code = COALESCE(ma.local_government_code, m.local_government_code)
LEFT JOIN ({prev_streak}) pl ON {prev_on}
WHERE {active}
  AND (m.status = 'active' OR m.withdrawn_at >= :after_end)
  AND m.member_type IN ({type_list})
  AND NOT EXISTS (SELECT 1 FROM resource_accounts ra2 WHERE ra2.member_id = ra.member_id
    AND ra2.resource = ra.resource AND ra2.id > ra.id AND ra2.registered_on <= :end
    AND (ra2.ended_on IS NULL OR ra2.ended_on > :end))
"""
    if conn.dialect.name == "postgresql":
        # CREATE TABLE AS runs the aggregate as a parallel plan; INSERT ... SELECT never does.
        sql = f"CREATE TEMPORARY TABLE {tmp.name} AS {query}"
    else:
        tmp.create(conn)
        sql = f"INSERT INTO {tmp.name} ({', '.join(c.name for c in tmp.columns)}) {query}"
    stmt = text(sql).bindparams(bindparam("end", type_=Date()),
                                bindparam("after_end", type_=DateTime()))
    conn.execute(stmt, {"end": half.end, "prev": str(half.previous()),
                        "after_end": datetime.combine(half.end + timedelta(days=1), datetime.min.time())})
    conn.execute(text(f"CREATE INDEX ix_tmp_settle_member ON {tmp.name} (member_id, account_id)"))
    if conn.dialect.name == "postgresql":
        analyze_temporary(conn, tmp.name)


def analyze_temporary(conn: Connection, *names: str) -> None:
    """Statistics for temporary tables, which autovacuum never analyses. A small sample is
    enough for the few plans they take part in (the default one costs a quarter second on a
    wide table of 150,000 rows)."""
    conn.execute(text("SET LOCAL default_statistics_target = 10"))
    for name in names:
        conn.execute(text(f"ANALYZE {name}"))
    conn.execute(text("SET LOCAL default_statistics_target = DEFAULT"))


_ROW_COLUMNS = ("member_id, account_id, resource, billing_mode, tariff, registered_on, member_type,"
                " lg_code, sido, streak_before, "
                + ", ".join(f"{p}{i}" for p in "apq" for i in range(1, 7)))


def _rows(conn: Connection, rules: Rules, lo: int | None = None,
          hi: int | None = None, ids: Sequence[int] | None = None) -> Iterable[Row]:
    """Staging rows through the driver cursor (no per-row ORM/Core processing), in member
    order; a member range when lo/hi are given, some members when ids are (PostgreSQL).
    Server-side cursor on PostgreSQL for the whole table."""
    where = " WHERE member_id BETWEEN %(lo)s AND %(hi)s" if lo is not None else ""
    if ids is not None:
        where = " WHERE member_id = ANY(%(ids)s)"
    sql = f"SELECT {_ROW_COLUMNS} FROM tmp_settle{where} ORDER BY member_id, account_id"
    raw = conn.connection.driver_connection
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        cur = raw.cursor(name="settle_rows") if not where else raw.cursor()
        cur.execute(sql, {"lo": lo, "hi": hi, "ids": list(ids or ())} if where else None)
    else:
        cur = raw.cursor()
        cur.execute(sql.replace("%(lo)s", "?").replace("%(hi)s", "?"),
                    (lo, hi) if lo is not None else ())
    tables = rules.points_table_by_member_type
    days: dict[Any, date | None] = {None: None}
    try:
        while True:
            batch = cur.fetchmany(10000)
            if not batch:
                break
            for r in batch:
                day = r[5]
                if day not in days:
                    days[day] = day if isinstance(day, date) else date.fromisoformat(day)
                yield Row(r[0], r[1], r[2], r[3], r[4], days[day], r[6], tables[r[6]], r[7], r[8],
                          r[9] or 0, r[10:16], r[16:22], r[22:28])
    finally:
        cur.close()


def bulk_insert(conn: Connection, table: Table, rows: Sequence, columns: Sequence[str] | None = None,
                *, ready: bool = False) -> None:
    """Insert many rows through the driver: COPY on PostgreSQL, executemany on SQLite. Rows are
    dicts, or tuples in the order of ``columns``. JSON columns are serialised; on SQLite,
    dates and datetimes are written in the form SQLAlchemy reads back. ``ready``: the tuples
    are already in driver form (JSON as text, datetimes as :func:`db_time` gives them)."""
    if not rows:
        return
    if ready:
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
                    row[i] = json.dumps(row[i], ensure_ascii=False)
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
            return lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f")
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


def _driver_insert(conn: Connection, table: Table, rows: Sequence, cols: Sequence[str]) -> None:
    raw = conn.connection.driver_connection
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
    return value if conn.dialect.name == "postgresql" else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def group_keys_of(lg_code: str | None, sido: str | None, points_table: str,
                  resource: str) -> dict[str, tuple]:
    keys = {"national": ("national", points_table, resource)}
    if lg_code is not None:
        keys["sigungu"] = ("sigungu", lg_code, points_table, resource)
    if sido is not None:
        keys["sido"] = ("sido", sido, points_table, resource)
    return keys


def _evaluated_sql(rules: Rules) -> str:
    """SQL twin of the eligibility and evaluation of :func:`line_for` (evaluated = no reason): checked against it on every run."""
    excluded = ", ".join(f"'{t}'" for t in sorted(rules.excluded_electricity_tariffs)
                         if t.replace("_", "").isalnum()) or "''"
    actual = " AND ".join(f"a{i} IS NOT NULL" for i in range(1, 7))
    any_base = " OR ".join(f"{p}{i} IS NOT NULL" for p in "pq" for i in range(1, 7))
    base_sum = " + ".join(f"COALESCE({p}{i}, 0)" for p in "pq" for i in range(1, 7))
    return (f"billing_mode <> 'not_used'"
            f" AND NOT (resource = 'electricity' AND COALESCE(tariff, '') IN ({excluded}))"
            f" AND (registered_on IS NULL OR registered_on <= :start)"
            f" AND {actual} AND ({any_base}) AND ({base_sum}) > 0")


def group_sums(conn: Connection, half: Half, rules: Rules) -> dict[tuple, list[int]]:
    """n and Σ A_H (thousandths) of evaluated resources per 시군구 / 시도 / nation, points table
    and resource (spec §7.1), from the staging table."""
    table_case = "CASE member_type " + " ".join(
        f"WHEN '{t}' THEN '{name}'" for t, name in sorted(rules.points_table_by_member_type.items())
        if t.isidentifier()) + " END"
    actual = " + ".join(f"a{i}" for i in range(1, 7))
    where = _evaluated_sql(rules)
    sql = (f"SELECT lg_code, sido, {table_case} AS pt, resource, COUNT(*), SUM({actual})"
           f" FROM tmp_settle WHERE {where} GROUP BY lg_code, sido, pt, resource")
    stmt = text(sql).bindparams(bindparam("start", type_=Date()))
    base = {tuple(r[:4]): [int(r[4]), int(r[5])] for r in conn.execute(stmt, {"start": half.start})}
    sums = _expand_groups(base)
    return sums


def _expand_groups(base: dict[tuple, list[int]]) -> dict[tuple, list[int]]:
    """(시군구, 시도, table, resource) sums -> the level keys of group_keys_of()."""
    out: dict[tuple, list[int]] = {}
    for (lg, sido, table, resource), (n, total) in base.items():
        keys = [("national", table, resource)]
        if lg is not None:
            keys.append(("sigungu", lg, table, resource))
        if sido is not None:
            keys.append(("sido", sido, table, resource))
        for key in keys:
            acc = out.setdefault(key, [0, 0])
            acc[0] += n
            acc[1] += total
    return out


def _add_sums(into: dict[tuple, list[int]], part: dict[tuple, list[int]]) -> None:
    """Add group sums ({key: [n, Σ A_H]}) of one part to a running total."""
    for key, (n, total) in part.items():
        acc = into.setdefault(key, [0, 0])
        acc[0] += n
        acc[1] += total


class Groups:
    """Standard-usage groups as summed from the staging table: {key: [n, Σ A_H thousandths]};
    the pick per (시군구, 시도, table, resource) is cached (a few hundred distinct keys)."""

    def __init__(self, sums: dict[tuple, list[int]], rules: Rules):
        self.sums, self.rules = sums, rules
        self._cache: dict[tuple, GroupStats | None] = {}

    def for_row(self, row: Row) -> GroupStats | None:
        return self.for_key(row.lg_code, row.sido, row.points_table, row.resource)

    def for_key(self, lg_code: str | None, sido: str | None, points_table: str,
                resource: str) -> GroupStats | None:
        key = (lg_code, sido, points_table, resource)
        if key not in self._cache:
            stats = {}
            for level, gkey in group_keys_of(lg_code, sido, points_table, resource).items():
                n_total = self.sums.get(gkey)
                if n_total and n_total[0] > 0:
                    stats[level] = GroupStats(level, n_total[0], Decimal(n_total[1]) / MILLI)
            self._cache[key] = pick_standard_usage_group(stats, self.rules) if stats else None
        return self._cache[key]


# --- the run ----------------------------------------------------------------------------

@dataclass
class SettleResult:
    run_id: int
    half: str
    members: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    adjustments: int = 0
    points_delta: int = 0
    points_new: int = 0
    points_total: int = 0
    verified: int = 0
    workers: int = 1  # processes that settled member ranges side by side
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    def tick(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - since
        return now

    def summary(self) -> str:
        return (f"settled {self.half}: {self.members} member(s); {self.created} new statement(s) "
                f"({self.points_new} P), {self.changed} changed, {self.unchanged} unchanged; "
                f"{self.adjustments} adjustment(s) ({self.points_delta:+d} P); "
                f"{self.points_total} P in total; {self.verified} checked against core.points; "
                f"run #{self.run_id}")


def _start_run(db: Database, half: Half, clock: Clock, rules: Rules) -> int:
    now = utcnow_naive(clock)
    for _ in range(2):
        try:
            with db.transaction() as s:
                run = SettlementRun(half=str(half), status="running", started_at=now,
                                    heartbeat_at=now, rules_source=rules.source[-255:])
                s.add(run)
                s.flush()
                return run.id
        except IntegrityError:
            with db.transaction() as s:
                other = s.scalars(select(SettlementRun).where(
                    SettlementRun.half == str(half), SettlementRun.status == "running")).first()
                if other is None:
                    continue
                if now - other.heartbeat_at < STALE_AFTER:
                    raise SettlementError(
                        f"another settlement of {half} is running (run #{other.id}, started "
                        f"{other.started_at:%Y-%m-%d %H:%M} UTC)") from None
                other.status, other.finished_at = "abandoned", now
                other.error = "heartbeat stale; taken over"
    raise SettlementError(f"could not start a settlement run for {half}")


def _finish_run(db: Database, run_id: int, clock: Clock, result: SettleResult | None,
                error: str | None = None) -> None:
    with db.transaction() as s:
        run = s.get(SettlementRun, run_id)
        run.finished_at = utcnow_naive(clock)
        if result is None:
            run.status, run.error = "failed", (error or "")[:4000]
            return
        run.status = "completed"
        run.members, run.created, run.changed = result.members, result.created, result.changed
        run.unchanged, run.adjustments = result.unchanged, result.adjustments
        run.points_delta = result.points_delta + result.points_new


def settle_half(db: Database, half: str | Half, clock: Clock, *, rules: Rules | None = None,
                chunk: int | None = None, verify: int = 200, workers: int | None = None) -> SettleResult:
    """Settle ``half`` for every member (see the module docstring). Idempotent: unchanged
    inputs write nothing; changed inputs write one adjustment per member. ``verify``: members
    recomputed with the pure engine (0 = none, -1 = all). ``workers``: processes that settle
    member ranges side by side (default: one per CPU core, at most 4; one process below
    PARALLEL_FROM members)."""
    rules = rules or default_rules()
    try:
        half = Half.parse(half)
    except ValueError as exc:
        raise SettlementError(str(exc)) from None
    if rules.baseline_mode != "rolling" or rules.baseline_history != "supply_point":
        raise SettlementError("the database settlement supports baseline_mode = rolling and "
                              "baseline_history = supply_point only")
    if half.end >= today_kst(clock):
        raise SettlementError(f"{half} has not ended yet (it ends {half.end})")
    try:
        tables = plans_for(rules, half)
    except RulesError as exc:
        raise SettlementError(str(exc)) from None

    run_id = _start_run(db, half, clock, rules)
    result = SettleResult(run_id, str(half))
    try:
        if workers is None:
            workers = min(4, os.cpu_count() or 1)
        _settle(db, half, clock, rules, tables, run_id, chunk, verify, result, workers)
    except BaseException as exc:
        _finish_run(db, run_id, clock, None, f"{type(exc).__name__}: {exc}")
        raise
    _finish_run(db, run_id, clock, result)
    return result


SQLITE_CACHE_KB = 131072  # 128 MB page cache for the batch connection (default is 2 MB)
PG_WORK_MEM = "128MB"     # hash aggregates of the staging query stay in memory


def tune_connection(conn: Connection, share: int = 1) -> None:
    """Session settings for one batch connection (settlement, monthly results, the bench's
    floor): a larger page cache and in-memory temporary tables on SQLite, work_mem on
    PostgreSQL. They end with the connection (it is not returned to the pool changed: the
    SQLite settings only size caches; PostgreSQL's are RESET)."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection  # outside any transaction (pysqlite autocommit)
        # ``share``: processes working side by side split the page cache between them
        raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB // max(1, share)}")
        raw.execute("PRAGMA temp_store = MEMORY")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET work_mem = '{PG_WORK_MEM}'")
        conn.commit()


def _reset_connection(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA cache_size = -2000")
        raw.execute("PRAGMA temp_store = DEFAULT")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("RESET work_mem")
        conn.commit()


PARALLEL_FROM = 5_000  # members; below this one process is as quick as starting workers


def _settle(db, half, clock, rules, tables, run_id, chunk, verify, result, workers) -> None:
    ranges = _member_ranges(db, workers)
    if len(ranges) == 1:
        part = _RangeSettler(db, half, clock, rules, tables, run_id, chunk, *ranges[0])
        try:
            sums, count, warnings = part.stage()
            step = _verify_step(count, verify)
            seen = part.settle(sums, step, 0)
        finally:
            part.close()
        parts = [(part.result, seen, warnings)]
    else:
        sums, parts = _settle_in_workers(db, half, clock, rules, tables, run_id, chunk, verify, ranges)
        result.workers = len(ranges)
    seen_groups: dict[tuple, list[int]] = {}
    for part_result, seen, warnings in parts:
        _merge_result(result, part_result)
        for w in warnings:
            if w not in result.warnings:
                result.warnings.append(w)
        _add_sums(seen_groups, seen)
    if _expand_groups(seen_groups) != {k: v for k, v in sums.items() if v[0]}:
        raise SettlementError("standard-usage groups summed in SQL differ from the "
                              "evaluations of the lines (a bug: the run is marked failed)")


def _verify_step(members: int, verify: int) -> int:
    return max(1, members // verify) if verify > 0 else (1 if verify < 0 else 0)


def _python_chunk(members: int, share: int) -> int:
    """Members per chunk on the Python path for a range of ``members`` settled by one of
    ``share`` workers side by side (see CHUNKS_PER_WORKER)."""
    if share <= 1:
        return CHUNK
    return min(CHUNK, max(MIN_CHUNK, -(-members // CHUNKS_PER_WORKER)))


def _member_ranges(db: Database, workers: int) -> list[tuple[int | None, int | None]]:
    """Contiguous member-id ranges of about equal size, one per worker process."""
    if workers <= 1:
        return [(None, None)]
    with db.engine.connect() as conn:
        ids = [m for (m,) in conn.execute(text("SELECT id FROM members ORDER BY id"))]
    in_memory = db.url == "sqlite://" or (db.url.startswith("sqlite") and ":memory:" in db.url)
    if len(ids) < PARALLEL_FROM or in_memory:  # an in-memory database is one process's own
        return [(None, None)]
    size = -(-len(ids) // workers)
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def _merge_result(into: SettleResult, part: SettleResult) -> None:
    for name in ("members", "created", "changed", "unchanged", "adjustments", "points_delta",
                 "points_new", "points_total", "verified"):
        setattr(into, name, getattr(into, name) + getattr(part, name))
    for phase, seconds in part.timings.items():  # workers run side by side: the slowest counts
        into.timings[phase] = max(into.timings.get(phase, 0.0), seconds)


def _settle_in_workers(db, half, clock, rules, tables, run_id, chunk, verify, ranges):
    """Stage and settle each member range in its own process (each with its own database
    connections), in two phases: every worker stages its range and sums its standard-usage
    groups; the parent adds the sums up (a group spans the ranges) and hands the totals back;
    then every worker computes and writes its range. Workers are forked, so the rules and the
    clock come along; the parent's pool is emptied first so no connection is shared."""
    import multiprocessing

    db.engine.dispose()
    ctx = multiprocessing.get_context("fork")
    procs, pipes = [], []
    try:
        for lo, hi in ranges:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True, args=(
                db.url, half, clock, rules, tables, run_id, chunk, lo, hi, theirs, len(ranges)))
            proc.start()
            theirs.close()
            procs.append(proc)
            pipes.append(mine)
        staged = [_receive(pipe, "staged") for pipe in pipes]
        sums: dict[tuple, list[int]] = {}
        for part_sums, _count, _warnings in staged:
            _add_sums(sums, part_sums)
        step = _verify_step(sum(count for _, count, _ in staged), verify)
        offset = 0
        for pipe, (_, count, _) in zip(pipes, staged):
            pipe.send(("settle", sums, step, offset))
            offset += count
        done = [_receive(pipe, "settled") for pipe in pipes]
        for proc in procs:
            proc.join(timeout=60)
        return sums, [(res, seen, warnings) for (res, seen), (_, _, warnings) in zip(done, staged)]
    finally:
        for pipe in pipes:
            try:
                pipe.send(("stop",))
            except (OSError, ValueError):
                pass
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()


def _receive(pipe, expected: str):
    try:
        message = pipe.recv()
    except EOFError:
        raise SettlementError("a settlement worker ended without an answer") from None
    if message[0] == "error":
        raise SettlementError(f"settlement worker failed: {message[1]}")
    if message[0] != expected:
        raise SettlementError(f"settlement worker said {message[0]!r}, expected {expected!r}")
    return message[1:] if len(message) > 2 else message[1]


def _worker(url, half, clock, rules, tables, run_id, chunk, lo, hi, pipe, share) -> None:
    """One forked worker: stage, report the group sums, settle when told (see above)."""
    import traceback

    db = Database(url)
    part = None
    try:
        part = _RangeSettler(db, half, clock, rules, tables, run_id, chunk, lo, hi, share)
        sums, count, warnings = part.stage()
        pipe.send(("staged", sums, count, warnings))
        message = pipe.recv()
        if message[0] != "settle":
            return
        _, all_sums, step, offset = message
        seen = part.settle(all_sums, step, offset)
        pipe.send(("settled", part.result, seen))
    except BaseException as exc:  # the parent marks the run failed with this text
        try:
            pipe.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))
        except (OSError, ValueError):
            pass
    finally:
        if part is not None:
            part.close()
        db.dispose()
        pipe.close()


class _RangeSettler:
    """Stages and settles the members in [lo, hi] (all members when None) on connections of
    its own: a reader that holds the staging table and reads in deferred transactions, and, on
    SQLite, a writer whose transactions hold only the writes of one chunk, so (one writer at a
    time) the computing never holds the write lock. On PostgreSQL everything runs on the reader,
    whose session also holds the SQL results (temporary tables are the session's)."""

    def __init__(self, db, half, clock, rules, tables, run_id, chunk, lo, hi, share: int = 1) -> None:
        self.db, self.half, self.clock, self.rules, self.tables = db, half, clock, rules, tables
        self.run_id, self.lo, self.hi = run_id, lo, hi
        self.chunk, self.share = chunk, share  # chunk None: the path's default
        self.result = SettleResult(run_id, str(half))
        self.tmp = _staging_table()
        self.reader = db.engine.execution_options(sqlite_deferred=True).connect()
        tune_connection(self.reader, share)
        self.writer = None if db.is_postgres else db.engine.connect()
        self.member_ids: list[int] = []
        self.lgs: dict[str, LgInfo] = {}

    def stage(self) -> tuple[dict, int, list[str]]:
        """Fill the staging table; the standard-usage group sums and member count of the range."""
        t = time.perf_counter()
        conn, half, rules = self.reader, self.half, self.rules
        warnings = []
        with conn.begin():
            _fill_staging(conn, self.tmp, half, rules, self.lo, self.hi)
        t = self.result.tick("staging", t)
        with conn.begin():
            self.lgs = local_government_table(conn, half, rules)
            later = conn.execute(text(
                "SELECT COUNT(*) FROM settlement_runs WHERE status = 'completed' AND half > :h"
            ), {"h": str(half)}).scalar_one()
            sums = group_sums(conn, half, rules)
            self.member_ids = [m for (m,) in conn.execute(text(
                "SELECT DISTINCT member_id FROM tmp_settle ORDER BY member_id"))]
        if later:
            warnings.append("a later half is already settled: settle it again to carry changed streaks")
        self.result.members = len(self.member_ids)
        self.result.tick("evaluate_groups", t)
        return sums, len(self.member_ids), warnings

    def settle(self, sums: dict, verify_step: int, offset: int) -> dict[tuple, list[int]]:
        """Compute and write every chunk; returns the evaluations summed per group (checked
        against the SQL sums by the caller)."""
        groups = Groups(sums, self.rules)
        if self.reader.dialect.name == "postgresql":
            return self._settle_in_sql(groups, verify_step, offset)
        seen: dict[tuple, list[int]] = {}
        ids_all = self.member_ids
        chunk = self.chunk or _python_chunk(len(ids_all), self.share)
        for start in range(0, len(ids_all), chunk):
            ids = ids_all[start:start + chunk]
            with self.reader.begin():
                work = _read_and_compute(self.reader, self.half, self.rules, self.tables, self.lgs,
                                         groups, ids, self.result, verify_step, offset + start, seen)
            with self.writer.begin():
                _write_chunk(self.writer, self.half, self.run_id, ids, self.clock, self.result, *work)
                self.writer.execute(update(SettlementRun).where(SettlementRun.id == self.run_id)
                                    .values(heartbeat_at=utcnow_naive(self.clock)))
                t0 = time.perf_counter()
            self.result.tick("commit", t0)
        return seen

    def _settle_in_sql(self, groups: Groups, verify_step: int, offset: int) -> dict[tuple, list[int]]:
        """PostgreSQL: lines and statements computed in the database (core.settlement_sql);
        per chunk, new statements are inserted set-based, changed ones go through the Python
        path (revision, replaced lines, adjustment), and sampled members are checked against
        line_for and core.points."""
        from core import settlement_sql

        conn, half, rules, h = self.reader, self.half, self.rules, str(self.half)
        t = time.perf_counter()
        with conn.begin():
            settlement_sql.stage_results(conn, half, rules, self.tables, self.lgs, groups,
                                         _rules_key(rules))
            seen = settlement_sql.evaluated_sums(conn)
        self.result.tick("compute", t)
        ids_all = self.member_ids
        chunk = self.chunk or SQL_CHUNK
        for start in range(0, len(ids_all), chunk):
            ids = ids_all[start:start + chunk]
            lo, hi = ids[0], ids[-1]
            t = time.perf_counter()
            with conn.begin():
                sample = [m for i, m in enumerate(ids)
                          if verify_step and (offset + start + i) % verify_step == 0]
                old = {r[0]: r for r in settlement_sql.existing(conn, h, lo, hi)}
                changed_ids = [m for m, r in old.items() if r[2] != r[5]]
                t = self.result.tick("classify", t)
                python = self._python_results(sorted(set(sample) | set(changed_ids)), groups, lo, hi)
                self._check_sample(sample, python)
                t = self.result.tick("check", t)
                self.result.unchanged += len(old) - len(changed_ids)
                created, points = settlement_sql.insert_new(conn, h, self.run_id, lo, hi,
                                                           utcnow_naive(self.clock))
                self.result.created += created
                self.result.points_new += points
                self.result.points_total += settlement_sql.totals(conn, lo, hi)
                changed = []
                for m in changed_ids:
                    c = python[m][0]
                    if c.result_hash != old[m][5]:
                        raise SettlementError(f"member {m}: the SQL and Python fingerprints differ")
                    changed.append((c, old[m][1:5]))
                t = self.result.tick("write", t)
                if changed:
                    _write_chunk(conn, half, self.run_id, ids, self.clock, self.result, [], changed)
                conn.execute(update(SettlementRun).where(SettlementRun.id == self.run_id)
                             .values(heartbeat_at=utcnow_naive(self.clock)))
                t0 = time.perf_counter()
            self.result.tick("commit", t0)
        return seen

    def _python_results(self, member_ids: list[int], groups: Groups, lo: int,
                        hi: int) -> dict[int, tuple[Computed, list, list[Row]]]:
        """Some members computed by line_for (sampled for the check, or changed)."""
        if not member_ids:
            return {}
        by_member: dict[int, list[Row]] = {}
        for row in _rows(self.reader, self.rules, ids=member_ids):
            by_member.setdefault(row.member_id, []).append(row)
        earlier = _won_earlier(self.reader, self.half, lo, hi)
        out = {}
        for m, rows in by_member.items():
            c, picked = _compute_member(rows, self.half, self.rules, self.tables, self.lgs, groups,
                                        earlier.get(m, 0))
            out[m] = (c, picked, rows)
        return out

    def _check_sample(self, sample: list[int], python: dict) -> None:
        """The SQL results of sampled members equal line_for's, fingerprint included, and
        core.points' (verify_with_pure_engine)."""
        from core import settlement_sql

        for m, (statement, lines) in settlement_sql.read_back(self.reader, sample).items():
            c, picked, rows = python[m]
            mine = settlement_sql.as_computed(statement, lines, c.rows)
            if _comparable(mine) != _comparable(c):
                raise SettlementError(f"member {m}: SQL result differs from line_for "
                                      f"(SQL {_comparable(mine)}; Python {_comparable(c)})")
            verify_with_pure_engine(rows, mine, picked, self.half, self.rules)
            self.result.verified += 1

    def close(self) -> None:
        try:
            with self.reader.begin():
                if self.reader.dialect.name == "postgresql":
                    from core.settlement_sql import drop_results
                    drop_results(self.reader)
                self.reader.execute(text("DROP TABLE IF EXISTS tmp_settle"))
            _reset_connection(self.reader)
        finally:
            self.reader.close()
            if self.writer is not None:
                self.writer.close()


def _compute_member(rows: list[Row], half, rules, tables: dict[str, Plan], lgs, groups,
                    won_earlier: int) -> tuple[Computed, list]:
    first = rows[0]
    plan = tables[first.points_table]
    table, schedule = plan.table, plan.schedule
    if len(rows) > 1:
        order, last = plan.order, len(plan.order)
        rows = sorted(rows, key=lambda r: order.get(r.resource, last))
    picked = [groups.for_row(row) for row in rows]
    lines = [line_for(row, group, plan) for row, group in zip(rows, picked)]
    if rules.maintenance_streak_scope == "household":
        before = first.streak_before
        after = next_streak(before, any(ln.earned_reduction for ln in lines),
                            any(ln.maintenance > 0 for ln in lines), rules)
        for ln in lines:
            ln.streak_after = after
    lg = lgs.get(first.lg_code) if first.lg_code else None
    rate = lg.rate if lg else validate_rate(rules.rate.default, rules)
    before_cap = sum(ln.points for ln in lines)
    points = min(before_cap, schedule.cap_points_per_half)
    won_before = won_for(points, rate)
    room = max(0, schedule.cap_won_per_year - won_earlier)
    c = Computed(first.member_id, first.member_type, table.name, schedule.name,
                 first.lg_code if lg else None, rate, lines, before_cap, points, won_before,
                 min(won_before, room), schedule.cap_points_per_half, schedule.cap_won_per_year,
                 lg.payout_month if lg else half.payout_month(rules), won_earlier, rows)
    c.result_hash = _hash(c, rules)
    return c, picked


def _comparable(c: Computed) -> tuple:
    """Everything a statement and its lines store, as plain values (engines compared)."""
    lines = tuple((ln.resource, ln.account_id, ln.evaluated, ln.reason,
                   json.dumps(ln.params or {}, sort_keys=True), ln.baseline, ln.actual,
                   ln.rate_display, ln.band, ln.reduction, ln.maintenance, ln.standard,
                   ln.qualified, ln.earned_reduction, ln.streak_before, ln.streak_after,
                   (ln.group.level, ln.group.n, ln.group.total_actual) if ln.group else None,
                   json.dumps(ln.detail, sort_keys=True) if ln.detail else None)
                  for ln in c.lines)
    return (c.member_id, c.member_type, c.points_table, c.schedule, c.lg_code, c.rate,
            c.points_before_cap, c.points, c.won_before_cap, c.won, c.cap_points, c.cap_won,
            c.payout_month, c.won_earlier, c.result_hash, lines)


def verify_with_pure_engine(rows: list[Row], c: Computed, groups, half: Half, rules: Rules) -> None:
    """Recompute one member with core.points.award.compute_statement; raise on any difference."""
    from core.points.award import compute_statement
    from core.points.evaluation import ResourceInput

    order = {r: i for i, r in enumerate(rules.resources)}
    rows = sorted(rows, key=lambda r: order.get(r.resource, len(order)))
    items = []
    for row, group in zip(rows, groups):
        readings = {}
        for prefix, back in (("a", 0), ("p", 100), ("q", 200)):
            for i, m in enumerate(half.months):
                v = getattr(row, prefix)[i]
                if v is not None:
                    readings[m - back] = Decimal(v) / MILLI
        items.append(ResourceInput(row.resource, readings, row.billing_mode, row.registered_on,
                                   row.tariff, row.streak_before, group))
    st = compute_statement(c.member_type, half, items, rules, c.rate,
                           won_paid_earlier_in_year=c.won_earlier, payout_month=c.payout_month)
    mine = [(ln.resource, ln.evaluated, ln.reason, json.dumps(ln.params, sort_keys=True, default=list),
             ln.baseline, ln.actual, ln.rate_display, ln.band, ln.reduction, ln.maintenance,
             ln.standard, ln.qualified, ln.earned_reduction, ln.streak_before, ln.streak_after)
            for ln in c.lines]
    pure = [(ln.resource, ln.evaluated, ln.reason,
             json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in ln.reason_params.items()},
                        sort_keys=True, default=list),
             ln.baseline, ln.actual, ln.rate_display, ln.band, ln.reduction_points,
             ln.maintenance_points, ln.standard_points, ln.standard_usage_qualified,
             ln.earned_reduction, ln.streak_before, ln.streak_after) for ln in st.lines]
    totals_mine = (c.points_before_cap, c.points, c.won_before_cap, c.won, c.payout_month)
    totals_pure = (st.points_before_cap, st.points, st.won_before_cap, st.won, st.payout_month)
    if mine != pure or totals_mine != totals_pure:
        raise SettlementError(
            f"member {c.member_id}: set-based result differs from core.points "
            f"(set-based {mine} {totals_mine}; pure {pure} {totals_pure})")


def _won_earlier(conn: Connection, half: Half, lo: int, hi: int) -> dict[int, int]:
    if half.number == 1:
        return {}
    rows = conn.execute(text(
        "SELECT s.member_id, CASE WHEN pl.id IS NULL THEN s.won WHEN pl.status = 'skipped' THEN 0"
        " ELSE pl.won END FROM point_statements s LEFT JOIN payout_lines pl ON pl.statement_id = s.id"
        " WHERE s.half = :h AND s.member_id BETWEEN :lo AND :hi"),
        {"h": str(half.sibling()), "lo": lo, "hi": hi}).all()
    return {m: int(w) for m, w in rows}


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
    st = PointStatement.__table__
    ln = StatementLine.__table__
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


def _read_and_compute(conn, half, rules, tables, lgs, groups, ids, result, verify_step, offset,
                      seen_groups) -> tuple[list, list]:
    """Read one chunk of members (staging rows, existing statements, won counted earlier in
    the year) and compute them: (new statements, changed statements with their old version)."""
    lo, hi = ids[0], ids[-1]
    h = str(half)
    t = time.perf_counter()
    by_member: dict[int, list[Row]] = {}
    for row in _rows(conn, rules, lo, hi):
        by_member.setdefault(row.member_id, []).append(row)
    existing = {m: (sid, rh, pts, ver) for sid, m, rh, pts, ver in conn.execute(text(
        "SELECT id, member_id, result_hash, points, version FROM point_statements"
        " WHERE half = :h AND member_id BETWEEN :lo AND :hi"), {"h": h, "lo": lo, "hi": hi})}
    earlier = _won_earlier(conn, half, lo, hi)
    t = result.tick("read", t)

    new: list[Computed] = []
    changed: list[tuple[Computed, tuple]] = []
    for i, member_id in enumerate(ids):
        rows = by_member[member_id]
        c, picked = _compute_member(rows, half, rules, tables, lgs, groups, earlier.get(member_id, 0))
        for row, ln in zip(c.rows, c.lines):
            if ln.evaluated:
                acc = seen_groups.get((row.lg_code, row.sido, row.points_table, row.resource))
                if acc is None:
                    acc = seen_groups[(row.lg_code, row.sido, row.points_table, row.resource)] = [0, 0]
                acc[0] += 1
                acc[1] += ln.actual_milli
        if verify_step and (offset + i) % verify_step == 0:
            verify_with_pure_engine(rows, c, picked, half, rules)
            result.verified += 1
        result.points_total += c.points
        old = existing.get(member_id)
        if old is None:
            new.append(c)
        elif old[1] != c.result_hash:
            changed.append((c, old))
        else:
            result.unchanged += 1
    result.tick("compute", t)
    return new, changed


def _write_chunk(conn, half, run_id, ids, clock, result, new, changed) -> None:
    """Write one computed chunk: new statements with lines and ledger entries; changed ones
    with a revision, replaced lines and an adjustment entry."""
    lo, hi = ids[0], ids[-1]
    h = str(half)
    now = utcnow_naive(clock)
    t = time.perf_counter()
    st = PointStatement.__table__
    ln_t = StatementLine.__table__
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
        conn.execute(StatementRevision.__table__.insert(), [{
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
