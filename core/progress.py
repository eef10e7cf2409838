"""Prepared progress: the figures of the balance card and the monthly notice, made ahead of the turn.

A member's balance turn used to compute the half so far from readings on every tap. Now the
figures (the half so far as ``core.statements.current_half_view`` shows it, the next-band
projection of :mod:`core.points.projection`, and the fair comparison with similar homes) are
prepared in bulk, one row per member in ``prepared_progress``, when monthly results run
(``core.monthly``) and after a usage import; a balance turn reads its row by primary key.

Never stale:
- a usage import deletes the rows of every member whose supply points it touched (same
  transaction as the readings), and a settlement run deletes them all (streaks change);
- a row carries the half and month it was made for and a signature of what it was made from
  (member type, 시·군·구, active accounts): a turn in another month, or after an account or address
  correction, ignores it and computes the figures live (:func:`read_prepared`).

Bulk preparation (:func:`iter_prepared`, chunk by chunk so memory stays one chunk's): the
comparison groups first, from one set-based read of every account's figure for the compared
month; then per chunk of members a few set-based reads (accounts, the readings pivoted per
account with any excluded tariff of the half's readings, spec E5, the previous half's streaks,
H1's won) and the rules engine's pure functions per account, each account's B_H computed once
and handed to the engine's further questions (the half so far, the projection, the notice).
Monthly results hand in the settlement's staging table of the same half (``staged``): its rows
are the same readings already aggregated, so the pivot only serves accounts it does not hold.
Each account's figures (:class:`AccountFigures`) are kept for the chunk's notices.

Fair comparison (:func:`comparison_groups`): households with a reading for the month, grouped by
시·군·구, resource and member type, and by floor-area band where that group still has enough
peers (else the area is left out). "Efficient neighbours" = the use at the 20th percentile (the
best 20%), and the average. A group with fewer than ``MIN_PEERS`` other households shows nothing
(k-anonymity). Computed once per run over all members, never per chat turn.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db_bulk import bulk_insert
from core.models.progress import PreparedProgress
from core.points.award import Provisional, provisional_award, won_for
from core.points.baseline import HalfBaseline, HalfToDate, format_rate, half_baseline, half_to_date
from core.points.evaluation import ResourceInput, is_registered_for_half
from core.points.periods import Half, int_to_month
from core.points.projection import project
from core.rules import Rules
from core.sqla import table_of

MIN_PEERS = 20          # fewer other households in a group: the comparison is not shown
BEST_SHARE = Decimal("0.2")
AREA_BANDS = (Decimal(60), Decimal(85), Decimal(135))   # m2: upper bounds of the size bands
MILLI = Decimal("0.001")
STAGED_COLUMNS = ", ".join(f"{p}{i}" for p in "apq" for i in range(1, 7))   # core.settlement.staging
NO_READINGS = (None,) * 18   # an account's raw key (AccountFigures) without any reading


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """What the balance card computed of one account's readings, kept for the monthly notice
    of the same half (core.monthly), which reuses it when its staged readings are the same
    (``key``: the raw thousandths in the staging's order, a1..a6, p1..p6, q1..q6)."""
    key: tuple | None
    readings: Mapping[int, Decimal]
    baseline: HalfBaseline
    to_date: HalfToDate
    streak: int
    provisional: Provisional | None     # None: not asked (not registered, no rate)


@dataclass(frozen=True)
class AccountInfo:
    id: int
    resource: str
    billing_mode: str
    supply_key_hash: str | None
    tariff: str | None
    registered_on: date | None
    company: str = ""  # the supply point's utility company (core.utility_companies)


def view_num(value) -> str | None:
    """A figure as the views show it: whole numbers without decimals, others without trailing zeros."""
    if value is None:
        return None
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def view_month(yyyymm: int | None) -> str | None:
    return int_to_month(yyyymm) if yyyymm else None


def signature(member_type: str, lg_code: str | None, accounts: Iterable[Any]) -> str:
    """What a prepared row was made from: a correction to any of it makes the row unusable."""
    parts = [member_type or "", lg_code or ""]
    for a in sorted(accounts, key=lambda a: a.id):
        parts.append(f"{a.id}:{a.resource}:{a.billing_mode}:{a.supply_key_hash or ''}:{a.tariff or ''}:"
                     f"{a.registered_on or ''}:{getattr(a, 'company', '') or ''}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def half_view(member_type: str, accounts: Sequence[AccountInfo], readings: Mapping[int, Mapping[int, Decimal]],
              prev_streak: Mapping[str, int], half: Half, through: int, rules: Rules, rate: Decimal,
              payout_month: int | None, won_paid_earlier_in_year: int = 0,
              baselines: dict[int, HalfBaseline] | None = None,
              figures: dict[int, AccountFigures] | None = None,
              keys: Mapping[int, tuple] | None = None) -> dict:
    """The provisional view of the half (core.statements.current_half_view's shape) and its
    projection. ``readings``: per account id, {yyyymm: Decimal} at thousandths; ``baselines``
    receives each account's B_H (batch callers ask the engine more about the same readings),
    ``figures`` each account's :class:`AccountFigures` (``keys``: their raw readings)."""
    order = {r: i for i, r in enumerate(rules.resources)}
    resources, points, missing_all = [], 0, set()
    items: list[ResourceInput] = []
    tds: dict[str, HalfToDate] = {}
    for acc in sorted(accounts, key=lambda a: order.get(a.resource, 99)):
        item: dict = {"resource": acc.resource}
        if acc.billing_mode == "not_used" or not acc.supply_key_hash:
            resources.append(item | {"reason": "RESOURCE_NOT_USED"})
            continue
        if acc.resource == "electricity" and acc.tariff in rules.excluded_electricity_tariffs:
            resources.append(item | {"reason": "EXCLUDED_TARIFF"})  # spec E5
            continue
        rd = readings.get(acc.id, {})
        hb = half_baseline(rd, half, rules)  # once: the view and the projection ask about it
        if baselines is not None:
            baselines[acc.id] = hb
        td = half_to_date(rd, half, rules, through_month=through, baseline=hb)
        item |= {"months_with_data": [view_month(m) for m in td.months_with_data],
                 "missing_months": [view_month(m) for m in td.missing_months],
                 "usage": view_num(td.actual), "baseline": view_num(td.baseline),
                 "rate": format_rate(td.rate) if td.rate is not None else None,
                 "provisional_band": None, "provisional_points": 0, "reason": td.reason}
        missing_all.update(item["missing_months"])
        streak = prev_streak.get(acc.resource, 0)
        prov = None
        if not is_registered_for_half(acc.registered_on, half, rules):
            item["reason"] = "NOT_REGISTERED_FOR_HALF"
        elif td.rate is not None:
            prov = provisional_award(member_type, acc.resource, td, rules, streak)
            item["provisional_band"] = view_num(prov.band)
            item["provisional_points"] = prov.points
            points += prov.points
        if figures is not None:
            key = None if keys is None else keys.get(acc.id, NO_READINGS)
            figures[acc.id] = AccountFigures(key, rd, hb, td, streak, prov)
        items.append(ResourceInput(acc.resource, rd, acc.billing_mode, acc.registered_on, acc.tariff, streak,
                                   baseline=hb))
        tds[acc.resource] = td
        resources.append(item)
    try:
        points = min(points, rules.schedule_for(member_type, half).cap_points_per_half)
    except ValueError:
        points = 0
    view: dict[str, Any] = {"half": str(half), "through_month": view_month(through), "provisional": True,
            "resources": resources, "points": points, "won": won_for(points, Decimal(rate)),
            "rate": f"{Decimal(rate):.2f}", "payout_month": view_month(payout_month),
            "missing_months": sorted(missing_all)}
    view["projection"] = projection_of(member_type, half, through, items, rules, rate, won_paid_earlier_in_year,
                                       tds)
    return view


def projection_of(member_type, half, through, items, rules, rate, won_earlier, to_date=None) -> dict | None:
    if not items:
        return None
    try:
        return project(member_type, half, through, items, rules, Decimal(rate), won_earlier, to_date).as_dict()
    except (ValueError, KeyError):  # a member type without a schedule, duplicate resources
        return None


# --- fair comparison -------------------------------------------------------------------------

def area_band(area: Decimal | None) -> int | None:
    if area is None:
        return None
    for i, upper in enumerate(AREA_BANDS):
        if Decimal(area) < upper:
            return i
    return len(AREA_BANDS)


GroupKey = tuple[str | None, str, str, int | None]


@dataclass(frozen=True)
class GroupStats:
    households: int
    efficient: Decimal      # the best 20% use at most this
    average: Decimal


def group_stats(values: Sequence[Decimal]) -> GroupStats:
    ordered = sorted(values)
    k = max(1, math.ceil(len(ordered) * BEST_SHARE))
    avg = (sum(ordered, Decimal(0)) / len(ordered)).quantize(MILLI)
    return GroupStats(len(ordered), ordered[k - 1], avg)


def comparison_groups(samples: Iterable[tuple[str | None, str, str, int | None, Decimal]]) -> dict[GroupKey, GroupStats]:
    """samples: (lg_code, resource, member_type, area_band, usage). Stats for each group with the
    area band, and for each group without it (area band None)."""
    values: dict[GroupKey, list[Decimal]] = {}
    for lg, resource, mtype, band, use in samples:
        if lg is None:
            continue
        values.setdefault((lg, resource, mtype, None), []).append(use)
        if band is not None:
            values.setdefault((lg, resource, mtype, band), []).append(use)
    return {key: group_stats(vs) for key, vs in values.items()}


def compare(groups: Mapping[GroupKey, GroupStats], lg: str | None, resource: str, mtype: str,
            band: int | None, use: Decimal, month: int) -> dict | None:
    """The household against its peers, or None when fewer than MIN_PEERS others."""
    stats, sized = None, False
    if band is not None:
        s = groups.get((lg, resource, mtype, band))
        if s is not None and s.households - 1 >= MIN_PEERS:
            stats, sized = s, True
    if stats is None:
        s = groups.get((lg, resource, mtype, None))
        if s is not None and s.households - 1 >= MIN_PEERS:
            stats = s
    if stats is None:
        return None
    verdict = "great" if use <= stats.efficient else "good" if use <= stats.average else "more"
    return {"resource": resource, "month": view_month(month), "usage": view_num(use), "efficient": view_num(stats.efficient),
            "average": view_num(stats.average), "peers": stats.households - 1, "same_size": sized,
            "verdict": verdict}


# --- bulk preparation ------------------------------------------------------------------------

def _pivot_sql(months: Sequence[int], half: Half, rules: Rules) -> str:
    cols = ",\n  ".join(f"MAX(CASE WHEN r.month = {m} THEN CAST(ROUND(r.amount * 1000) AS BIGINT) END) AS m{m}"
                        for m in months)
    # Spec E5: a month of the half billed under an excluded tariff (meter_readings.tariff)
    # excludes the resource as the account's own tariff does (as the live view and the
    # settlement's staging read it).
    excluded = ", ".join(f"'{t}'" for t in sorted(rules.excluded_electricity_tariffs) if t.isidentifier())
    tariff = (f"MIN(CASE WHEN r.month IN ({', '.join(str(m) for m in half.months)})"
              f" AND r.tariff IN ({excluded}) THEN r.tariff END)" if excluded else "NULL")
    return f"""
SELECT ra.id AS account_id, {tariff} AS reading_tariff, {cols}
FROM resource_accounts ra
JOIN meter_readings r ON r.resource = ra.resource AND r.company = ra.company
  AND r.supply_key_hash = ra.supply_key_hash
  AND r.month IN ({", ".join(str(m) for m in months)})
WHERE ra.ended_on IS NULL AND ra.member_id BETWEEN :lo AND :hi
GROUP BY ra.id"""


@dataclass
class PrepareResult:
    members: int = 0
    written: int = 0
    compared: int = 0


@dataclass
class PreparedChunk:
    """One chunk of members prepared (consecutive ids)."""
    member_ids: list[int]               # the active members of the chunk (with or without accounts)
    rows: list[dict]                    # prepared_progress rows, the view included
    views: dict[int, dict]              # member_id -> view
    baselines: dict[int, HalfBaseline]  # account id -> B_H of the half (for the monthly notice)
    compared: int = 0
    figures: dict[int, AccountFigures] = field(default_factory=dict)  # account id -> (for the notice)


def _sample_month(rd: Mapping[int, Decimal], compare_month: int | None, through: int) -> int | None:
    """The month of an account's readings that it is compared on: ``compare_month``, else its
    latest month up to ``through``."""
    for m in ([compare_month] if compare_month else sorted(rd, reverse=True)):
        if m in rd and m <= through:
            return m
    return None


def _comparison_groups(conn: Connection, members: Sequence[tuple], through: int, months: Sequence[int],
                       compare_month: int | None) -> tuple[int | None, dict[GroupKey, GroupStats]]:
    """The comparison month and its groups, from one set-based read of every account's
    figures (before any member is prepared, so each chunk can be compared and written alone)."""
    info = {m[0]: m for m in members}
    wanted = [compare_month] if compare_month else [m for m in months if m <= through]
    if not wanted:
        return compare_month, {}
    sql = f"""
SELECT ra.id, ra.member_id, ra.resource, r.month, CAST(ROUND(r.amount * 1000) AS BIGINT) AS milli
FROM resource_accounts ra
JOIN meter_readings r ON r.resource = ra.resource AND r.supply_key_hash = ra.supply_key_hash
  AND r.month IN ({", ".join(str(int(m)) for m in wanted)})
WHERE ra.ended_on IS NULL AND ra.billing_mode <> 'not_used'"""
    picked: dict[int, tuple[int, str, int, int]] = {}   # account -> (member, resource, month, milli)
    for acc, member_id, resource, month, milli in _driver_rows(conn, sql):
        if member_id not in info or milli is None:
            continue
        got = picked.get(acc)
        if got is None or month > got[2]:
            picked[acc] = (member_id, resource, month, milli)
    if compare_month is None:
        counts: dict[int, int] = {}
        for _, _, month, _ in picked.values():
            counts[month] = counts.get(month, 0) + 1
        if not counts:
            return None, {}
        compare_month = max(counts, key=lambda m: (counts[m], m))
    samples = []
    for member_id, resource, month, milli in picked.values():
        if month == compare_month:
            _, mtype, lg_code, area = info[member_id]
            samples.append((lg_code, resource, mtype, area_band(area), Decimal(milli) * MILLI))
    return compare_month, comparison_groups(samples)


Comparison = tuple[int | None, dict[GroupKey, GroupStats]]   # the month compared and its groups


def comparison_of(conn: Connection, through: int, compare_month: int | None = None) -> Comparison:
    """The comparison :func:`iter_prepared` makes for every active member (the month compared
    and its groups), for callers that prepare the members in parts (core.monthly's workers)."""
    half = Half.of_month(through)
    months = sorted({m - back for m in half.months for back in (0, 100, 200)})
    members = _driver_rows(conn, "SELECT id, member_type, local_government_code, floor_area FROM members"
                                 " WHERE status = 'active' ORDER BY id")
    return _comparison_groups(conn, members, through, months, compare_month)


def _range_rows(conn: Connection, sql: str, lo: int, hi: int) -> list[tuple]:
    """A chunk's read bounded by member ids (``sql`` with ``:lo`` and ``:hi``): see _driver_rows."""
    return _driver_rows(conn, sql, {"lo": lo, "hi": hi})


def _driver_rows(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
    """A read straight on the driver (``sql`` with ``:name`` for each of ``params``), in the
    caller's transaction: the values a text() statement gives, without SQLAlchemy's per-row
    result objects (a chunk reads thousands, the comparison every account)."""
    from core.db_bulk import driver_connection

    params = dict(params or {})
    if conn.dialect.name == "postgresql":
        for name in params:
            sql = sql.replace(f":{name}", f"%({name})s")
    cur = driver_connection(conn).cursor()
    try:
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        cur.close()


def company_open(accounts: Sequence[AccountInfo], lg_code: str | None) -> bool:
    """A separately billed number without its utility company where several serve the region
    (left by a move; core.members.companies_to_ask): nothing is prepared until it is answered."""
    return any(a.billing_mode == "separate" and a.supply_key_hash and not a.company
               and _several_serve(a.resource, lg_code) for a in accounts)


@lru_cache(maxsize=4096)   # shipped data (core/data): the same few regions for every member
def _several_serve(resource: str, lg_code: str | None) -> bool:
    from core.utility_companies import serving

    return len(serving(resource, lg_code)) > 1


def iter_prepared(conn: Connection, through: int, rules: Rules, now: datetime,
                  compare_month: int | None = None, chunk: int = 2000,
                  member_ids: Sequence[int] | None = None, staged: str | None = None,
                  extras: bool = True, groups: Comparison | None = None,
                  lo: int | None = None, hi: int | None = None) -> Iterator[PreparedChunk]:
    """Every active member (or ``member_ids``) prepared for the half containing the month
    ``through``, chunk by chunk (memory stays one chunk's); each chunk's queries run in the
    caller's transaction at the time it is asked for. The comparison groups are read first, in
    one set-based pass (:func:`_comparison_groups`). ``staged``: the settlement's staging table
    (core.settlement.staging) filled for this half on the same connection: the accounts it
    holds take their readings from it rather than from a second aggregate of the readings.
    ``extras``: each view also holds the balance card's settled half and green-life year
    (core.prepared_extras) under EXTRAS. ``groups``: the comparison (:func:`comparison_of`) when
    the caller has it already (a worker process of monthly results: the groups span every
    member); ``lo``/``hi``: only the members with ids in that range are prepared (the
    comparison still counts every member)."""
    from core.local_government_rates import local_government_table
    from core.models.points import PointStatement
    from core.prepared_extras import extras_for

    half = Half.of_month(through)
    months = sorted({m - back for m in half.months for back in (0, 100, 200)})
    lgs = local_government_table(conn, half, rules)
    ids_sql = ("SELECT id, member_type, local_government_code, floor_area, bot_user_key, app_user_id"
               " FROM members WHERE status = 'active'")
    rows = _driver_rows(conn, ids_sql + " ORDER BY id")
    members = [r[:4] for r in rows]
    who = {r[0]: (r[0], r[4], r[5]) for r in rows} if extras else {}
    if member_ids is not None:
        wanted = set(member_ids)
        members = [m for m in members if m[0] in wanted]
    if groups is None:
        compare_month, stats = _comparison_groups(conn, members, through, months, compare_month)
    else:
        compare_month, stats = groups
    if lo is not None or hi is not None:
        members = [m for m in members if (lo is None or m[0] >= lo) and (hi is None or m[0] <= hi)]
    prev_half = str(half.previous())
    h1 = f"{half.year}H1" if half.number == 2 else None
    pivot = _pivot_sql(months, half, rules)
    # the pivot's columns in the staging's order (core.settlement.staging: a, p, q), so the
    # notice can tell the card's readings of an account are its own
    order = [months.index(m - back) for back in (0, 100, 200) for m in half.months]
    staged_months = [m - back for back in (0, 100, 200) for m in half.months]
    for start in range(0, len(members), chunk):
        part = members[start:start + chunk]
        lo, hi = part[0][0], part[-1][0]
        accounts: dict[int, list[AccountInfo]] = {}
        for acc_id, member_id, resource, mode, supply, tariff, registered, company in _range_rows(
                conn, "SELECT id, member_id, resource, billing_mode, supply_key_hash, tariff, registered_on, company"
                " FROM resource_accounts WHERE ended_on IS NULL AND member_id BETWEEN :lo AND :hi", lo, hi):
            reg = registered if isinstance(registered, date) or registered is None \
                else date.fromisoformat(str(registered))
            accounts.setdefault(member_id, []).append(
                AccountInfo(acc_id, resource, mode, supply, tariff, reg, company or ""))
        readings: dict[int, dict[int, Decimal]] = {}
        reading_tariff: dict[int, str] = {}
        keys: dict[int, tuple] = {}
        wanted = {a.id for accs in accounts.values() for a in accs}
        if staged is not None:
            # The same join, months and thousandths as the pivot; its tariff is the account's own
            # unless a month of the half was billed under an excluded one (then that one).
            for account_id, tariff, *values in _range_rows(
                    conn, f"SELECT account_id, tariff, {STAGED_COLUMNS} FROM {staged}"
                    " WHERE member_id BETWEEN :lo AND :hi", lo, hi):
                if account_id not in wanted:
                    continue
                readings[account_id] = {m: Decimal(v) * MILLI for m, v in zip(staged_months, values) if v is not None}
                keys[account_id] = tuple(values)
                if tariff in rules.excluded_electricity_tariffs:
                    reading_tariff[account_id] = tariff
        if len(keys) < len(wanted):  # not staged (or no staging): the pivot
            for account_id, tariff, *values in conn.execute(text(pivot), {"lo": lo, "hi": hi}):
                if account_id in keys:
                    continue
                readings[account_id] = {m: Decimal(v) * MILLI for m, v in zip(months, values) if v is not None}
                keys[account_id] = tuple([values[i] for i in order])
                if tariff:
                    reading_tariff[account_id] = tariff
        streaks: dict[int, dict[str, int]] = {}
        for r in conn.execute(text("SELECT member_id, resource, streak_after FROM statement_lines"
                                   " WHERE half = :h AND member_id BETWEEN :lo AND :hi"),
                              {"h": prev_half, "lo": lo, "hi": hi}):
            streaks.setdefault(r.member_id, {})[r.resource] = r.streak_after
        earlier: dict[int, int] = {}
        if h1:
            for r in conn.execute(select(PointStatement.member_id, PointStatement.won).where(
                    PointStatement.half == h1, PointStatement.member_id.between(lo, hi))):
                earlier[r.member_id] = r.won or 0
        out = PreparedChunk([m[0] for m in part], [], {}, {})
        for member_id, mtype, lg_code, area in part:
            accs = accounts.get(member_id, [])
            if not accs or company_open(accs, lg_code):
                continue  # no row: the balance turn takes the path that asks the company first
            lg = lgs.get(lg_code or "")
            rate, payout_month = (lg.rate, lg.payout_month) if lg else (rules.rate.default, half.payout_month(rules))
            # the signature stays the accounts' own; the view sees a reading's excluded tariff
            seen = [replace(a, tariff=reading_tariff[a.id]) if a.resource == "electricity" and a.id in reading_tariff
                    else a for a in accs]
            view = half_view(mtype, seen, readings, streaks.get(member_id, {}), half, through, rules,
                             Decimal(rate), payout_month, earlier.get(member_id, 0), out.baselines,
                             out.figures, keys)
            view["managed"] = sorted({a.resource for a in accs if a.billing_mode == "managed_fee"})
            if lg_code is None:  # the balance turn sees whether a split 구 is to be asked (no read)
                view["lg_open"] = True
            band = area_band(area)
            compared = []
            for acc in accs:
                if acc.billing_mode == "not_used" or not acc.supply_key_hash:
                    continue
                rd = readings.get(acc.id, {})
                if compare_month is not None and _sample_month(rd, compare_month, through) == compare_month:
                    c = compare(stats, lg_code, acc.resource, mtype, band, rd[compare_month], compare_month)
                    if c is not None:
                        compared.append(c)
            view["comparison"] = compared
            out.compared += bool(compared)
            out.views[member_id] = view
            out.rows.append({"member_id": member_id, "half": str(half), "through_month": through,
                             "signature": signature(mtype, lg_code, accs), "prepared_at": now, "view": view})
        if extras and out.views:
            found = extras_for(conn, [who[m] for m in out.views], date(through // 100, through % 100, 1), rules)
            for member_id, view in out.views.items():
                view[EXTRAS] = found[member_id]
        yield out


def prepare_progress(conn: Connection, through: int, rules: Rules, now: datetime,
                     compare_month: int | None = None, chunk: int = 2000,
                     member_ids: Sequence[int] | None = None,
                     write: bool = True) -> tuple[PrepareResult, dict[int, dict]]:
    """Prepare every active member's row (or ``member_ids``') for the half containing the month
    ``through`` (yyyymm: today's month for the balance card), in the caller's transaction.
    Returns the result and {member_id: view}; ``write=False`` only returns them.
    ``compare_month``: the month compared (default: the month with data that most households
    have). Batch work over every member uses :func:`iter_prepared` (one chunk in memory)."""
    result = PrepareResult()
    views: dict[int, dict] = {}
    for part in iter_prepared(conn, through, rules, now, compare_month, chunk, member_ids):
        result.members += len(part.member_ids)
        result.compared += part.compared
        views.update(part.views)
        if write:
            write_rows(conn, part.rows, part.member_ids)
            result.written += len(part.rows)
    return result, views


def write_rows(conn: Connection, rows: list[dict], member_ids: Sequence[int], batch: int = 5000) -> None:
    """Replace the prepared rows of ``member_ids`` with ``rows`` (one transaction: the caller's)."""
    table = table_of(PreparedProgress)
    ids = list(member_ids)
    for start in range(0, len(ids), batch):
        conn.execute(table.delete().where(table.c.member_id.in_(ids[start:start + batch])))
    bulk_insert(conn, table, rows)  # COPY on PostgreSQL


def read_prepared(session: Session, member: Any, today: date) -> dict | None:
    """The member's prepared view when it is still true for today, else None (compute live).
    One primary-key read; the accounts are the member's loaded relationship."""
    row = session.get(PreparedProgress, member.id)
    if row is None:
        return None
    half = Half.of_date(today)
    accounts = [a for a in member.accounts if a.ended_on is None]
    if (row.half != str(half) or row.through_month != today.year * 100 + today.month
            or row.signature != signature(member.member_type, member.local_government_code, accounts)):
        return None
    return {k: v for k, v in row.view.items() if k != EXTRAS}


def invalidate_members(conn: Connection, member_ids_sql: str, params: Mapping[str, Any] | None = None) -> int:
    """Delete the prepared rows of the members selected by ``member_ids_sql`` (a SELECT of ids)."""
    return conn.execute(text(f"DELETE FROM prepared_progress WHERE member_id IN ({member_ids_sql})"),
                        dict(params or {})).rowcount


def invalidate_all(conn: Connection) -> int:
    return conn.execute(text("DELETE FROM prepared_progress")).rowcount


# --- the balance turn's fast path --------------------------------------------------------------

FAST_SQL = ("SELECT m.id, m.incentive_type, m.joined_at, p.half, p.through_month, p.view, m.name, m.address,"
            " m.local_government_code, m.account_number_enc IS NOT NULL, m.account_holder"
            " FROM members m JOIN prepared_progress p ON p.member_id = m.id"
            " WHERE m.bot_user_key = ? AND m.status = 'active'")
FAST_SQL_PG = FAST_SQL.replace("?", "%s")
EXTRAS = "extras"   # key of the view holding the settled half and green-life views (core.prepared_extras)


@dataclass(frozen=True)
class FastBalance:
    member_id: int
    incentive_type: str
    joined_at: datetime | None
    view: dict              # the prepared view; view[EXTRAS] when the other views were stored
    hold: str | None = None  # why a payout would be held today (core.payouts.hold_reason), if it would


def read_fast(tx: Any, postgres: bool, user_key: str | None, today: date) -> FastBalance | None:
    """The member's prepared row by botUserKey in one driver read (``tx``: a
    core.db.LazyTransaction), when it was made for today's month; else None. Rows are deleted
    whenever what they were made from changes (imports, settlement, payouts, green-life,
    account and address changes), so a row that exists is true."""
    from core.db import driver_datetime, driver_json

    if not user_key:
        return None
    row = tx.read(FAST_SQL_PG if postgres else FAST_SQL, (user_key,))
    if row is None:
        return None
    from core.payouts import hold_reason

    member_id, incentive, joined, half, through, view, name, address, lg, has_account, holder = row
    if half != str(Half.of_date(today)) or through != today.year * 100 + today.month:
        return None
    return FastBalance(member_id, incentive, driver_datetime(joined), driver_json(view),
                       hold_reason(incentive, name, address, lg, bool(has_account), holder))


def store_extras(conn: Connection, member_id: int, view: dict, extras: dict) -> None:
    """Keep the settled-half and green-life views with the prepared row (read through once);
    only while the row is the one read (a newer preparation is left alone)."""
    table = table_of(PreparedProgress)
    conn.execute(table.update().where(table.c.member_id == member_id,
                                      table.c.through_month == view_through(view))
                 .values(view={**view, EXTRAS: extras}))


def view_through(view: dict) -> int:
    month = str(view.get("through_month") or "0-0")
    return int(month.replace("-", "")) if month[:4].isdigit() else 0


def invalidate_member(conn: Connection, member_id: int) -> None:
    conn.execute(text("DELETE FROM prepared_progress WHERE member_id = :m"), {"m": member_id})
