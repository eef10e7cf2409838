"""Next-band projection of a half in progress (monthly coaching, issue 17).

Given the readings of a member's resources so far, the projection asks the rules engine
(:func:`core.points.award.compute_statement`) two kinds of question, never a second formula:

- *at the current pace*: every month of the half still without a reading uses the same share of
  its baseline B(m) as the months so far (``A_td / B_td``, rounded to thousandths like a stored
  reading); the engine's statement for those readings gives the band, the points (after the
  half's cap) and the won (after the yearly cap) the member is heading for;
- *to reach the next band*: the same, but one resource uses ``less`` units fewer in each month
  after ``through_month``. ``less`` is the smallest whole number of units for which the band
  test can hold (inverted from ``100 (B_H - A_H) >= k B_H``); the engine then confirms the band
  and gives the points and won that scenario pays (:func:`core.points.award.restate`: the pace
  statement with that one line computed again, the same as a whole new statement). ``less`` is
  found in integers over one common denominator. Tests check both against the engine with the
  months that then actually arrive, and against whole statements on a generated population.

A resource at maintenance (유지: below the lowest band, above zero, streak long enough) says so:
the streak it carries and that using less than its baseline keeps the maintenance points.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.points.award import Statement, compute_statement, restate
from core.points.baseline import (
    HalfBaseline,
    HalfToDate,
    exact_total,
    half_baseline,
    half_to_date,
    reference_months_by_mode,
)
from core.points.evaluation import ResourceInput
from core.points.periods import Half

if TYPE_CHECKING:
    from core.rules import Rules

UNIT_PRICES_FILE = Path(__file__).resolve().parent.parent / "data" / "unit_prices.toml"
MILLI = Decimal("0.001")


@cache
def unit_prices(path: Path = UNIT_PRICES_FILE) -> Mapping[str, int]:
    """Rough won per unit on the bill per resource (core/data/unit_prices.toml)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {k: int(v) for k, v in data.items()}


@dataclass(frozen=True)
class ResourceProjection:
    resource: str
    rate_to_date: Decimal | None        # r_td in percent (None: not computable yet)
    pace_band: Decimal | None           # band at the current pace (engine), None below the lowest
    pace_points: int                    # this resource's points at the current pace (engine)
    maintenance: bool                   # at the current pace the resource earns maintenance
    streak: int                         # reduction streak carried into the half
    months_left: int                    # months after through_month
    next_band: Decimal | None = None    # the band the advice reaches (engine), None = no advice
    less_per_month: int | None = None   # units fewer per remaining month
    bill_won_per_month: int | None = None   # roughly, on the bill
    gain_points: int = 0                # statement points gained over the pace (after caps)
    gain_won: int = 0                   # statement won gained over the pace (after caps)
    top_band: bool = False              # already at the highest band

    def as_dict(self) -> dict:
        def s(v):
            return None if v is None else format(v.normalize(), "f") if isinstance(v, Decimal) else v
        return {"resource": self.resource, "rate_to_date": s(self.rate_to_date),
                "pace_band": s(self.pace_band), "pace_points": self.pace_points,
                "maintenance": self.maintenance, "streak": self.streak, "months_left": self.months_left,
                "next_band": s(self.next_band), "less_per_month": self.less_per_month,
                "bill_won_per_month": self.bill_won_per_month, "gain_points": self.gain_points,
                "gain_won": self.gain_won, "top_band": self.top_band}


@dataclass(frozen=True)
class Projection:
    half: Half
    through_month: int
    pace: Statement                     # the engine's statement at the current pace
    resources: tuple[ResourceProjection, ...]

    def as_dict(self) -> dict:
        return {"half": str(self.half), "through_month": self.through_month,
                "points": self.pace.points, "won": self.pace.won,
                "resources": [r.as_dict() for r in self.resources]}


_INPUT_FIELDS = ("resource", "readings", "billing_mode", "registered_on", "tariff", "streak_before", "group",
                 "join_month", "baseline")
assert tuple(f.name for f in fields(ResourceInput)) == _INPUT_FIELDS  # _with names every field


def _with(item: ResourceInput, readings: Mapping[int, Decimal], baseline: HalfBaseline | None) -> ResourceInput:
    """``replace(item, readings=..., baseline=...)`` without dataclasses.replace's per-call
    field walk (asked once or twice per resource and member)."""
    return ResourceInput(item.resource, readings, item.billing_mode, item.registered_on, item.tariff,
                         item.streak_before, item.group, item.join_month, baseline)


def pace_readings(item: ResourceInput, half: Half, through_month: int, rules: Rules) -> dict[int, Decimal] | None:
    """The item's readings with every month of the half still unread filled at the pace so far
    (share of B(m)), or None when no rate is computable yet."""
    paced = _pace(item, half, through_month, rules)
    return paced[0] if paced else None


def baseline_of(item: ResourceInput, half: Half, rules: Rules) -> HalfBaseline:
    """B_H of the item's readings: the one it carries, else computed."""
    if item.baseline is not None and item.baseline.half == half:
        return item.baseline
    return half_baseline(item.readings, half, rules, item.join_month)


def _refs_outside(half: Half, rules: Rules, join_month: int | None) -> bool:
    """Whether B_H reads no month of the half itself (then filling or changing the half's
    months leaves B_H as it was)."""
    return _refs_outside_of(half, rules.baseline_mode, join_month)


@lru_cache(maxsize=1024)
def _refs_outside_of(half: Half, mode: str, join_month: int | None) -> bool:
    try:
        return not any(r in half.months for m in half.months for r in reference_months_by_mode(m, mode, join_month))
    except ValueError:
        return False


def _pace(item: ResourceInput, half: Half, through_month: int, rules: Rules,
          td: HalfToDate | None = None) -> tuple[dict[int, Decimal], Decimal, HalfBaseline] | None:
    base = baseline_of(item, half, rules)
    if td is None or td.half != half or td.through_month != through_month:
        td = half_to_date(item.readings, half, rules, through_month=through_month, join_month=item.join_month,
                          baseline=base)
    if td.rate is None or td.baseline_exact is None:
        return None
    # share = A_td / B_td; each unread month B(m) * share, in integers: a correctly rounded
    # Decimal quotient does not depend on the fraction being reduced first.
    an, ad = td.actual.as_integer_ratio()
    bn, bd = td.baseline_exact.as_integer_ratio()
    out = dict(item.readings)
    for m in half.months:
        if m not in out:
            vn, vd = base.exact_ratio(m)
            out[m] = (Decimal(vn * an * bd) / Decimal(vd * ad * bn)).quantize(MILLI, ROUND_HALF_EVEN)
    return out, td.rate, base


def project(member_type: str, half: Half | str, through_month: int, items: Sequence[ResourceInput],
            rules: Rules, rate: Decimal | int | str | None = None, won_paid_earlier_in_year: int = 0,
            to_date: Mapping[str, HalfToDate] | None = None) -> Projection:
    """Projection of the half containing ``through_month`` (see module doc). ``to_date``: per
    resource, half_to_date() of the item's readings through ``through_month``, when the caller
    has it already."""
    half = Half.parse(half)
    paced: list[ResourceInput] = []
    have_rate: dict[str, Decimal] = {}
    for item in items:
        got = _pace(item, half, through_month, rules, (to_date or {}).get(item.resource))
        if got is not None:
            have_rate[item.resource] = got[1]
            # The filled months are of the half: B_H stays the same unless it reads them.
            keep = got[2] if _refs_outside(half, rules, item.join_month) else None
            paced.append(_with(item, got[0], keep))
        else:
            paced.append(item)

    def statement(for_items: Sequence[ResourceInput]) -> Statement:
        return compute_statement(member_type, half, for_items, rules, rate, won_paid_earlier_in_year)

    pace = statement(paced)
    schedule = rules.schedule_for(member_type, half)
    prices = unit_prices()
    months = half.months
    lines = {ln.resource: ln for ln in pace.lines}
    out = []
    for idx, item in enumerate(paced):
        line = lines[item.resource]
        # The months still to come: after the last month read so far (a month of the half not
        # read yet can still change, even when the clock is past it).
        read = items[idx].readings
        last_read = max((m for m in months if m <= through_month and m in read), default=through_month)
        remaining = [m for m in months if m > last_read]
        base: dict[str, Any] = dict(resource=item.resource, rate_to_date=have_rate.get(item.resource), pace_band=line.band,
                    pace_points=line.points, maintenance=line.maintenance_points > 0, streak=item.streak_before,
                    months_left=len(remaining))
        if item.resource not in have_rate or not line.evaluated or line.baseline is None:
            out.append(ResourceProjection(**base))
            continue
        higher = [b for b in schedule.bands if line.band is None or b.min_rate > line.band]
        if not higher:
            out.append(ResourceProjection(**base, top_band=True))
            continue
        if not remaining:
            out.append(ResourceProjection(**base))
            continue
        target = higher[0]
        # Largest A_H that still meets the band, minus the months that can no longer change:
        # less = ceil((pace_left - (allowed - fixed)) / n), allowed = B_H (100 - k) / 100, in
        # integers over one common denominator.
        readings = item.readings
        bn, bd = line.baseline.as_integer_ratio()
        kn, kd = target.min_rate.as_integer_ratio()
        fn, fd = exact_total(readings[m] for m in months if m not in remaining and m in readings).as_integer_ratio()
        pn, pd = exact_total(readings[m] for m in remaining).as_integer_ratio()
        an, ad = bn * (100 * kd - kn), bd * 100 * kd                 # allowed = an / ad
        den = pd * ad * fd * len(remaining)
        num = (pn * ad * fd) - (an * pd * fd) + (fn * pd * ad)       # pace_left - allowed + fixed
        less = max(1, -(-num // den))
        if any(readings[m] < less for m in remaining):
            out.append(ResourceProjection(**base))  # not reachable by using less in the months left
            continue
        changed = dict(readings)
        for m in remaining:
            changed[m] = readings[m] - less
        # The engine's statement with this resource changed (only its line is computed again).
        st = restate(pace, paced, _with(item, changed, item.baseline), rules)
        reached = next(ln for ln in st.lines if ln.resource == item.resource).band
        out.append(ResourceProjection(**base, next_band=reached, less_per_month=less,
                                      bill_won_per_month=less * prices.get(item.resource, 0),
                                      gain_points=st.points - pace.points, gain_won=st.won - pace.won))
    return Projection(half, through_month, pace, tuple(out))
