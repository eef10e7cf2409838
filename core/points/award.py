"""Points per resource and the half statement of one member (spec §7, §8.1, §8.2).

Table-driven: every amount, band, streak minimum, cap and switch comes from ``rules``
(core/rules/programme.toml); this module holds none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.points import reasons
from core.points.baseline import HUNDRED, HalfBaseline, HalfToDate, format_rate, reduction_rate
from core.points.evaluation import ResourceInput, evaluate_resource
from core.points.periods import Half
from core.points.standard_usage import qualifies_standard_usage
from core.rules import validate_rate

if TYPE_CHECKING:
    from core.rules import Band, PointsTable, Rules, Schedule


@dataclass(frozen=True)
class ResourceLine:
    """One resource on a statement. ``points`` = what this resource contributes before caps."""

    resource: str
    evaluated: bool
    reason: str | None                  # §11 code explaining missing reduction points, or None
    reason_params: Mapping[str, Any]    # e.g. {"rate": "4.99", "threshold": "5"} / {"months": ...}
    baseline: Decimal | None            # B_H
    actual: Decimal | None              # A_H
    rate: Decimal | None                # r in percent (display via rate_display)
    rate_display: str | None            # truncated to 2 decimals, e.g. "4.99"
    band: Decimal | None                # lower bound (percent) of the band reached
    reduction_points: int
    maintenance_points: int
    standard_points: int
    points: int
    standard_usage_qualified: bool      # passed the group test (may be unpaid before stacking)
    earned_reduction: bool              # the reduction incentive was awarded (drives the streak)
    streak_before: int
    streak_after: int
    baseline_detail: HalfBaseline | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Statement:
    """Expected result of one member for one half (status `expected`; the settlement records
    paid/skipped/held)."""

    member_type: str
    points_table: str
    half: Half
    schedule: str                       # schedule version name
    stacking: bool
    rate: Decimal                       # won per point
    lines: tuple[ResourceLine, ...]
    points_before_cap: int
    points: int                         # after cap_points_per_half
    won_before_cap: int                 # floor(points × rate)
    won: int                            # after cap_won_per_year
    cap_points_per_half: int
    cap_won_per_year: int
    won_paid_earlier_in_year: int
    payout_month: int                   # yyyymm (default calendar of the rules)

    @property
    def points_cut(self) -> int:
        return self.points_before_cap - self.points

    @property
    def won_cut(self) -> int:
        return self.won_before_cap - self.won

    @property
    def streak_after(self) -> Mapping[str, int]:
        """Per resource streak to store for the next half."""
        return MappingProxyType({line.resource: line.streak_after for line in self.lines})

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(line.reason for line in self.lines if line.reason)


@dataclass(frozen=True)
class Provisional:
    """Provisional (예상) band and points of a half-to-date rate (spec §10)."""

    band: Decimal | None
    reduction_points: int
    maintenance_points: int

    @property
    def points(self) -> int:
        return self.reduction_points + self.maintenance_points


# --- building blocks ------------------------------------------------------------------------

def won_for(points: int, rate: Decimal) -> int:
    """``floor(points × rate)``: won of a statement total (spec §1, §8.1)."""
    return int((Decimal(points) * rate).to_integral_value(rounding=ROUND_FLOOR))


def band_for(baseline: Any, actual: Any, bands: Sequence[Band]) -> Band | None:
    """Highest band whose exact test ``100 (B - A) >= k B`` holds; None below the lowest.
    :func:`meets_rate` per band, with B and A turned into integers once (the hot path of
    every statement and projection)."""
    if not bands:
        return None
    bn, bd = baseline.as_integer_ratio()
    an, ad = actual.as_integer_ratio()
    if bn <= 0:
        raise ValueError("band test needs a positive baseline")
    lhs, rhs = HUNDRED * (bn * ad - an * bd), bn * ad   # r >= k/kd  <=>  lhs kd >= k rhs
    reached = None
    for band in bands:
        kn, kd = _ratio(band.min_rate)
        if lhs * kd >= kn * rhs:
            reached = band
    return reached


@lru_cache(maxsize=256)
def _ratio(min_rate: Decimal) -> tuple[int, int]:
    return min_rate.as_integer_ratio()


def _reduction_or_maintenance(baseline: Any, actual: Any, resource: str, schedule: Schedule,
                              streak_before: int) -> tuple[Band | None, int, int, str | None, dict]:
    """(band, reduction, maintenance, reason, params) for an evaluated resource."""
    band = band_for(baseline, actual, schedule.bands)
    if band is not None:
        return band, band.points[resource], 0, None, {}
    bn, bd = baseline.as_integer_ratio()
    an, ad = actual.as_integer_ratio()
    if an * bd >= bn * ad:  # A >= B, r <= 0: nothing to maintain
        return None, 0, 0, reasons.NO_REDUCTION, {}
    if schedule.maintenance and streak_before >= schedule.maintenance_min_streak:
        return None, 0, schedule.maintenance[resource], None, {}
    params = {"rate": format_rate(reduction_rate(baseline, actual)),
              "threshold": str(schedule.lowest_band_rate)}
    return None, 0, 0, reasons.BELOW_THRESHOLD, params


def _pick_single(reduction: int, maintenance: int, standard: int) -> tuple[int, int, int]:
    """Before stacking: only the largest incentive; ties keep reduction (it carries the streak)."""
    best = max(reduction, maintenance, standard)
    if reduction == best:
        return reduction, 0, 0
    if maintenance == best:
        return 0, maintenance, 0
    return 0, 0, standard


def next_streak(streak_before: int, earned_reduction: bool, earned_maintenance: bool,
                rules: Rules) -> int:
    """Reduction half: +1. Maintenance half: reset, or kept with maintenance_keeps_streak.
    Any other half (nothing earned, r <= 0, not evaluated): 0."""
    if earned_reduction:
        return streak_before + 1
    if earned_maintenance and rules.maintenance_keeps_streak:
        return streak_before
    return 0


def award_resource(item: ResourceInput, half: Half, table: PointsTable, schedule: Schedule,
                   rules: Rules) -> ResourceLine:
    """Line for one resource; streak_after is per resource (see compute_statement for the
    household scope)."""
    ev = evaluate_resource(item, half, rules)
    base = ev.baseline.total if ev.baseline else None
    actual = ev.actual.total if ev.actual else None

    band, reduction, maintenance, reason, params = None, 0, 0, ev.reason, dict(ev.reason_params)
    rate = None
    if ev.evaluated:
        assert base is not None and actual is not None  # evaluated: B_H and A_H are known
        rate = reduction_rate(base, actual)
        band, reduction, maintenance, reason, params = _reduction_or_maintenance(
            base, actual, item.resource, schedule, item.streak_before)

    # An unevaluated resource may still be tested when the setting allows and A_H is complete.
    may_test = ev.evaluated or not rules.standard_usage_requires_evaluation
    qualified = bool(actual is not None and may_test and table.standard_usage_offered
                     and schedule.standard_usage
                     and item.group is not None and qualifies_standard_usage(actual, item.group))
    standard = schedule.standard_usage[item.resource] if qualified else 0

    earned_reduction = band is not None
    if not rules.stacking_applies(half):
        reduction, maintenance, standard = _pick_single(reduction, maintenance, standard)
        earned_reduction = band is not None and not standard  # standard usage won instead

    streak_after = next_streak(item.streak_before, earned_reduction, maintenance > 0, rules)
    return ResourceLine(
        resource=item.resource, evaluated=ev.evaluated, reason=reason,
        reason_params=MappingProxyType(params), baseline=base, actual=actual, rate=rate,
        rate_display=format_rate(rate) if rate is not None else None,
        band=band.min_rate if band is not None else None,
        reduction_points=reduction, maintenance_points=maintenance, standard_points=standard,
        points=reduction + maintenance + standard, standard_usage_qualified=qualified,
        earned_reduction=earned_reduction,
        streak_before=item.streak_before, streak_after=streak_after,
        baseline_detail=ev.baseline,
    )


# --- statement ------------------------------------------------------------------------------

def _household_streak(items: Sequence[ResourceInput], lines: list[ResourceLine],
                      rules: Rules) -> list[ResourceLine]:
    """maintenance_streak_scope = household: one streak for the member, +1 when any resource
    earned the reduction incentive."""
    befores = {item.streak_before for item in items}
    if len(befores) > 1:
        raise ValueError("household streak scope: every resource must carry the same streak")
    before = befores.pop() if befores else 0
    after = next_streak(before, any(line.earned_reduction for line in lines),
                        any(line.maintenance_points > 0 for line in lines), rules)
    return [replace(line, streak_after=after) for line in lines]


def compute_statement(member_type: str, half: Half | str, resources: Sequence[ResourceInput],
                      rules: Rules, rate: Decimal | int | str | None = None,
                      won_paid_earlier_in_year: int = 0,
                      payout_month: int | None = None) -> Statement:
    """Expected statement of one member for one half (spec §8.1).

    member_type: a key of rules.points_table_by_member_type ("individual", "commercial", ...).
    resources: one ResourceInput per registered resource (each resource at most once).
    rate: won per point of the member's 시군구 (rate_region); None = rules.rate.default.
    won_paid_earlier_in_year: won of the same performance year already counted toward the
        yearly cap (for an H2 statement: the H1 won); 0 for H1.
    payout_month: the 시군구's payout month (yyyymm) if it differs from the rules' default.
    Steps: lines -> Σ -> min(Σ, cap_points_per_half) -> floor(points × rate)
    -> min(won, cap_won_per_year - won_paid_earlier_in_year).
    """
    half = Half.parse(half)
    rate = validate_rate(rules.rate.default if rate is None else rate, rules)
    if won_paid_earlier_in_year < 0:
        raise ValueError("won_paid_earlier_in_year must be >= 0")
    names = [item.resource for item in resources]
    if len(set(names)) != len(names):
        raise ValueError(f"a resource appears twice: {names}")

    table = rules.table_for(member_type)
    schedule = table.schedule_for(half)
    ordered = sorted(resources, key=lambda item: rules.resources.index(item.resource)
                     if item.resource in rules.resources else len(rules.resources))
    lines = [award_resource(item, half, table, schedule, rules) for item in ordered]
    return _statement(member_type, half, rules, rate, won_paid_earlier_in_year, payout_month, table,
                      schedule, ordered, lines)


def restate(statement: Statement, resources: Sequence[ResourceInput], changed: ResourceInput,
            rules: Rules) -> Statement:
    """``compute_statement`` of the same member and half with one resource's input replaced by
    ``changed`` (``resources``: the inputs ``statement`` was computed from). A line depends on
    its own resource only, so only that line is computed again; the household streak, caps and
    won are the statement's own steps. Same result as computing the whole statement again."""
    half = statement.half
    table = rules.table_for(statement.member_type)
    schedule = table.schedule_for(half)
    ordered = sorted((changed if item.resource == changed.resource else item for item in resources),
                     key=lambda item: rules.resources.index(item.resource)
                     if item.resource in rules.resources else len(rules.resources))
    lines = [award_resource(changed, half, table, schedule, rules) if line.resource == changed.resource
             else line for line in statement.lines]
    return _statement(statement.member_type, half, rules, statement.rate, statement.won_paid_earlier_in_year,
                      statement.payout_month, table, schedule, ordered, lines)


def _statement(member_type: str, half: Half, rules: Rules, rate: Decimal, won_paid_earlier_in_year: int,
               payout_month: int | None, table: PointsTable, schedule: Schedule,
               ordered: Sequence[ResourceInput], lines: list[ResourceLine]) -> Statement:
    """The statement's steps after the lines: household streak, Σ, caps, won."""
    if rules.maintenance_streak_scope == "household":
        lines = _household_streak(ordered, lines, rules)

    before_cap = sum(line.points for line in lines)
    points = min(before_cap, schedule.cap_points_per_half)
    won_before_cap = won_for(points, rate)
    room = max(0, schedule.cap_won_per_year - won_paid_earlier_in_year)
    return Statement(
        member_type=member_type, points_table=table.name, half=half, schedule=schedule.name,
        stacking=rules.stacking_applies(half), rate=rate, lines=tuple(lines),
        points_before_cap=before_cap, points=points, won_before_cap=won_before_cap,
        won=min(won_before_cap, room), cap_points_per_half=schedule.cap_points_per_half,
        cap_won_per_year=schedule.cap_won_per_year,
        won_paid_earlier_in_year=won_paid_earlier_in_year,
        payout_month=payout_month if payout_month is not None else half.payout_month(rules),
    )


def provisional_award(member_type: str, resource: str, to_date: HalfToDate, rules: Rules,
                      streak_before: int = 0) -> Provisional:
    """Provisional band and points of a half-to-date rate (no standard usage: groups are only
    known at settlement). Zero when the rate is not computable."""
    schedule = rules.schedule_for(member_type, to_date.half)
    if to_date.rate is None:
        return Provisional(None, 0, 0)
    band, reduction, maintenance, _, _ = _reduction_or_maintenance(
        to_date.baseline_exact, to_date.actual, resource, schedule, streak_before)
    return Provisional(band.min_rate if band else None, reduction, maintenance)
