"""core.points.baseline: B(m), fallback, fill, fixed_at_join, actuals, rates, half-to-date."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest
from points_factories import readings

from core.points import reasons
from core.points.baseline import (
    format_rate,
    half_actual,
    half_baseline,
    half_to_date,
    meets_rate,
    monthly_baseline,
    reduction_rate,
    reference_months,
    truncate_rate,
)
from core.points.periods import Half
from core.rules import default_rules, load_rules

H1 = Half(2025, 1)


@pytest.fixture(scope="module")
def rules():
    return default_rules()


@pytest.fixture(scope="module")
def fixed():
    return load_rules(overrides={"settings.baseline_mode": "fixed_at_join"})


def test_monthly_baseline_two_years_one_year_none(rules):
    data = {202401: D(300), 202301: D(201)}
    assert monthly_baseline(data, 202501, rules) == (D("250.5"), "two_years")
    assert monthly_baseline({202301: D(200)}, 202501, rules) == (D(200), "one_year")
    assert monthly_baseline({202401: D(0)}, 202501, rules) == (D(0), "one_year")
    assert monthly_baseline({202201: D(9)}, 202501, rules) == (None, None)  # 3 years back


def test_fill_mean_keeps_half_total_exact(rules):
    # three known months summing to 1000: fill = 1000/3 each, B_H = 1000 * 6/3 = 2000 exactly
    data = readings("2025H1", monthly_baseline=[300, 300, 400, None, None, None], actual=1800)
    base = half_baseline(data, H1, rules)
    assert base.total == D(2000)
    assert base.filled_months == (202504, 202505, 202506)
    assert base.months[3].value == D("333.3333")  # display value, rounded half-even to 4 places
    assert base.fill_exact == Fraction(1000, 3)
    assert base.exact_value(202504) == Fraction(1000, 3)
    assert meets_rate(base.total, D(1800), 10)  # exactly 10% with the exact total


def test_fill_with_five_months_is_exact(rules):
    data = readings("2025H1", monthly_baseline=[100, 101, 102, 103, None, 105])
    base = half_baseline(data, H1, rules)
    assert base.months[4].value == D("102.2") and base.total == D("613.2")


def test_no_and_zero_baseline(rules):
    assert half_baseline({}, H1, rules).reason == reasons.NO_BASELINE
    assert half_baseline({}, H1, rules).total is None
    zero = half_baseline(readings("2025H1", 0, 100), H1, rules)
    assert zero.reason == reasons.ZERO_BASELINE and zero.total == 0 and not zero.evaluable


def test_decimal_usage_and_float_refused(rules):
    data = readings("2025H1", monthly_baseline=["10.5"] * 6)
    assert half_baseline(data, H1, rules).total == D("63.0")
    with pytest.raises(TypeError):
        half_baseline({202401: 1.5}, H1, rules)
    with pytest.raises(ValueError):
        half_actual({202501: D(-1)}, H1)


def test_fixed_at_join_reference_months(fixed):
    # joined 2023-03: window 2021-03 .. 2023-02
    assert reference_months(202501, fixed, join_month=202303) == (202301, 202201)
    assert reference_months(202503, fixed, join_month=202303) == (202203, 202103)
    assert reference_months(202512, fixed, join_month=202303) == (202212, 202112)
    with pytest.raises(ValueError):
        reference_months(202501, fixed)


def test_fixed_at_join_baseline_is_the_same_every_half(fixed):
    history = {}
    for month in range(1, 13):
        history[202100 + month] = D(100)
        history[202200 + month] = D(300)
        history[202300 + month] = D(999)  # after the join window: ignored
    history.update({202501 + i: D(150) for i in range(6)})
    history.update({202601 + i: D(150) for i in range(6)})
    for half in (Half(2025, 1), Half(2026, 1)):
        base = half_baseline(history, half, fixed, join_month=202301)
        assert base.total == D(1200)  # mean 200 per month
    # join in 2021-07: 2019-07..2021-06; only 2021 Jan-Jun exist -> one-year fallback
    base = half_baseline(history, Half(2025, 1), fixed, join_month=202107)
    assert base.total == D(600) and len(base.fallback_months) == 6


def test_rolling_ignores_join_month(rules):
    data = readings("2025H1", 1200, 1000)
    assert half_baseline(data, H1, rules, join_month=201001).total == D(1200)


def test_actual_missing_names_months():
    data = readings("2025H1", 1200, 1200, skip_actual=(202502, 202505))
    actual = half_actual(data, H1)
    assert actual.total is None and actual.missing_months == (202502, 202505)
    assert half_actual(readings("2025H1", 1200, 1200), H1).total == D(1200)


def test_rate_and_display():
    assert reduction_rate(D(1823), D(1732)) == D(9100) / D(1823)
    assert format_rate(reduction_rate(D(1823), D(1732))) == "4.99"
    assert format_rate(reduction_rate(D(1800), D(1890))) == "-5.00"
    assert truncate_rate(D("-5.009")) == D("-5.00")
    assert truncate_rate(D("10.7142857")) == D("10.71")


def test_band_test_is_exact_at_edges():
    assert meets_rate(D(2000), D(1900), 5)
    assert not meets_rate(D(2000), D("1900.0001"), 5)
    assert not meets_rate(D(1823), D(1732), 5)
    assert meets_rate(D("0.3"), D("0.27"), 10)  # binary floats would say 9.999...%
    with pytest.raises(ValueError):
        meets_rate(D(0), D(0), 5)


def test_half_to_date(rules):
    data = readings("2025H2", monthly_baseline=[310, 380, 300, None, 270, 290],
                    monthly_actual=[300, 350, None, None, None, None])
    td = half_to_date(data, Half(2025, 2), rules, through_month=202510)
    assert td.months_with_data == (202507, 202508)
    assert td.missing_months == (202509, 202510)
    assert td.baseline == D(690) and td.actual == D(650)
    assert format_rate(td.rate) == "5.79"
    assert half_to_date({}, Half(2025, 2), rules).reason == reasons.NO_BASELINE


def test_half_to_date_uses_exact_fill(rules):
    data = readings("2025H1", monthly_baseline=[300, 300, 400, None, None, None],
                    monthly_actual=[None, None, None, 300, None, None])
    td = half_to_date(data, H1, rules, through_month=202504)
    assert td.baseline_exact == Fraction(1000, 3)
    assert td.rate == reduction_rate(Fraction(1000, 3), D(300))


def test_half_to_date_before_any_data(rules):
    data = readings("2025H1", 1200, None)
    td = half_to_date(data, H1, rules, through_month=202412)
    assert td.months_with_data == () and td.rate is None and td.reason is None
