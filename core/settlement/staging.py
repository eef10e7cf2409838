"""The settlement's staging: one compact row per member resource, in a temporary table.

One aggregate query (GROUP BY account over ``meter_readings`` joined on the supply-key hash, an
inner join left-joined back to the accounts, so PostgreSQL hashes the accounts rather than the
readings; ``CREATE TEMPORARY TABLE ... AS`` there, which may run in parallel where an
``INSERT ... SELECT`` never does) fills ``tmp_settle`` with one row per member resource: the six
actual months of the half and the same months one and two years before, as integer thousandths
(exact on both backends), plus the member type, the 시군구 at the half's end (address history),
the account's billing mode/tariff/registration day and the streak stored on the previous half's
line (both joined, not looked up row by row).

Read by both engines and by core.monthly (monthly results use the same readings).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    text,
)
from sqlalchemy.engine import Connection

from core.db_bulk import analyze_temporary, driver_connection
from core.points.periods import Half
from core.rules import Rules
from core.settlement.python_engine import Row, expand_groups
from core.settlement.sql_engine import evaluated_sql


def staging_table() -> Table:
    cols: list[Column[Any]] = [Column("member_id", Integer), Column("account_id", Integer, primary_key=True),
            Column("resource", String(16)), Column("billing_mode", String(16)),
            Column("tariff", String(24)), Column("registered_on", Date),
            Column("member_type", String(24)), Column("lg_code", String(16)),
            Column("sido", String(32)), Column("streak_before", Integer)]
    cols += [Column(f"{p}{i}", BigInteger) for p in "apq" for i in range(1, 7)]
    return Table("tmp_settle", MetaData(), *cols, prefixes=["TEMPORARY"])


def fill_staging(conn: Connection, tmp: Table, half: Half, rules: Rules,
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
    # Spec E5: a month of the half billed under an excluded tariff (meter_readings.tariff, from
    # the import's tariff column) excludes the resource as the account's own tariff does.
    excluded = ", ".join(f"'{t}'" for t in sorted(rules.excluded_electricity_tariffs) if t.isidentifier())
    reading_tariff = (f"MAX(CASE WHEN r.month IN ({', '.join(str(m) for m in months)})"
                      f" AND r.tariff IN ({excluded}) THEN r.tariff END)" if excluded else "NULL")

    def in_range(column: str) -> str:  # one worker's share of the members, when given
        if lo is None:
            return ""
        if hi is None:
            raise ValueError("a member range needs both lo and hi")
        return f" AND {column} BETWEEN {int(lo)} AND {int(hi)}"

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
  ra.billing_mode AS billing_mode, COALESCE(agg.tariff, ra.tariff) AS tariff, ra.registered_on AS registered_on,
  m.member_type AS member_type, lga.code AS lg_code, lga.sido AS sido,
  COALESCE(pl.streak, 0) AS streak_before,
  {", ".join(f"agg.{p}{i} AS {p}{i}" for p in "apq" for i in range(1, 7))}
FROM resource_accounts ra
LEFT JOIN (
  SELECT ra.id AS account_id, {reading_tariff} AS tariff,
  {pivots}
  FROM resource_accounts ra
  JOIN meter_readings r ON r.resource = ra.resource AND r.company = ra.company
    AND r.supply_key_hash = ra.supply_key_hash
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


ROW_COLUMNS = ("member_id, account_id, resource, billing_mode, tariff, registered_on, member_type,"
                " lg_code, sido, streak_before, "
                + ", ".join(f"{p}{i}" for p in "apq" for i in range(1, 7)))


def read_rows(conn: Connection, rules: Rules, lo: int | None = None,
          hi: int | None = None, ids: Sequence[int] | None = None) -> Iterable[Row]:
    """Staging rows through the driver cursor (no per-row ORM/Core processing), in member
    order; a member range when lo/hi are given, some members when ids are (PostgreSQL).
    Server-side cursor on PostgreSQL for the whole table."""
    where = " WHERE member_id BETWEEN %(lo)s AND %(hi)s" if lo is not None else ""
    if ids is not None:
        where = " WHERE member_id = ANY(%(ids)s)"
    sql = f"SELECT {ROW_COLUMNS} FROM tmp_settle{where} ORDER BY member_id, account_id"
    raw = driver_connection(conn)
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


def group_sums(conn: Connection, half: Half, rules: Rules) -> dict[tuple, list[int]]:
    """n and Σ A_H (thousandths) of evaluated resources per 시군구 / 시도 / nation, points table
    and resource (spec §7.1), from the staging table."""
    table_case = "CASE member_type " + " ".join(
        f"WHEN '{t}' THEN '{name}'" for t, name in sorted(rules.points_table_by_member_type.items())
        if t.isidentifier()) + " END"
    actual = " + ".join(f"a{i}" for i in range(1, 7))
    where = evaluated_sql(rules)
    sql = (f"SELECT lg_code, sido, {table_case} AS pt, resource, COUNT(*), SUM({actual})"
           f" FROM tmp_settle WHERE {where} GROUP BY lg_code, sido, pt, resource")
    stmt = text(sql).bindparams(bindparam("start", type_=Date()))
    base = {tuple(r[:4]): [int(r[4]), int(r[5])] for r in conn.execute(stmt, {"start": half.start})}
    sums = expand_groups(base)
    return sums


def won_earlier(conn: Connection, half: Half, lo: int, hi: int) -> dict[int, int]:
    """Won already counted in the year for members in [lo, hi] (H2 only: the H1 payout, 0 when
    skipped, else the H1 statement's expected won), for the yearly won cap."""
    if half.number == 1:
        return {}
    rows = conn.execute(text(
        "SELECT s.member_id, CASE WHEN pl.id IS NULL THEN s.won WHEN pl.status = 'skipped' THEN 0"
        " ELSE pl.won END FROM point_statements s LEFT JOIN payout_lines pl ON pl.statement_id = s.id"
        " AND pl.status <> 'released'"
        " WHERE s.half = :h AND s.member_id BETWEEN :lo AND :hi"),
        {"h": str(half.sibling()), "lo": lo, "hi": hi}).all()
    return {m: int(w) for m, w in rows}
