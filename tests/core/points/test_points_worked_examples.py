"""Spec §13 worked examples #1-#15, one test each, with the exact points, won and payout."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from points_factories import readings

from core.points import reasons
from core.points.award import ResourceInput, compute_statement
from core.points.greenlife import greenlife_month_award
from core.points.standard_usage import GroupStats
from core.rules import default_rules


@pytest.fixture(scope="module")
def rules():
    return default_rules()


def one(rules, half, resource, b, a, rate=2, streak=0, member_type="individual", group=None):
    item = ResourceInput(resource, readings(half, b, a), streak_before=streak, group=group)
    return compute_statement(member_type, half, [item], rules, rate)


def test_example_01_exactly_5_percent(rules):
    st = one(rules, "2025H1", "electricity", 2000, 1900)
    line = st.lines[0]
    assert line.baseline == 2000 and line.actual == 1900
    assert line.rate == 5 and line.rate_display == "5.00" and line.band == 5
    assert (st.points, st.won, st.payout_month) == (5000, 10000, 202512)


def test_example_02_4_99_percent_below_threshold(rules):
    st = one(rules, "2025H1", "electricity", 1823, 1732)
    line = st.lines[0]
    assert line.rate_display == "4.99" and Decimal("4.9917") < line.rate < Decimal("4.9918")
    assert line.band is None
    assert line.reason == reasons.BELOW_THRESHOLD and line.reason_params["rate"] == "4.99"
    assert (st.points, st.won) == (0, 0)


def test_example_03_exactly_10_percent_gas(rules):
    st = one(rules, "2025H1", "gas", 600, 540)
    assert st.lines[0].band == 10
    assert (st.points, st.won, st.payout_month) == (6000, 12000, 202512)


def test_example_04_exactly_15_percent_water(rules):
    st = one(rules, "2025H1", "water", 80, 68)
    assert st.lines[0].band == 15
    assert (st.points, st.won, st.payout_month) == (2000, 4000, 202512)


def test_example_05_negative_reduction_resets_streak(rules):
    st = one(rules, "2025H1", "electricity", 1800, 1890, streak=3)
    line = st.lines[0]
    assert line.rate_display == "-5.00"
    assert line.reason == reasons.NO_REDUCTION and line.maintenance_points == 0
    assert line.streak_after == 0
    assert (st.points, st.won) == (0, 0)


def _chain(rules, halves):
    """Run consecutive electricity halves, feeding each streak_after into the next half."""
    streak, statement = 0, None
    for half, b, a in halves:
        statement = one(rules, half, "electricity", b, a, streak=streak)
        streak = statement.streak_after["electricity"]
    return statement


def test_example_06_maintenance_after_two_rewarded_halves(rules):
    st = _chain(rules, [("2024H1", 2000, 1860), ("2024H2", 2000, 1780), ("2025H1", 1900, 1843)])
    line = st.lines[0]
    assert line.streak_before == 2 and line.rate == 3
    assert line.maintenance_points == 3000 and line.reduction_points == 0
    assert line.streak_after == 0
    assert (st.points, st.won, st.payout_month) == (3000, 6000, 202512)

    only_one = _chain(rules, [("2024H2", 2000, 1780), ("2025H1", 1900, 1843)])
    assert only_one.lines[0].streak_before == 1
    assert (only_one.points, only_one.won) == (0, 0)
    assert only_one.lines[0].reason == reasons.BELOW_THRESHOLD


def test_example_07_standard_usage_stacking(rules):
    group = GroupStats("sigungu", n=30, total_actual=Decimal(2700 * 30))
    st = one(rules, "2025H1", "electricity", 1500, 1320, group=group)
    line = st.lines[0]
    assert line.rate == 12 and line.reduction_points == 10000 and line.standard_points == 5000
    assert (st.points, st.won, st.payout_month) == (15000, 30000, 202512)


def test_example_08_one_year_fallback(rules):
    data = readings("2025H1", monthly_baseline=[320, 300, 280, 260, 250, 270],
                    actual=1500, years=(1,))
    st = compute_statement("individual", "2025H1", [ResourceInput("electricity", data)], rules, 2)
    line = st.lines[0]
    assert line.baseline == 1680 and line.rate_display == "10.71" and line.band == 10
    assert line.baseline_detail.fallback_months == (202501, 202502, 202503, 202504, 202505, 202506)
    assert (st.points, st.won, st.payout_month) == (10000, 20000, 202512)

    no_2024 = readings("2025H1", actual=1500)
    st = compute_statement("individual", "2025H1", [ResourceInput("electricity", no_2024)], rules, 2)
    assert st.lines[0].reason == reasons.NO_BASELINE and st.points == 0


def test_example_09_missing_baseline_month_filled_with_mean(rules):
    data = readings("2025H2", monthly_baseline=[310, 380, 300, None, 270, 290], actual=1730)
    st = compute_statement("individual", "2025H2", [ResourceInput("electricity", data)], rules, 2)
    line = st.lines[0]
    october = line.baseline_detail.months[3]
    assert october.month == 202510 and october.source == "filled" and october.value == 310
    assert line.baseline == 1860 and line.rate_display == "6.98" and line.band == 5
    assert (st.points, st.won, st.payout_month) == (5000, 10000, 202606)


def test_example_10_missing_actual_month(rules):
    water = ResourceInput("water", readings("2025H1", 90, 84, skip_actual=(202505,)),
                          streak_before=2)
    electricity = ResourceInput("electricity", readings("2025H1", 2000, 1900))
    st = compute_statement("individual", "2025H1", [water, electricity], rules, 2)
    by = {line.resource: line for line in st.lines}
    assert by["water"].evaluated is False
    assert by["water"].reason == reasons.ACTUAL_MONTH_MISSING
    assert by["water"].reason_params["months"] == (202505,)
    assert by["water"].points == 0 and by["water"].streak_after == 0
    assert by["electricity"].points == 5000  # other resources unaffected
    assert st.points == 5000


def test_example_11_commercial_member(rules):
    items = [
        ResourceInput("electricity", readings("2025H1", 12000, 10560)),
        ResourceInput("gas", readings("2025H1", 2000, 1880)),
        ResourceInput("water", billing_mode="not_used"),
    ]
    st = compute_statement("commercial", "2025H1", items, rules, 2)
    by = {line.resource: line for line in st.lines}
    assert by["electricity"].reduction_points == 40000 and by["gas"].reduction_points == 12000
    assert by["water"].reason == reasons.RESOURCE_NOT_USED
    assert st.points_table == "commercial" and st.cap_points_per_half == 100000
    assert (st.points, st.won, st.payout_month) == (52000, 104000, 202512)


def test_example_12_region_rate_1_5(rules):
    items = [
        ResourceInput("electricity", readings("2025H2", 2000, 1840)),
        ResourceInput("water", readings("2025H2", 75, 63)),
        ResourceInput("gas", readings("2025H2", 400, 388)),
    ]
    st = compute_statement("individual", "2025H2", items, rules, Decimal("1.5"))
    by = {line.resource: line for line in st.lines}
    assert (by["electricity"].points, by["water"].points, by["gas"].points) == (5000, 2000, 0)
    assert by["gas"].reason == reasons.BELOW_THRESHOLD and by["gas"].reason_params["rate"] == "3.00"
    assert (st.points, st.won, st.payout_month) == (7000, 10500, 202606)


def test_example_13_energy_yearly_maximum(rules):
    def maximal(half):
        items = []
        for resource, b in (("electricity", 2000), ("water", 100), ("gas", 600)):
            a = b * 80 // 100  # 20% reduction
            group = GroupStats("sigungu", 30, Decimal(a * 2 * 30))  # exactly 50% qualifies
            items.append(ResourceInput(resource, readings(half, b, a), group=group))
        return items

    h1 = compute_statement("individual", "2025H1", maximal("2025H1"), rules, 2)
    assert (h1.points_before_cap, h1.points, h1.won) == (33750, 33750, 67500)
    h2 = compute_statement("individual", "2025H2", maximal("2025H2"), rules, 2,
                           won_paid_earlier_in_year=h1.won)
    assert (h2.points, h2.won_before_cap, h2.won, h2.won_cut) == (33750, 67500, 67500, 0)
    assert h1.points + h2.points == 67500 and h1.won + h2.won == 135000
    assert (h1.payout_month, h2.payout_month) == (202512, 202606)


def test_example_14_greenlife_yearly_cap(rules):
    nov = greenlife_month_award(202511, {"tumbler": 30, "e_receipt": 4}, rules,
                                awarded_this_year=66000, bonus_already_given=True)
    assert nov.accrued_won == 9400 and nov.won == 4000 and nov.cut_won == 5400
    assert (nov.confirm_date, nov.pay_from_date) == (date(2025, 12, 16), date(2025, 12, 23))
    dec = greenlife_month_award(202512, {"tumbler": 5}, rules,
                                awarded_this_year=66000 + nov.counted_toward_cap,
                                bonus_already_given=True)
    assert dec.won == 0
    assert (dec.confirm_date, dec.pay_from_date) == (date(2026, 1, 16), date(2026, 1, 23))


def test_example_15_greenlife_first_month(rules):
    award = greenlife_month_award(
        202503, {"e_receipt": 20, "tumbler": 10, "refill_station": 2, "phone_return": 1}, rules)
    assert award.accrued_won == 10000 and award.bonus_won == 5000 and award.won == 15000
    assert (award.confirm_date, award.pay_from_date) == (date(2025, 4, 16), date(2025, 4, 23))
