"""The settlement's SQL engine, for PostgreSQL: lines, statements and fingerprints are computed
from the staging table inside the database and new statements are written with
``INSERT ... SELECT``, so no member travels to Python and back.

Why: on PostgreSQL the cost of a settlement after staging was reading every staging row into
Python, computing it there and sending every line back through COPY; the same arithmetic in
SQL over integer thousandths takes a fraction of that (bench/settlement.py).

The SQL is generated from the same data as core.settlement.python_engine.line_for (the
per-table :class:`~core.settlement.python_engine.Plan`: bands, incentives, half-wide settings),
and it mirrors that function branch for branch. Trust comes from checks on every run, not from
reading: a sample of members (``verify``) is read back and compared with core.points (the pure
engine) and with the Python engine's line arithmetic and fingerprint; any difference fails the
run. Statements whose inputs changed since the last run are rare (corrected readings) and go
through the Python path (core.settlement.write), which keeps their revision and adjustment
logic in one place.

:func:`evaluated_sql` (which resources are evaluated) also serves SQLite: the standard-usage
group sums of the staging table (core.settlement.staging.group_sums).

Layers are subqueries fenced with ``OFFSET 0``: PostgreSQL would otherwise pull them up and
evaluate every intermediate expression (S2, the difference, the band) once per use.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from core import ledger
from core.db_bulk import analyze_temporary
from core.local_government_rates import LgInfo
from core.points import reasons
from core.points.periods import Half
from core.points.standard_usage import GroupStats
from core.rules import Rules, validate_rate
from core.settlement.python_engine import (
    ELECTRICITY,
    Computed,
    Groups,
    Line,
    Plan,
    hundredths_text,
)


def lit(value: str) -> str:
    """A SQL string literal (rule data and codes only; never citizen input)."""
    return "'" + str(value).replace("'", "''") + "'"


def _case(subject: str, mapping: Iterable[tuple[str, str]], default: str = "NULL") -> str:
    whens = " ".join(f"WHEN {lit(k)} THEN {v}" for k, v in mapping)
    return f"(CASE {subject} {whens} ELSE {default} END)" if whens else default


def _per_resource(points, resources: tuple[str, ...]) -> str:
    """Points by resource as a CASE on the line's resource (a missing resource is NULL, so the
    insert fails rather than paying 0 silently)."""
    return _case("resource", [(r, str(int(points[r]))) for r in resources if r in points])


def evaluated_sql(rules: Rules) -> str:
    """SQL twin of the eligibility and evaluation of :func:`~core.settlement.python_engine.line_for`
    (evaluated = no reason), for the standard-usage group sums on both backends. Checked on
    every run: the sums must equal the evaluated lines (core.settlement.run)."""
    excluded = ", ".join(f"'{t}'" for t in sorted(rules.excluded_electricity_tariffs)
                         if t.replace("_", "").isalnum()) or "''"
    actual = " AND ".join(f"a{i} IS NOT NULL" for i in range(1, 7))
    any_base = " OR ".join(f"{p}{i} IS NOT NULL" for p in "pq" for i in range(1, 7))
    base_sum = " + ".join(f"COALESCE({p}{i}, 0)" for p in "pq" for i in range(1, 7))
    return (f"billing_mode <> 'not_used'"
            f" AND NOT (resource = 'electricity' AND COALESCE(tariff, '') IN ({excluded}))"
            f" AND (registered_on IS NULL OR registered_on <= :start)"
            f" AND {actual} AND ({any_base}) AND ({base_sum}) > 0")


def line_sql(plans: dict[str, Plan], rules: Rules, half: Half) -> str:
    """SELECT of one row per staging row with every column of statement_lines (but the
    statement id) plus the fingerprint text of the line, its position and points table."""
    months = half.months
    resources = tuple(rules.resources)
    any_plan = next(iter(plans.values()))  # the half-wide settings are in every plan
    table_of = sorted(rules.points_table_by_member_type.items())
    pt = _case("member_type", [(t, lit(name)) for t, name in table_of])
    pos = _case("resource", [(r, str(i)) for i, r in enumerate(resources)], str(len(resources)))
    excluded = ", ".join(lit(t) for t in sorted(any_plan.excluded_tariffs))
    inel = (f"CASE WHEN billing_mode = 'not_used' THEN {lit(reasons.RESOURCE_NOT_USED)}"
            + (f" WHEN resource = {lit(ELECTRICITY)} AND tariff IN ({excluded})"
               f" THEN {lit(reasons.EXCLUDED_TARIFF)}" if excluded else "")
            + f" WHEN registered_on > DATE '{any_plan.start.isoformat()}'"
              f" THEN {lit(reasons.NOT_REGISTERED_FOR_HALF)} END")
    s2 = " + ".join(
        f"(CASE WHEN p{i} IS NOT NULL THEN (CASE WHEN q{i} IS NOT NULL THEN p{i} + q{i}"
        f" ELSE 2 * p{i} END) WHEN q{i} IS NOT NULL THEN 2 * q{i} ELSE 0 END)" for i in range(1, 7))
    k = " + ".join(f"(CASE WHEN p{i} IS NOT NULL OR q{i} IS NOT NULL THEN 1 ELSE 0 END)"
                   for i in range(1, 7))
    act = " + ".join(f"a{i}" for i in range(1, 7))  # NULL when a month is missing

    def months_where(cond: str) -> str:
        return ("array_remove(ARRAY[" + ", ".join(
            f"CASE WHEN {cond.format(i=i)} THEN {m} END" for i, m in enumerate(months, 1))
            + "]::int[], NULL)")

    filled = months_where("p{i} IS NULL AND q{i} IS NULL")
    fallback = months_where("(p{i} IS NULL) <> (q{i} IS NULL)")
    missing = months_where("a{i} IS NULL")
    gaps = " OR ".join(f"{p}{i} IS NULL" for p in "pq" for i in range(1, 7))

    # bands: the highest whose cross-multiplied test holds, per points table
    band_no = _case("pt", [(name, "(CASE " + " ".join(
        f"WHEN {100 * den} * diff >= {num} * base3 THEN {n}"
        for n, (num, den, _, _) in reversed(list(enumerate(plan.bands, 1)))) + " END)")
        for name, plan in plans.items() if plan.bands])
    band_rate = _case("pt", [(name, "(CASE band_no " + " ".join(
        f"WHEN {n} THEN {rate}::numeric" for n, (_, _, rate, _) in enumerate(plan.bands, 1))
        + " END)") for name, plan in plans.items() if plan.bands])
    reduction = _case("pt", [(name, "(CASE band_no " + " ".join(
        f"WHEN {n} THEN {_per_resource(points, resources)}"
        for n, (_, _, _, points) in enumerate(plan.bands, 1)) + " END)")
        for name, plan in plans.items() if plan.bands])
    maint_ok = _case("pt", [(name, f"streak_before >= {int(plan.maintenance_min_streak)}")
                            for name, plan in plans.items() if plan.maintenance], "FALSE")
    maint_pts = _case("pt", [(name, _per_resource(plan.maintenance, resources))
                             for name, plan in plans.items() if plan.maintenance], "0")
    std_offered = _case("pt", [(name, "TRUE") for name, plan in plans.items() if plan.standard],
                        "FALSE")
    std_pts = _case("pt", [(name, _per_resource(plan.standard, resources))
                           for name, plan in plans.items() if plan.standard], "0")
    threshold = _case("pt", [(name, lit(plan.threshold)) for name, plan in plans.items()])
    may_test = "evaluated" if any_plan.standard_needs_evaluation else "act_e IS NOT NULL"
    if any_plan.stacking:
        final = ("red AS red_f, maint AS maint_f, std AS std_f, band_no IS NOT NULL AS earned")
    else:  # one incentive only: the largest, reduction before maintenance before standard
        best = "GREATEST(red, maint, std)"
        final = (f"CASE WHEN red = {best} THEN red ELSE 0 END AS red_f,"
                 f" CASE WHEN red <> {best} AND maint = {best} THEN maint ELSE 0 END AS maint_f,"
                 f" CASE WHEN red <> {best} AND maint <> {best} THEN std ELSE 0 END AS std_f,"
                 f" band_no IS NOT NULL AND NOT (red <> {best} AND maint <> {best} AND std > 0)"
                 f" AS earned")
    keeps = "TRUE" if any_plan.keeps_streak else "FALSE"
    if rules.maintenance_streak_scope == "household":
        streak = (f"CASE WHEN bool_or(earned) OVER w THEN streak_before + 1"
                  f" WHEN {keeps} AND bool_or(maint_f > 0) OVER w THEN streak_before ELSE 0 END")
        window = " WINDOW w AS (PARTITION BY member_id)"
    else:
        streak = (f"CASE WHEN earned THEN streak_before + 1"
                  f" WHEN {keeps} AND maint_f > 0 THEN streak_before ELSE 0 END")
        window = ""
    shown = ("(CASE WHEN diff < 0 THEN '-' ELSE '' END || (abs(rq) / 100)::text || '.'"
             " || lpad((abs(rq) % 100)::text, 2, '0'))")
    stored_group = "(qualified OR (g_n IS NOT NULL AND evaluated))"
    readings = ", ".join(f"{p}{i}" for p in "apq" for i in range(1, 7))
    # numeric results by multiplication (exact: B_H has at most 5 decimals, A_H 3, the rate 2)
    return f"""
SELECT member_id, account_id, resource, pt, pos, lg_code, sido, member_type,
  evaluated, reason, params AS reason_params,
  CASE WHEN inel IS NULL AND k > 0 THEN ((300 * s2) / k) * 0.00001 END AS baseline,
  act_e * 0.001 AS actual, rq, diff, rq * 0.01 AS rate,
  band, red_f AS reduction_points, maint_f AS maintenance_points, std_f AS standard_points,
  red_f + maint_f + std_f AS points, qualified AS standard_usage_qualified,
  earned AS earned_reduction, streak_before, {streak} AS streak_after,
  CASE WHEN {stored_group} THEN g_level END AS group_level,
  CASE WHEN {stored_group} THEN g_n END AS group_n,
  CASE WHEN {stored_group} THEN g_total * 0.001 END AS group_total,
  detail::json AS detail, act_e,
  resource || '|' || billing_mode || '|' || COALESCE(tariff, '') || '|' || array_to_string(ARRAY[
    account_id, streak_before, registered_on - DATE '1970-01-01', {readings},
    CASE WHEN qualified THEN 1 ELSE 0 END]::bigint[], '|', '')
    || '|' || COALESCE(CASE WHEN {stored_group} THEN g_level END, '') AS fp
FROM (
 SELECT *, {final}
 FROM (
  SELECT *,
    CASE WHEN band_no IS NOT NULL THEN {reduction} ELSE 0 END AS red,
    CASE WHEN evaluated AND band_no IS NULL AND diff > 0 AND {maint_ok} THEN {maint_pts} ELSE 0
      END AS maint,
    CASE WHEN band_no IS NOT NULL THEN {band_rate} END AS band,
    CASE WHEN reason0 IS NOT NULL THEN reason0 WHEN band_no IS NOT NULL THEN NULL
      WHEN diff <= 0 THEN {lit(reasons.NO_REDUCTION)}
      WHEN {maint_ok} THEN NULL
      ELSE {lit(reasons.BELOW_THRESHOLD)} END AS reason,
    CASE WHEN reason0 = {lit(reasons.ACTUAL_MONTH_MISSING)}
        THEN json_build_object('months', {missing}, 'resource', resource)
      WHEN evaluated AND band_no IS NULL AND diff > 0 AND NOT {maint_ok}
        THEN json_build_object('rate', {shown}, 'threshold', {threshold}) END AS params,
    CASE WHEN inel IS NULL AND ({gaps}) THEN NULLIF(json_strip_nulls(json_build_object(
        'filled', CASE WHEN k > 0 AND cardinality({filled}) > 0 THEN to_json({filled}) END,
        'fallback', CASE WHEN cardinality({fallback}) > 0 THEN to_json({fallback}) END))::text, '{{}}')
      END AS detail,
    CASE WHEN qualified THEN {std_pts} ELSE 0 END AS std
  FROM (
   SELECT *,
     CASE WHEN evaluated THEN {band_no} END AS band_no,
     CASE WHEN evaluated THEN (10000 * diff) / base3 END AS rq,
     ({std_offered} AND g_n IS NOT NULL AND (evaluated OR {may_test})
      AND 2 * act_e::numeric * g_n <= g_total) IS TRUE AS qualified
   FROM (
    SELECT *,
      CASE WHEN inel IS NOT NULL THEN inel WHEN k = 0 THEN {lit(reasons.NO_BASELINE)}
        WHEN s2 = 0 THEN {lit(reasons.ZERO_BASELINE)}
        WHEN act IS NULL THEN {lit(reasons.ACTUAL_MONTH_MISSING)} END AS reason0,
      (inel IS NULL AND k > 0 AND s2 > 0 AND act IS NOT NULL) AS evaluated,
      3 * s2 AS base3, 3 * s2 - k * act AS diff,
      CASE WHEN inel IS NULL THEN act END AS act_e
    FROM (
     SELECT t.*, g.level AS g_level, g.n AS g_n, g.total AS g_total
     FROM (SELECT member_id, account_id, resource, billing_mode, tariff, registered_on,
             member_type, lg_code, sido, streak_before, {readings}, {pt} AS pt, {pos} AS pos,
             {inel} AS inel, {s2} AS s2, {k} AS k, {act} AS act
           FROM tmp_settle OFFSET 0) t
     LEFT JOIN tmp_settle_groups g ON g.lg = COALESCE(t.lg_code, '') AND g.sido = COALESCE(t.sido, '')
       AND g.pt = t.pt AND g.resource = t.resource
     OFFSET 0) base
    OFFSET 0) ev
   OFFSET 0) banded
  OFFSET 0) awarded
 OFFSET 0) chosen{window}
"""


def statement_sql(plans: dict[str, Plan], rules: Rules, half: Half, rules_key: str) -> str:
    """SELECT of one row per member over tmp_settle_lines: every column of point_statements
    that settlement computes, and the fingerprint (python_engine.fingerprint, in SQL)."""
    sched = _case("pt", [(n, lit(p.schedule.name)) for n, p in plans.items()])
    cap_p = _case("pt", [(n, str(int(p.schedule.cap_points_per_half))) for n, p in plans.items()])
    cap_w = _case("pt", [(n, str(int(p.schedule.cap_won_per_year))) for n, p in plans.items()])
    default_rate = validate_rate(rules.rate.default, rules)
    if half.number == 2:
        earlier = (
            "LEFT JOIN (SELECT s.member_id, CASE WHEN pl.id IS NULL THEN s.won"
            " WHEN pl.status = 'skipped' THEN 0 ELSE pl.won END AS won FROM point_statements s"
            " LEFT JOIN payout_lines pl ON pl.statement_id = s.id AND pl.status <> 'released'"
            f" WHERE s.half = {lit(str(half.sibling()))}) we ON we.member_id = x.member_id")
        won_earlier = "COALESCE(we.won, 0)"
    else:
        earlier, won_earlier = "", "0"
    return f"""
SELECT member_id, member_type, pt AS points_table, {sched} AS schedule, lg_code, rate,
  points_before_cap, points, won_before_cap,
  LEAST(won_before_cap, GREATEST(0, {cap_w} - won_earlier)) AS won,
  {cap_p} AS cap_points_per_half, {cap_w} AS cap_won_per_year, payout_month, won_earlier,
  md5({lit(rules_key)} || '|' || member_type || '|' || COALESCE(lg_code, '') || '|' || rate_text
      || '|' || won_earlier || '|' || payout_month || ';' || fp) AS result_hash
FROM (
  SELECT *, floor(points * rate)::bigint AS won_before_cap
  FROM (
    SELECT x.member_id, x.member_type, x.pt, lg.code AS lg_code,
      COALESCE(lg.rate, {default_rate}::numeric) AS rate,
      COALESCE(lg.rate_text, {lit(str(default_rate))}) AS rate_text,
      COALESCE(lg.payout_month, {int(half.payout_month(rules))}) AS payout_month,
      x.points_before_cap, LEAST(x.points_before_cap, {cap_p}) AS points,
      {won_earlier} AS won_earlier, x.fp
    FROM (
      SELECT member_id, MIN(member_type) AS member_type, MIN(pt) AS pt, MIN(lg_code) AS lg_code,
        SUM(points) AS points_before_cap, string_agg(fp, ';' ORDER BY pos, account_id) AS fp
      FROM tmp_settle_lines GROUP BY member_id
    ) x
    LEFT JOIN tmp_settle_lg lg ON lg.code = x.lg_code
    {earlier}
    OFFSET 0) y
  OFFSET 0) z
"""


def stage_results(conn: Connection, half: Half, rules: Rules, plans: dict[str, Plan],
                  lgs: dict[str, LgInfo], groups: Groups, rules_key: str) -> None:
    """Compute tmp_settle_lines and tmp_settle_statements from tmp_settle (one connection:
    temporary tables are the session's)."""
    conn.execute(text("CREATE TEMPORARY TABLE tmp_settle_lg (code text PRIMARY KEY,"
                      " rate numeric, rate_text text, payout_month int)"))
    if lgs:
        conn.execute(text("INSERT INTO tmp_settle_lg VALUES (:c, :r, :t, :m)"),
                     [{"c": lg.code, "r": lg.rate, "t": str(lg.rate), "m": lg.payout_month}
                      for lg in lgs.values()])
    conn.execute(text("CREATE TEMPORARY TABLE tmp_settle_groups (lg text, sido text, pt text,"
                      " resource text, level text, n bigint, total bigint)"))
    table_of = rules.points_table_by_member_type
    keys = conn.execute(text(
        "SELECT DISTINCT lg_code, sido, member_type, resource FROM tmp_settle")).all()
    picks = {}
    for lg_code, sido, member_type, resource in keys:
        if member_type not in table_of:
            continue
        key = (lg_code, sido, table_of[member_type], resource)
        if key not in picks:
            picks[key] = groups.for_key(*key)
    rows = [{"lg": lg or "", "sido": sido or "", "pt": pt, "res": res, "level": g.level, "n": g.n,
             "total": int(g.total_actual * 1000)}
            for (lg, sido, pt, res), g in picks.items() if g is not None]
    if rows:
        conn.execute(text("INSERT INTO tmp_settle_groups VALUES (:lg, :sido, :pt, :res, :level,"
                          " :n, :total)"), rows)
    analyze_temporary(conn, "tmp_settle_groups")  # a few hundred rows: hashed, not sorted
    conn.execute(text("CREATE TEMPORARY TABLE tmp_settle_lines AS " + line_sql(plans, rules, half)))
    conn.execute(text("CREATE INDEX ix_tmp_settle_lines ON tmp_settle_lines (member_id, pos)"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_settle_statements AS "
                      + statement_sql(plans, rules, half, rules_key)))
    conn.execute(text("CREATE UNIQUE INDEX ix_tmp_settle_statements"
                      " ON tmp_settle_statements (member_id)"))
    analyze_temporary(conn, "tmp_settle_lines", "tmp_settle_statements")


def drop_results(conn: Connection) -> None:
    for name in ("tmp_settle_statements", "tmp_settle_lines", "tmp_settle_groups", "tmp_settle_lg"):
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def evaluated_sums(conn: Connection) -> dict[tuple, list[int]]:
    """n and Σ A_H of the evaluated lines per (시군구, 시도, table, resource)."""
    return {(lg, sido, pt, res): [int(n), int(total)] for lg, sido, pt, res, n, total in conn.execute(text(
        "SELECT lg_code, sido, pt, resource, COUNT(*), SUM(act_e) FROM tmp_settle_lines"
        " WHERE evaluated GROUP BY lg_code, sido, pt, resource"))}


LINE_OUT = ("member_id", "half", "resource", "account_id", "evaluated", "reason", "reason_params",
            "baseline", "actual", "rate", "band", "reduction_points", "maintenance_points",
            "standard_points", "points", "standard_usage_qualified", "earned_reduction",
            "streak_before", "streak_after", "group_level", "group_n", "group_total", "detail")


def insert_new(conn: Connection, half: str, run_id: int, lo: int, hi: int, now) -> tuple[int, int]:
    """Insert the statements of members in [lo, hi] that have none for the half yet, with their
    lines and ``settlement`` ledger entries, in one statement. Returns (statements, points)."""
    h = lit(half)
    lines_sel = ", ".join("s.id" if c == "statement_id" else
                          (h if c == "half" else f"l.{c}") for c in ("statement_id", *LINE_OUT))
    row = conn.execute(text(f"""
WITH ins AS (
  INSERT INTO point_statements (member_id, half, member_type, points_table, schedule,
    local_government_code, rate, points_before_cap, points, won_before_cap, won,
    cap_points_per_half, cap_won_per_year, payout_month, result_hash, settlement_run_id,
    updated_at, status, version, created_at)
  SELECT t.member_id, {h}, t.member_type, t.points_table, t.schedule, t.lg_code, t.rate,
    t.points_before_cap, t.points, t.won_before_cap, t.won, t.cap_points_per_half,
    t.cap_won_per_year, t.payout_month, t.result_hash, :run, :now, 'expected', 1, :now
  FROM tmp_settle_statements t
  WHERE t.member_id BETWEEN :lo AND :hi AND NOT EXISTS (
    SELECT 1 FROM point_statements p WHERE p.member_id = t.member_id AND p.half = {h}
      AND p.member_id BETWEEN :lo AND :hi)
  ORDER BY t.member_id
  RETURNING id, member_id, points
), lines AS (
  INSERT INTO statement_lines (statement_id, {", ".join(LINE_OUT)})
  SELECT {lines_sel} FROM ins s JOIN tmp_settle_lines l ON l.member_id = s.member_id
  ORDER BY l.member_id, l.pos, l.account_id
), entries AS (
  INSERT INTO points_ledger (member_id, half, kind, points, run_id, reference, created_at)
  SELECT member_id, {h}, {lit(ledger.SETTLEMENT)}, points, :run,
    'statement:' || id || ':' || 'v1', :now FROM ins WHERE points <> 0 ORDER BY member_id
)
SELECT COUNT(*), COALESCE(SUM(points), 0) FROM ins"""),
        {"run": run_id, "now": now, "lo": lo, "hi": hi}).one()
    return int(row[0]), int(row[1])


def existing(conn: Connection, half: str, lo: int, hi: int) -> Sequence[Row[Any]]:
    """(member_id, stored id, stored hash, points, version, new hash) of members in [lo, hi]
    that already have a statement for the half."""
    return conn.execute(text(
        "SELECT t.member_id, p.id, p.result_hash, p.points, p.version, t.result_hash"
        " FROM tmp_settle_statements t JOIN point_statements p ON p.member_id = t.member_id"
        " AND p.half = :half AND p.member_id BETWEEN :lo AND :hi"
        " WHERE t.member_id BETWEEN :lo AND :hi"),
        {"half": half, "lo": lo, "hi": hi}).all()


def totals(conn: Connection, lo: int, hi: int) -> int:
    return int(conn.execute(text(
        "SELECT COALESCE(SUM(points), 0) FROM tmp_settle_statements"
        " WHERE member_id BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi}).scalar_one())


def read_back(conn: Connection, member_ids: list[int]) -> dict[int, tuple[dict, list[dict]]]:
    """The computed statement and lines of some members, as mappings (verification)."""
    out: dict[int, tuple[dict, list[dict]]] = {}
    if not member_ids:
        return out
    for row in conn.execute(text("SELECT * FROM tmp_settle_statements WHERE member_id = ANY(:ids)"),
                            {"ids": member_ids}).mappings():
        out[row["member_id"]] = (dict(row), [])
    for row in conn.execute(text("SELECT * FROM tmp_settle_lines WHERE member_id = ANY(:ids)"
                                 " ORDER BY member_id, pos, account_id"), {"ids": member_ids}).mappings():
        out[row["member_id"]][1].append(dict(row))
    return out


def as_computed(statement: dict, lines: list[dict], rows) -> Computed:
    """A python_engine.Computed from read-back SQL results, for the checks."""
    out_lines = []
    for ln in lines:
        params = ln["reason_params"]
        if isinstance(params, str):
            params = json.loads(params)
        out_lines.append(Line(
            resource=ln["resource"], account_id=ln["account_id"], evaluated=ln["evaluated"],
            reason=ln["reason"], params=params or {}, baseline=ln["baseline"],
            actual=ln["actual"], band=ln["band"],
            rate_display=hundredths_text(ln["rq"], ln["diff"] < 0) if ln["rq"] is not None else None,
            reduction=ln["reduction_points"], maintenance=ln["maintenance_points"],
            standard=ln["standard_points"], qualified=ln["standard_usage_qualified"],
            earned_reduction=ln["earned_reduction"], streak_before=ln["streak_before"],
            streak_after=ln["streak_after"],
            group=(GroupStats(ln["group_level"], ln["group_n"], ln["group_total"])
                   if ln["group_level"] is not None else None),
            detail=ln["detail"], actual_milli=ln["act_e"]))
    s = statement
    return Computed(s["member_id"], s["member_type"], s["points_table"], s["schedule"],
                    s["lg_code"], Decimal(s["rate"]), out_lines, int(s["points_before_cap"]),
                    int(s["points"]), int(s["won_before_cap"]), int(s["won"]),
                    int(s["cap_points_per_half"]), int(s["cap_won_per_year"]),
                    int(s["payout_month"]), int(s["won_earlier"]), list(rows), s["result_hash"])
