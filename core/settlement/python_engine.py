"""The settlement's Python engine: one member's lines and statement from its staging rows.

The arithmetic is integer (readings in thousandths, exact on both backends) and mirrors
core.points branch for branch: eligibility and evaluation (core.points.evaluation), bands,
incentives and streaks (core.points.award), the rate display (core.points.baseline.format_rate,
property-tested against :func:`rate_display`). The pure functions stay the specification;
core.settlement.verification checks a sample of members against them on every run.

- :class:`Row`: one member resource as staged (core.settlement.staging).
- :class:`Plan` / :func:`plans_for`: one points table's rules for a half, looked up once per run.
- :func:`line_for`: one resource's line (the rules, written out in Python).
- :func:`compute_member`: a member's lines, caps and won as a :class:`Computed` statement, with
  its fingerprint (:func:`fingerprint`; core.settlement.sql_engine builds the same text in SQL).
- :class:`Groups`: the standard-usage groups summed from the staging table.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple, cast

from core.local_government_rates import LgInfo
from core.points import reasons
from core.points.award import next_streak, won_for
from core.points.periods import Half
from core.points.standard_usage import GroupStats, pick_standard_usage_group
from core.rules import Rules, validate_rate

MILLI = 1000
ELECTRICITY = "electricity"
EPOCH = date(1970, 1, 1)


class SettlementError(RuntimeError):
    """The half cannot be settled (bad half, unsupported setting, run in progress, mismatch)."""


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
    actual: int | None
    if None in a:
        actual = None
        missing = [months[i] for i in range(6) if a[i] is None]
    else:
        full = cast("tuple[int, int, int, int, int, int]", a)  # no month is missing
        actual = full[0] + full[1] + full[2] + full[3] + full[4] + full[5]
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
        assert actual is not None  # evaluated: no month is missing
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
    qualified = bool(plan.standard and group is not None and actual is not None
                     and (evaluated or not plan.standard_needs_evaluation)
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


def canonical(value):
    """The value with every set in sorted order: the repr of a set of strings changes from one
    process to the next (string hashing is seeded per process), and a fingerprint built on it
    would call every statement changed on every other run."""
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, canonical(getattr(value, f.name))) for f in fields(value)))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((canonical(v) for v in value), key=repr)))
    if isinstance(value, dict):
        return ("dict", tuple((canonical(k), canonical(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    return value


def rules_key(rules: Rules) -> str:
    """Fingerprint of the rules, the same in every process (cached per object; the cache holds
    the object, so its id cannot be reused by another rules object while the entry exists)."""
    cached = _RULES_KEYS.get(id(rules))
    if cached is None or cached[0] is not rules:
        cached = _RULES_KEYS[id(rules)] = (
            rules, hashlib.blake2b(repr(canonical(rules)).encode(), digest_size=16).hexdigest())
    return cached[1]


def fingerprint_head(rules: Rules, member_type: str, lg_code: str | None, rate: Decimal,
                     won_earlier: int, payout_month: int) -> str:
    return f"{rules_key(rules)}|{member_type}|{lg_code or ''}|{rate}|{won_earlier}|{payout_month}"


def fingerprint_line(row: Row, qualified: bool, level: str | None) -> str:
    """The inputs of one line as text: core.settlement.sql_engine builds the same text in SQL."""
    day = (row.registered_on - EPOCH).days if row.registered_on is not None else None
    numbers = "|".join("" if v is None else str(v) for v in (
        row.account_id, row.streak_before, day, *row.a, *row.p, *row.q, 1 if qualified else 0))
    return f"{row.resource}|{row.billing_mode}|{row.tariff or ''}|{numbers}|{level or ''}"


def fingerprint(c: Computed, rules: Rules) -> str:
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


# --- standard-usage groups -------------------------------------------------------------

def group_keys_of(lg_code: str | None, sido: str | None, points_table: str,
                  resource: str) -> dict[str, tuple]:
    keys: dict[str, tuple] = {"national": ("national", points_table, resource)}
    if lg_code is not None:
        keys["sigungu"] = ("sigungu", lg_code, points_table, resource)
    if sido is not None:
        keys["sido"] = ("sido", sido, points_table, resource)
    return keys


def expand_groups(base: dict[tuple, list[int]]) -> dict[tuple, list[int]]:
    """(시군구, 시도, table, resource) sums -> the level keys of group_keys_of()."""
    out: dict[tuple, list[int]] = {}
    for (lg, sido, table, resource), (n, total) in base.items():
        keys: list[tuple] = [("national", table, resource)]
        if lg is not None:
            keys.append(("sigungu", lg, table, resource))
        if sido is not None:
            keys.append(("sido", sido, table, resource))
        for key in keys:
            acc = out.setdefault(key, [0, 0])
            acc[0] += n
            acc[1] += total
    return out


def add_sums(into: dict[tuple, list[int]], part: dict[tuple, list[int]]) -> None:
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


# --- one member ----------------------------------------------------------------------

def compute_member(rows: list[Row], half: Half, rules: Rules, tables: dict[str, Plan],
                   lgs: dict[str, LgInfo], groups: Groups,
                   won_earlier: int) -> tuple[Computed, list]:
    """One member's statement from its staging rows: the lines in the rules' resource order,
    the household streak when the rules count it per household, the caps, won at the 시군구's
    rate, and the fingerprint. Also returns the standard-usage group picked per line."""
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
    c.result_hash = fingerprint(c, rules)
    return c, picked
