"""The batch's fast paths against the engine's scalar answers, on a varied generated population.

Monthly results and the balance card ask the engine the same questions for every member; the
shortcuts they take (integer band tests, the projection's integer 'less per month', a statement
restated with one line changed, the notice reusing what the card computed) must give exactly
what the plain scalar calls give: band edges met exactly and missed by a thousandth, maintenance
streaks, the yearly won cap, missing months (in the half and in the years before), excluded
tariffs, registration after the half's start, resources not used, household streak scope.
"""
from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest

from core.monthly import resource_figures
from core.points.award import band_for, compute_statement, restate
from core.points.baseline import (
    SOURCE_FILLED,
    HalfBaseline,
    MonthBaseline,
    exact_total,
    half_actual,
    half_baseline,
    half_to_date,
    meets_rate,
    monthly_baseline,
    reference_months,
    to_decimal,
)
from core.points.evaluation import ResourceInput
from core.points.periods import Half
from core.points.projection import pace_readings, project
from core.progress import AccountFigures, AccountInfo, half_view
from core.rules import default_rules
from core.settlement.python_engine import Row

RULES = default_rules()
HOUSEHOLD = replace(RULES, maintenance_streak_scope="household")
HALF = Half.parse("2026H2")
MILLI = Decimal("0.001")
EDGES = (Decimal(5), Decimal(10), Decimal(15))


def _account(rnd: random.Random, resource: str) -> dict[int, int | None]:
    """Raw thousandths per month (None: no reading) for the half and the two years before."""
    level = int({"electricity": 300_000, "water": 15_000, "gas": 50_000}[resource] * rnd.uniform(0.5, 1.5))
    raw: dict[int, int | None] = {}
    for m in HALF.months:
        for back in (100, 200):
            # multiples of 40 thousandths: B(m) (1 - k/100) is a whole thousandth for every edge
            raw[m - back] = None if rnd.random() < 0.08 else int(level * rnd.uniform(0.9, 1.1)) // 40 * 40
    style = rnd.random()
    k = rnd.choice(EDGES)
    off = rnd.choice(HALF.months) if rnd.random() < 0.5 else None
    for m in HALF.months:
        if style < 0.4:   # on a band edge (B(m) less k %), or a thousandth off it in one month
            p, q = raw[m - 100], raw[m - 200]
            base = (p + q) // 2 if p is not None and q is not None else p if p is not None else q
            if base is None:
                raw[m] = level
                continue
            raw[m] = base * (100 - int(k)) // 100 + (rnd.choice((1, -1)) if m == off else 0)
        else:
            raw[m] = int(level * rnd.uniform(0.78, 1.08))
        if rnd.random() < 0.1:
            raw[m] = None  # a missing month of the half
    if rnd.random() < 0.03:
        raw = {m: (0 if m < HALF.first_month else v) for m, v in raw.items()}  # zero baseline
    return raw


def _decimals(raw: dict[int, int | None]) -> dict[int, Decimal]:
    return {m: Decimal(v) * MILLI for m, v in raw.items() if v is not None}


def population(seed: int, n: int):
    """(member_type, rate, won_earlier, [(AccountInfo, raw, streak)]) per generated member."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        accounts = []
        for j, resource in enumerate(("electricity", "water", "gas")):
            if j and rnd.random() < 0.4:
                continue
            tariff = rnd.choice(("agricultural", "late_night")) if resource == "electricity" \
                and rnd.random() < 0.05 else None
            registered = date(2026, 8, 1) if rnd.random() < 0.05 else date(2023, 6, 1)
            mode = "not_used" if rnd.random() < 0.03 else "separate"
            info = AccountInfo(i * 3 + j + 1, resource, mode, f"k{i}-{j}", tariff, registered)
            accounts.append((info, _account(rnd, resource), rnd.choice((0, 0, 1, 2, 3, 4, 5))))
        mtype = rnd.choice(("individual", "individual", "commercial"))
        won_earlier = rnd.choice((0, 0, 20_000, 60_000, 69_000, 130_000, 200_000, 399_000))
        out.append((mtype, Decimal(rnd.choice(("1", "1.5", "2"))), won_earlier, accounts))
    return out


# --- the engine's building blocks ------------------------------------------------------------

def _plain_half_baseline(readings, half, rules, join_month=None) -> HalfBaseline:
    """half_baseline as it was written before the batch work: monthly_baseline per month."""
    known = {}
    for month in half.months:
        value, source = monthly_baseline(readings, month, rules, join_month)
        if value is not None:
            known[month] = (value, source)
    if not known:
        return HalfBaseline(half, (), None, "NO_BASELINE")
    available = sum((v for v, _ in known.values()), Decimal(0))
    k = len(known)
    fill = Fraction(available) / k
    total = to_decimal(Fraction(available) * 6 / k)
    months = tuple(MonthBaseline(m, known[m][0], known[m][1], reference_months(m, rules, join_month))
                   if m in known else
                   MonthBaseline(m, to_decimal(fill), SOURCE_FILLED, reference_months(m, rules, join_month))
                   for m in half.months)
    return HalfBaseline(half, months, total, "ZERO_BASELINE" if total == 0 else None, fill if k < 6 else None)


def _same(a, b) -> bool:
    """Equal and written alike (a Decimal's exponent shows in the views)."""
    return a == b and repr(a) == repr(b)


def test_baseline_actual_and_bands_are_the_plain_answers():
    for _, _, _, accounts in population(1, 300):
        for _, raw, _ in accounts:
            rd = _decimals(raw)
            fast, plain = half_baseline(rd, HALF, RULES), _plain_half_baseline(rd, HALF, RULES)
            assert _same(fast, plain) and fast.fill_exact == plain.fill_exact
            for m in HALF.months:
                if fast.months:
                    n, d = fast.exact_ratio(m)
                    assert Fraction(n, d) == fast.exact_value(m)
            act = half_actual(rd, HALF)
            values = [rd.get(m) for m in HALF.months]
            assert act.missing_months == tuple(m for m, v in zip(HALF.months, values) if v is None)
            if not act.missing_months:
                assert _same(act.total, sum(values, Decimal(0)))
            if fast.total and act.total is not None:
                for schedule in [RULES.schedule_for(t, HALF) for t in ("individual", "commercial")]:
                    plain_band = None
                    for band in schedule.bands:
                        if meets_rate(fast.total, act.total, band.min_rate):
                            plain_band = band
                    assert band_for(fast.total, act.total, schedule.bands) == plain_band


# --- statements and the projection -----------------------------------------------------------

def _items(accounts, through: int | None = None):
    items = []
    for info, raw, streak in accounts:
        rd = _decimals(raw)
        if through is not None:
            rd = {m: v for m, v in rd.items() if m < HALF.first_month or m <= through}
        items.append(ResourceInput(info.resource, rd, info.billing_mode, info.registered_on, info.tariff, streak))
    return items


def _household(items):
    streak = max((i.streak_before for i in items), default=0)
    return [replace(i, streak_before=streak) for i in items]


@pytest.mark.parametrize("rules", [RULES, HOUSEHOLD], ids=["resource", "household"])
def test_restate_is_the_whole_statement_computed_again(rules):
    rnd = random.Random(7)
    for mtype, rate, won_earlier, accounts in population(2, 250):
        items = _items(accounts)
        if rules is HOUSEHOLD:
            items = _household(items)
        st = compute_statement(mtype, HALF, items, rules, rate, won_earlier)
        for idx, item in enumerate(items):
            less = Decimal(rnd.choice((1, 5, 20, 500))) * MILLI * rnd.choice((1, 10, 1000))
            changed = replace(item, readings={m: (v - less if m in HALF.months and v >= less else v)
                                              for m, v in item.readings.items()})
            trial = list(items)
            trial[idx] = changed
            assert restate(st, items, changed, rules) == compute_statement(mtype, HALF, trial, rules, rate,
                                                                            won_earlier)


def _plain_less(line, target, readings, remaining) -> int:
    allowed = Fraction(line.baseline) * (1 - Fraction(target.min_rate) / 100)
    fixed = Fraction(exact_total(v for m, v in readings.items() if m in HALF.months and m not in remaining))
    pace_left = Fraction(exact_total(readings[m] for m in remaining))
    return max(1, math.ceil((pace_left - (allowed - fixed)) / len(remaining)))


def _plain_pace(item, through):
    """The pace fill as it was written with Fractions."""
    td = half_to_date(item.readings, HALF, RULES, through_month=through)
    if td.rate is None:
        return None
    base = half_baseline(item.readings, HALF, RULES)
    share = Fraction(td.actual) / td.baseline_exact
    out = dict(item.readings)
    for m in HALF.months:
        if m not in out:
            fr = base.exact_value(m) * share
            out[m] = (Decimal(fr.numerator) / Decimal(fr.denominator)).quantize(MILLI, ROUND_HALF_EVEN)
    return out


@pytest.mark.parametrize("through", [202607, 202609, 202610, 202612])
def test_projection_is_the_engine_on_the_paced_and_advised_readings(through):
    checked = advised = 0
    for mtype, rate, won_earlier, accounts in population(3 + through, 200):
        items = _items(accounts, through)
        p = project(mtype, HALF, through, items, RULES, rate, won_earlier)
        paced = []
        for item in items:
            full = pace_readings(item, HALF, through, RULES)
            assert full == _plain_pace(item, through)
            assert (full is None) or all(_same(full[m], _plain_pace(item, through)[m]) for m in full)
            paced.append(replace(item, readings=full) if full is not None else item)
        pace = compute_statement(mtype, HALF, paced, RULES, rate, won_earlier)
        assert p.pace == pace
        for idx, r in enumerate(p.resources):
            checked += 1
            if r.less_per_month is None:
                continue
            advised += 1
            item = paced[idx]
            last = max((m for m in items[idx].readings if m in HALF.months and m <= through), default=through)
            remaining = [m for m in HALF.months if m > last]
            line = next(ln for ln in pace.lines if ln.resource == r.resource)
            target = next(b for b in RULES.schedule_for(mtype, HALF).bands if b.min_rate == r.next_band) \
                if r.next_band is not None else None
            changed = {**item.readings, **{m: item.readings[m] - r.less_per_month for m in remaining}}
            trial = list(paced)
            trial[idx] = replace(item, readings=changed)
            st = compute_statement(mtype, HALF, trial, RULES, rate, won_earlier)
            assert st.lines[[ln.resource for ln in st.lines].index(r.resource)].band == r.next_band
            assert (st.points - pace.points, st.won - pace.won) == (r.gain_points, r.gain_won)
            higher = [b for b in RULES.schedule_for(mtype, HALF).bands if line.band is None or b.min_rate > line.band]
            assert r.less_per_month == _plain_less(line, higher[0], item.readings, remaining)
            assert target is None or target.min_rate >= higher[0].min_rate
    assert checked > 200 and advised > 20


# --- the monthly notice reusing the card's figures --------------------------------------------

def _row(member_id: int, mtype: str, info: AccountInfo, raw, streak: int) -> Row:
    def months(back):
        return tuple(raw.get(m - back) for m in HALF.months)
    return Row(member_id, info.id, info.resource, info.billing_mode, info.tariff, info.registered_on, mtype,
               RULES.points_table_by_member_type[mtype], None, None, streak, months(0), months(100), months(200))


@pytest.mark.parametrize(("card", "month"), [(202610, 202610), (202611, 202610), (202612, 202609),
                                             (202607, 202607)])
def test_notice_figures_from_the_card_are_the_notice_computed_alone(card, month):
    reused = 0
    for member_id, (mtype, rate, won_earlier, accounts) in enumerate(population(card + month, 250)):
        # what arrived by the card's month (a month of the half after it is not read yet)
        accounts = [(info, {m: (v if m < HALF.first_month or m <= card else None) for m, v in raw.items()}, streak)
                    for info, raw, streak in accounts]
        readings = {info.id: _decimals(raw) for info, raw, _ in accounts}
        keys = {info.id: _row(member_id, mtype, info, raw, streak).a + _row(member_id, mtype, info, raw, streak).p
                + _row(member_id, mtype, info, raw, streak).q for info, raw, streak in accounts}
        figures: dict[int, AccountFigures] = {}
        streaks = {info.resource: streak for info, _, streak in accounts}
        half_view(mtype, [a for a, _, _ in accounts], readings, streaks, HALF, card, RULES, rate, None,
                  won_earlier, {}, figures, keys)
        for info, raw, streak in accounts:
            row = _row(member_id, mtype, info, raw, streak)
            alone = resource_figures(row, month, HALF, RULES)
            known = figures.get(info.id)
            assert resource_figures(row, month, HALF, RULES, known.baseline if known else None, known) == alone
            if known is not None:
                reused += 1
                # another streak: the provisional award is asked again
                again = row._replace(streak_before=streak + 2)
                assert resource_figures(again, month, HALF, RULES, known.baseline, known) == resource_figures(
                    again, month, HALF, RULES)
                # a different staged reading (or streak) is not the card's: computed alone
                other = row._replace(a=(None,) + row.a[1:], streak_before=streak + 1)
                assert resource_figures(other, month, HALF, RULES, None, known) == resource_figures(other, month,
                                                                                                   HALF, RULES)
    assert reused > 100


def test_the_population_has_every_case():
    """The generated members reach what the comparisons above are meant to cover."""
    seen: dict[str, int] = {}
    for mtype, rate, won_earlier, accounts in population(4, 300):
        st = compute_statement(mtype, HALF, _items(accounts), RULES, rate, won_earlier)
        cases = {"yearly cap": st.won < st.won_before_cap, "half cap": st.points < st.points_before_cap}
        for ln in st.lines:
            cases |= {"maintenance": cases.get("maintenance") or ln.maintenance_points > 0,
                      "band edge": cases.get("band edge") or ln.rate in EDGES,
                      "a thousandth short": cases.get("a thousandth short") or (
                          ln.rate is not None and ln.band is None and Decimal("4.99") < ln.rate < 5),
                      "missing month": cases.get("missing month") or ln.reason == "ACTUAL_MONTH_MISSING",
                      "excluded tariff": cases.get("excluded tariff") or ln.reason == "EXCLUDED_TARIFF",
                      "registered late": cases.get("registered late") or ln.reason == "NOT_REGISTERED_FOR_HALF",
                      "not used": cases.get("not used") or ln.reason == "RESOURCE_NOT_USED",
                      "filled baseline": cases.get("filled baseline") or bool(
                          ln.baseline_detail and ln.baseline_detail.filled_months)}
        for name, hit in cases.items():
            seen[name] = seen.get(name, 0) + bool(hit)
    assert all(seen.get(name) for name in ("yearly cap", "maintenance", "band edge", "a thousandth short",
                                           "missing month", "excluded tariff", "registered late", "not used",
                                           "filled baseline")), seen


def test_the_half_baseline_total_is_the_fraction_formula_reduced_in_integers():
    """half_baseline's B_H = to_decimal(Fraction(S) * 6 / k), computed without Fractions: the
    same Decimal, digits and exponent included, for sums at whole, half and thousandth units,
    zero, and wide values, with every number of months available."""
    from core.points.baseline import ratio_to_decimal

    rnd = random.Random(11)
    sums = [Decimal(0), Decimal("0.000"), Decimal("0.0005"), Decimal(10) ** 30 + Decimal("0.5")]
    sums += [Decimal(rnd.randrange(0, 10**9)) / Decimal(rnd.choice((1, 2, 1000, 2000))) for _ in range(3000)]
    sums += [Decimal(rnd.randrange(0, 10**6)).scaleb(-3) + Decimal(rnd.randrange(0, 10**6)).scaleb(-3) / 2
             for _ in range(1000)]
    for s in sums:
        for k in range(1, 7):
            n, d = s.as_integer_ratio()
            g = math.gcd(6 * n, d * k)
            fast = ratio_to_decimal(6 * n // g, d * k // g)
            plain = to_decimal(Fraction(s) * 6 / k)
            assert (str(fast), fast.as_tuple()) == (str(plain), plain.as_tuple())
    # and non-terminating fills are still rounded as before
    assert ratio_to_decimal(1, 3) == to_decimal(Fraction(1, 3)) == Decimal("0.3333")
