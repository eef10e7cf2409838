"""Property tests of the points engine (hypothesis)."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction
from math import floor

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.points.award import ResourceInput, band_for, compute_statement, won_for
from core.points.baseline import meets_rate
from core.points.greenlife import greenlife_month_award
from core.points.periods import Half
from core.points.standard_usage import GroupStats
from core.rules import default_rules, load_rules

RULES = default_rules()
TIGHT = load_rules(overrides={
    "tables.household.schedules.stacking_2023.cap_points_per_half": 12000,
    "tables.household.schedules.stacking_2023.cap_won_per_year": 30000,
    "tables.commercial.schedules.stacking_2023.cap_points_per_half": 50000,
    "tables.commercial.schedules.stacking_2023.cap_won_per_year": 120000,
})
NO_BONUS_CAP = load_rules(overrides={"greenlife.bonus_in_cap": False,
                                     "greenlife.item_caps": {"tumbler": 6000}})
MEMBER_TYPES = sorted(RULES.points_table_by_member_type)
HALVES = [Half(2015, 1), Half(2022, 2), Half(2025, 1), Half(2025, 2)]

PROPS = settings(deadline=None, max_examples=150)  # per test: never change the global profile

usage = st.integers(0, 40000).map(lambda tenths: D(tenths) / 10)
six = st.lists(usage, min_size=6, max_size=6)
cents = st.integers(1, 200).map(lambda c: D(c) / 100)
groups = st.one_of(st.none(), st.builds(
    GroupStats, st.just("sigungu"), st.integers(1, 60), st.integers(0, 400000).map(D)))


def _readings(half: Half, baseline: list[D], actual: list[D]) -> dict[int, D]:
    data = {}
    for month, b, a in zip(half.months, baseline, actual):
        data[month - 100] = data[month - 200] = b
        data[month] = a
    return data


def _has_schedule(member_type: str, half: Half) -> bool:
    return RULES.points_table_by_member_type[member_type] == "household" or half >= Half(2019, 2)


@st.composite
def resource_case(draw):
    baseline = draw(six)
    if draw(st.booleans()):  # near the baseline, so bands and maintenance are exercised
        factors = draw(st.lists(st.integers(700, 1100), min_size=6, max_size=6))
        actual = [(b * f / 1000).quantize(D("0.1")) for b, f in zip(baseline, factors)]
    else:
        actual = draw(six)
    cuts = [draw(st.integers(0, int(a * 10))) for a in actual]
    lowered = [a - D(c) / 10 for a, c in zip(actual, cuts)]
    return baseline, actual, lowered, draw(st.integers(0, 6)), draw(groups)


@PROPS
@given(st.sampled_from(MEMBER_TYPES), st.sampled_from(HALVES),
       st.lists(resource_case(), min_size=3, max_size=3))
def test_points_never_fall_when_actual_falls(member_type, half, cases):
    """Holding B fixed and lowering A raises the reduction rate: points must not drop."""
    assume(_has_schedule(member_type, half))
    before, after = [], []
    for resource, (baseline, actual, lowered, streak, group) in zip(RULES.resources, cases):
        before.append(ResourceInput(resource, _readings(half, baseline, actual), streak_before=streak,
                                    group=group))
        after.append(ResourceInput(resource, _readings(half, baseline, lowered), streak_before=streak,
                                   group=group))
    st_before = compute_statement(member_type, half, before, RULES)
    st_after = compute_statement(member_type, half, after, RULES)
    for old, new in zip(st_before.lines, st_after.lines):
        assert new.points >= old.points
    assert st_after.points >= st_before.points and st_after.won >= st_before.won


@PROPS
@given(st.sampled_from([RULES, TIGHT]), st.sampled_from(MEMBER_TYPES), st.integers(2023, 2027),
       st.lists(resource_case(), min_size=3, max_size=3), cents, cents)
def test_statements_respect_half_and_year_caps(rules, member_type, year, cases, rate_h1, rate_h2):
    """No statement exceeds the per-half points cap; H1 + H2 never exceed the yearly won cap."""
    paid = 0
    for half, rate in ((Half(year, 1), rate_h1), (Half(year, 2), rate_h2)):
        items = [ResourceInput(res, _readings(half, b, low), streak_before=s, group=g)
                 for res, (b, _, low, s, g) in zip(rules.resources, cases)]
        stmt = compute_statement(member_type, half, items, rules, rate, won_paid_earlier_in_year=paid)
        assert 0 <= stmt.points <= stmt.cap_points_per_half
        assert stmt.points == min(stmt.points_before_cap, stmt.cap_points_per_half)
        assert 0 <= stmt.won <= stmt.won_before_cap
        paid += stmt.won
        assert paid <= stmt.cap_won_per_year


@PROPS
@given(st.integers(0, 10**6), cents, st.integers(0, 300000))
def test_won_is_floor_of_points_times_rate(points, rate, earlier):
    assert won_for(points, rate) == floor(Fraction(points) * Fraction(rate))
    half = Half(2025, 2)
    item = ResourceInput("electricity", _readings(half, [D(1000)] * 6, [D(800)] * 6))
    stmt = compute_statement("individual", half, [item], RULES, rate, won_paid_earlier_in_year=earlier)
    expected = floor(Fraction(stmt.points) * Fraction(rate))
    assert stmt.won_before_cap == expected
    assert stmt.won == min(expected, max(0, stmt.cap_won_per_year - earlier))


thousandths = st.integers(1, 10**9).map(lambda n: D(n) / 1000)
band_rates = st.one_of(st.sampled_from([D(5), D(10), D(15)]),
                       st.integers(1, 9999).map(lambda n: D(n) / 100))


@PROPS
@given(thousandths, band_rates, st.sampled_from([D(0), D("1e-9"), D("-1e-9"), D("0.001")]),
       st.booleans())
def test_band_test_matches_rationals_at_the_edges(baseline, k, delta, up):
    edge = baseline * (100 - k) / 100  # exact: at most 5 decimals
    actual = max(D(0), edge + (delta if up else -delta))
    exact = 100 * (Fraction(baseline) - Fraction(actual)) >= Fraction(k) * Fraction(baseline)
    assert meets_rate(baseline, actual, k) == exact
    assert meets_rate(baseline, edge, k)  # exactly on the edge is in the band
    bands = RULES.schedule_for("individual", Half(2025, 1)).bands
    reached = band_for(baseline, actual, bands)
    in_bands = [b.min_rate for b in bands
                if 100 * (Fraction(baseline) - Fraction(actual)) >= Fraction(b.min_rate) * Fraction(baseline)]
    assert (reached.min_rate if reached else None) == (max(in_bands) if in_bands else None)


ENABLED = [c for c, item in RULES.greenlife.items.items() if item.enabled]
ALL_ITEMS = list(RULES.greenlife.items)
month_activity = st.dictionaries(st.sampled_from(ALL_ITEMS),
                                 st.integers(0, 400).map(D) | st.integers(0, 4000).map(lambda n: D(n) / 10),
                                 max_size=6)


@PROPS
@given(st.sampled_from([RULES, NO_BONUS_CAP]), st.lists(month_activity, min_size=1, max_size=12),
       st.integers(0, 80000), st.booleans())
def test_greenlife_never_exceeds_the_yearly_cap(rules, months, start, bonus_given):
    gl = rules.greenlife
    counted, total, bonus_paid = min(start, gl.cap_won), 0, 0
    already = bonus_given
    item_totals: dict[str, int] = {}
    for i, activity in enumerate(months, start=1):
        award = greenlife_month_award(202500 + i, activity, rules, awarded_this_year=counted,
                                      bonus_already_given=already,
                                      item_awarded_this_year=item_totals)
        assert award.won >= 0 and award.counted_toward_cap >= 0
        if counted >= gl.cap_won:
            assert award.counted_toward_cap == 0
        counted += award.counted_toward_cap
        total += award.won
        bonus_paid += award.bonus_won
        already = already or award.bonus_granted
        for code, won in award.item_won.items():
            item_totals[code] = item_totals.get(code, 0) + won
        assert counted <= gl.cap_won
    assert bonus_paid <= gl.bonus_won
    limit = gl.cap_won - min(start, gl.cap_won)
    assert total <= limit + (0 if gl.bonus_in_cap else bonus_paid)
    for code, cap in gl.item_caps.items():
        assert item_totals.get(code, 0) <= cap
